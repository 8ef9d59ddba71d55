/* pack.c — how the controllers' cache holds the objects it has by the
 * hundred thousand (pods) in a few hundred bytes each.
 *
 * Parsed, a JSON object costs jansson a hash table per object and an
 * allocation per member and string: a pod trimmed to what controllers read
 * is 5–8 KB of heap that way, against ~500 bytes of compact text. So a
 * packed object is its compact JSON text, minus the containers directly
 * under metadata and spec (labels, ownerReferences, annotations,
 * tolerations, affinity…): what every pod of one template repeats. Each of
 * those is a fragment (section, key, container) held once, in a table keyed
 * by a hash of its contents, with a count of the packed objects using it.
 * Unpacking parses the text and sets the fragments' containers back in (a
 * reference each, not a copy), which is why unpacked objects must not be
 * changed: as everything the cache hands out.
 *
 * Packing runs on every watch event of a pod, so it writes the text itself
 * (jansson dumps the values) rather than building a trimmed copy to dump,
 * and finds a fragment by hashing the container in place, comparing with
 * json_equal: no allocation unless the fragment is new. */
#include "ctrl/pack.h"
#include "ctrl/chains.h"

#include <stdlib.h>
#include <string.h>

/* the sections whose containers are shared */
static const char *const shared_sections[] = { "metadata", "spec" };

typedef struct frag {
  ctrl_link_t link; /* first: its chain and hash */
  size_t refs;
  const char *section; /* one of shared_sections */
  json_t *val;         /* the container (a copy of the first one seen) */
  char key[];
} frag_t;

struct ctrl_frags {
  ctrl_chains_t chains;
  buf_t text; /* scratch for ctrl_pack */
};

struct ctrl_packed {
  uint32_t len;    /* of the text */
  uint32_t nfrags; /* frags[], then the text (NUL-terminated) */
  frag_t *frags[];
};

/* ---- hashing JSON in place ------------------------------------------------------- */

/* A hash of v's contents that json_equal values share: members of an
 * object are summed, in any order. */
static uint64_t json_hash(json_t *v)
{
  switch (json_typeof(v)) {
  case JSON_OBJECT: {
    uint64_t h = 0;
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x)
    {
      h += hash_mix(hash_fnv(HASH_FNV_BASIS, k, strlen(k)) ^ json_hash(x));
    }
    return hash_mix(h ^ 1);
  }
  case JSON_ARRAY: {
    uint64_t h = HASH_FNV_BASIS;
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x)
    {
      h = hash_mix(h ^ json_hash(x));
    }
    return hash_mix(h ^ 2);
  }
  case JSON_STRING:
    return hash_fnv(HASH_FNV_BASIS, json_string_value(v), json_string_length(v));
  case JSON_INTEGER:
    return hash_mix((uint64_t)json_integer_value(v) ^ 3);
  case JSON_REAL: {
    double d = json_real_value(v);
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    return hash_mix(bits ^ 4);
  }
  default: /* true, false, null */
    return hash_mix((uint64_t)json_typeof(v) + 5);
  }
}

/* ---- the fragments --------------------------------------------------------------- */

static void frag_free(ctrl_link_t *l, void *arg)
{
  frag_t *f = (frag_t *)l;
  json_decref(f->val);
  free(f);
}

ctrl_frags_t *ctrl_frags_new(void)
{
  ctrl_frags_t *t = xcalloc(1, sizeof *t);
  ctrl_chains_init(&t->chains);
  return t;
}

void ctrl_frags_free(ctrl_frags_t *t)
{
  if (!t)
    return;
  ctrl_chains_free(&t->chains, frag_free, NULL);
  buf_free(&t->text);
  free(t);
}

size_t ctrl_frags_count(const ctrl_frags_t *t)
{
  return t->chains.n;
}

/* The fragment section.key = v, found or added; one more user. */
static frag_t *frag_ref(ctrl_frags_t *t, const char *section, const char *key, json_t *v)
{
  uint64_t h
      = hash_mix(hash_fnv(hash_fnv(HASH_FNV_BASIS, section, strlen(section) + 1), key, strlen(key)))
        ^ json_hash(v);
  for (frag_t *f = (frag_t *)ctrl_chain(&t->chains, h); f; f = (frag_t *)f->link.next)
    if (f->link.hash == h && f->section == section && !strcmp(f->key, key)
        && json_equal(f->val, v)) {
      f->refs++;
      return f;
    }
  size_t len = strlen(key);
  frag_t *f = xmalloc(sizeof *f + len + 1);
  f->link.hash = h;
  f->refs = 1;
  f->section = section;
  f->val = json_deep_copy(v); /* the caller's object is only borrowed */
  memcpy(f->key, key, len + 1);
  ctrl_chains_add(&t->chains, &f->link);
  return f;
}

static void frag_unref(ctrl_frags_t *t, frag_t *f)
{
  if (--f->refs)
    return;
  ctrl_chains_del(&t->chains, &f->link);
  frag_free(&f->link, NULL);
}

/* ---- packing ------------------------------------------------------------------- */

static const char *shared_section(const char *key)
{
  for (size_t i = 0; i < ARRAY_SIZE(shared_sections); i++)
    if (!strcmp(key, shared_sections[i]))
      return shared_sections[i];
  return NULL;
}

static int put_cb(const char *s, size_t n, void *b)
{
  buf_append(b, s, n);
  return 0;
}

/* A JSON string for key, as jansson writes it (UTF-8 as is). */
static void put_key(buf_t *b, const char *key)
{
  buf_append(b, "\"", 1);
  for (const char *p = key; *p; p++) {
    unsigned char ch = (unsigned char)*p;
    if (ch == '"' || ch == '\\') {
      char esc[2] = { '\\', (char)ch };
      buf_append(b, esc, 2);
    } else if (ch < 0x20) {
      char esc[8];
      snprintf(esc, sizeof esc, "\\u%04x", ch);
      buf_puts(b, esc);
    } else {
      buf_append(b, p, 1);
    }
  }
  buf_append(b, "\":", 2);
}

typedef struct fvec {
  frag_t **v;
  size_t n, cap;
} fvec_t;

/* The members of a shared section: scalars into the text, containers
 * into fragments. */
static void pack_section(ctrl_frags_t *t, const char *section, json_t *sec, fvec_t *fv)
{
  buf_t *b = &t->text;
  bool first = true;
  const char *k;
  json_t *v;
  buf_append(b, "{", 1);
  json_object_foreach(sec, k, v)
  {
    if (json_is_object(v) || json_is_array(v)) {
      if (fv->n == fv->cap) {
        fv->cap = fv->cap ? fv->cap * 2 : 8;
        fv->v = xrealloc(fv->v, fv->cap * sizeof *fv->v);
      }
      fv->v[fv->n++] = frag_ref(t, section, k, v);
      continue;
    }
    if (!first)
      buf_append(b, ",", 1);
    first = false;
    put_key(b, k);
    json_dump_callback(v, put_cb, b, JSON_COMPACT | JSON_ENCODE_ANY);
  }
  buf_append(b, "}", 1);
}

ctrl_packed_t *ctrl_pack(ctrl_frags_t *t, json_t *obj)
{
  buf_t *b = &t->text;
  fvec_t fv = { 0 };
  bool first = true;
  const char *k;
  json_t *v;
  b->len = 0;
  buf_append(b, "{", 1);
  json_object_foreach(obj, k, v)
  {
    if (!first)
      buf_append(b, ",", 1);
    first = false;
    put_key(b, k);
    const char *section = json_is_object(v) ? shared_section(k) : NULL;
    if (section)
      pack_section(t, section, v, &fv);
    else
      json_dump_callback(v, put_cb, b, JSON_COMPACT | JSON_ENCODE_ANY);
  }
  buf_append(b, "}", 1);
  ctrl_packed_t *p = xmalloc(sizeof *p + fv.n * sizeof *fv.v + b->len + 1);
  p->len = (uint32_t)b->len;
  p->nfrags = (uint32_t)fv.n;
  if (fv.n)
    memcpy(p->frags, fv.v, fv.n * sizeof *fv.v);
  memcpy((char *)(p->frags + fv.n), b->data, b->len + 1);
  free(fv.v);
  if (b->cap > 64 * 1024) { /* one huge object: do not keep its scratch */
    buf_free(b);
    *b = (buf_t){ 0 };
  }
  return p;
}

json_t *ctrl_unpack(const ctrl_packed_t *p)
{
  const char *text = (const char *)(p->frags + p->nfrags);
  json_t *o = json_loadb(text, p->len, JSON_ALLOW_NUL, NULL);
  if (!o) /* cannot happen: the text is written from valid JSON */
    o = json_object();
  for (uint32_t i = 0; i < p->nfrags; i++) {
    const frag_t *f = p->frags[i];
    json_t *sec = json_object_get(o, f->section);
    if (!json_is_object(sec)) {
      sec = json_object();
      json_object_set_new(o, f->section, sec);
    }
    json_object_set(sec, f->key, f->val);
  }
  return o;
}

json_t *ctrl_packed_labels(const ctrl_packed_t *p)
{
  for (uint32_t i = 0; i < p->nfrags; i++)
    if (!strcmp(p->frags[i]->section, "metadata") && !strcmp(p->frags[i]->key, "labels"))
      return p->frags[i]->val;
  return NULL;
}

void ctrl_packed_free(ctrl_frags_t *t, ctrl_packed_t *p)
{
  if (!p)
    return;
  for (uint32_t i = 0; i < p->nfrags; i++)
    frag_unref(t, p->frags[i]);
  free(p);
}
