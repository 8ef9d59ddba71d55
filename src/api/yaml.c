/* yaml.c — YAML for kubectl users: api_yaml_load_all turns a stream of
 * manifests (or a kubeconfig) into JSON values; api_yaml_dump prints a value
 * the way `kubectl get -o yaml` does.
 *
 * Loading walks libyaml's event stream with an explicit stack, so nesting is
 * a counted limit rather than C recursion, and types plain scalars by YAML
 * 1.2's core schema as Kubernetes reads manifests ("yes" and "on" stay
 * strings). Aliases are expanded by deep copy because callers edit what they
 * load in place; the copies are counted so that a billion-laughs document is
 * refused before it is built.
 *
 * Dumping drives libyaml's emitter, whose choice between plain, single- and
 * double-quoted scalars is the one kubectl's go-yaml inherited from it: we ask
 * for double quotes only when a plain scalar would read back as something
 * other than a string, here or in a YAML 1.1 reader ("yes", "1_000",
 * "2024-01-01"), and the emitter itself falls back to quotes when the text
 * cannot be plain (": x", "#x", "- a").
 */
#include "api/api.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "api/yaml_dl.h"

/* Nodes a document may reach once its aliases are expanded, and collections
 * nested in one another (aliases included). Kubernetes objects stay far
 * below both. */
#define YAML_MAX_NODES 1000000
#define YAML_MAX_DEPTH 1000

#define TAG_PREFIX "tag:yaml.org,2002:"

/* ---- plain scalars -------------------------------------------------------- */

typedef enum plain_kind {
  PLAIN_STR,
  PLAIN_NULL,
  PLAIN_BOOL,
  PLAIN_INT,
  PLAIN_REAL,
  PLAIN_NONFINITE, /* .inf, -.inf, .nan: YAML has them, JSON does not */
} plain_kind_t;

typedef struct plain_value {
  bool b;
  int64_t i;
  double d;
} plain_value_t;

static bool is_digit(char c)
{
  return c >= '0' && c <= '9';
}

static bool word_in(const char *s, size_t n, const char *const *words)
{
  for (; *words; words++)
    if (strlen(*words) == n && memcmp(s, *words, n) == 0)
      return true;
  return false;
}

static int digit_value(char c, int base)
{
  int v = -1;
  if (c >= '0' && c <= '9')
    v = c - '0';
  else if (c >= 'a' && c <= 'f')
    v = c - 'a' + 10;
  else if (c >= 'A' && c <= 'F')
    v = c - 'A' + 10;
  return v < base ? v : -1;
}

/* s[0..n) is [-+]? then digits of base (at least one) after the prefix. An
 * integer beyond int64 becomes a real, as the header promises. */
static plain_kind_t parse_int(const char *s, size_t n, size_t prefix, int base, plain_value_t *out)
{
  size_t i = 0;
  bool neg = false;
  if (i < n && (s[i] == '-' || s[i] == '+'))
    neg = s[i++] == '-';
  i += prefix;
  if (i >= n)
    return PLAIN_STR;
  uint64_t u = 0;
  double d = 0;
  bool big = false;
  for (; i < n; i++) {
    int v = digit_value(s[i], base);
    if (v < 0)
      return PLAIN_STR;
    d = d * base + v;
    if (u > (UINT64_MAX - (uint64_t)v) / (uint64_t)base)
      big = true;
    else
      u = u * (uint64_t)base + (uint64_t)v;
  }
  if (!big && (neg ? u <= (uint64_t)INT64_MAX + 1 : u <= (uint64_t)INT64_MAX)) {
    out->i = neg ? (int64_t)(0 - u) : (int64_t)u;
    return PLAIN_INT;
  }
  if (base == 10) {
    /* Correctly rounded, unlike the running sum above. */
    cleanup_free char *copy = xstrndup(s, n);
    d = strtod(copy, NULL);
    neg = false;
  }
  out->d = neg ? -d : d;
  return isfinite(out->d) ? PLAIN_REAL : PLAIN_STR;
}

/* YAML 1.2 core float: [-+]? ( . digits | digits [ . digits? ] ) ( [eE] [-+]? digits )? */
static bool float_form(const char *s, size_t n)
{
  size_t i = 0, digits = 0;
  if (i < n && (s[i] == '-' || s[i] == '+'))
    i++;
  while (i < n && is_digit(s[i]))
    i++, digits++;
  if (i < n && s[i] == '.') {
    i++;
    size_t frac = 0;
    while (i < n && is_digit(s[i]))
      i++, frac++;
    if (!digits && !frac)
      return false;
  } else if (!digits) {
    return false;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < n && (s[i] == '-' || s[i] == '+'))
      i++;
    size_t exp = 0;
    while (i < n && is_digit(s[i]))
      i++, exp++;
    if (!exp)
      return false;
  }
  return i == n;
}

/* How a plain (unquoted, untagged) scalar reads. */
static plain_kind_t plain_resolve(const char *s, size_t n, plain_value_t *out)
{
  static const char *const nulls[] = { "~", "null", "Null", "NULL", NULL };
  static const char *const trues[] = { "true", "True", "TRUE", NULL };
  static const char *const falses[] = { "false", "False", "FALSE", NULL };
  static const char *const specials[]
      = { ".inf",  ".Inf",  ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
          "-.Inf", "-.INF", ".nan", ".NaN",  ".NAN",  NULL };
  *out = (plain_value_t){ 0 };
  if (n == 0 || word_in(s, n, nulls))
    return PLAIN_NULL;
  if (word_in(s, n, trues) || word_in(s, n, falses)) {
    out->b = s[0] == 't' || s[0] == 'T';
    return PLAIN_BOOL;
  }
  if (word_in(s, n, specials))
    return PLAIN_NONFINITE;
  char c = s[0];
  if (!is_digit(c) && c != '-' && c != '+' && c != '.')
    return PLAIN_STR;
  size_t sign = (c == '-' || c == '+') ? 1 : 0;
  if (n > sign + 2 && s[sign] == '0' && (s[sign + 1] == 'x' || s[sign + 1] == 'o')) {
    plain_kind_t k = parse_int(s, n, 2, s[sign + 1] == 'x' ? 16 : 8, out);
    if (k != PLAIN_STR)
      return k;
  }
  size_t i = sign;
  while (i < n && is_digit(s[i]))
    i++;
  if (i == n && i > sign)
    return parse_int(s, n, 0, 10, out);
  if (float_form(s, n)) {
    cleanup_free char *copy = xstrndup(s, n);
    out->d = strtod(copy, NULL);
    /* Go's ParseFloat refuses 1e400; go-yaml then keeps the text. */
    return isfinite(out->d) ? PLAIN_REAL : PLAIN_STR;
  }
  return PLAIN_STR;
}

/* Strings that YAML 1.1 readers (go-yaml v2 in kubectl, PyYAML) would read
 * as something else: we read them as strings, but print them quoted, as
 * kubectl does, so that every reader agrees. */
static bool yaml11_special(const char *s, size_t n)
{
  static const char *const words[] = { "y",  "Y",  "yes", "Yes", "YES", "n",   "N",   "no", "No",
                                       "NO", "on", "On",  "ON",  "off", "Off", "OFF", "<<", NULL };
  if (word_in(s, n, words))
    return true;
  if (n == 0 || (!is_digit(s[0]) && s[0] != '-' && s[0] != '+' && s[0] != '.'))
    return false;
  /* Numbers with '_' separators, binary integers, base-60 numbers, dates. */
  cleanup_free char *t = xmalloc(n + 1);
  size_t m = 0;
  bool colon = false;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == ':')
      colon = true;
    else if (s[i] != '_')
      t[m++] = s[i];
  }
  t[m] = '\0';
  plain_value_t v;
  if (!colon && memchr(s, '_', n) && plain_resolve(t, m, &v) != PLAIN_STR)
    return true;
  size_t sign = (t[0] == '-' || t[0] == '+') ? 1 : 0;
  if (!colon && m > sign + 2 && t[sign] == '0' && t[sign + 1] == 'b'
      && strspn(t + sign + 2, "01") == m - sign - 2)
    return true;
  if (colon && is_digit(t[sign]) && strspn(t + sign, "0123456789:.") == m - sign)
    return true;
  /* 2006-1-2, optionally followed by a time */
  size_t y = strspn(s, "0123456789");
  if (y == 4 && n > 5 && s[4] == '-') {
    size_t mo = strspn(s + 5, "0123456789");
    if (mo >= 1 && mo <= 2 && 5 + mo < n && s[5 + mo] == '-') {
      size_t d = strspn(s + 6 + mo, "0123456789");
      size_t end = 6 + mo + d;
      if (d >= 1 && d <= 2 && (end == n || strchr("Tt \t", s[end])))
        return true;
    }
  }
  return false;
}

/* ---- loading ------------------------------------------------------------ */

typedef struct anchor {
  json_t *value; /* NULL while the anchored collection is still open */
  size_t nodes;  /* nodes in it, its own aliases expanded */
  size_t height; /* collections nested in it: 0 for a scalar */
} anchor_t;

/* A collection being filled. */
typedef struct frame {
  json_t *node;
  long anchor; /* index into loader.anchors, or -1 */
  char *key;   /* a mapping's key waiting for its value */
  size_t key_len;
  size_t nodes, height;
} frame_t;

typedef struct loader {
  const char *text;
  size_t len;
  yaml_parser_t parser;
  frame_t *stack;
  size_t depth, cap;
  anchor_t *anchors;
  size_t n_anchors, cap_anchors;
  json_t *anchor_index; /* name → index into anchors (the latest definition) */
  size_t nodes;         /* in the current document */
  json_t *root;
  json_t *docs;
  berr_t *err;
} loader_t;

static int fail_at(loader_t *l, const yaml_mark_t *m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_at(loader_t *l, const yaml_mark_t *m, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  cleanup_free char *msg = xvasprintf(fmt, ap);
  va_end(ap);
  return berr_setc(l->err, EINVAL, "yaml: line %zu, column %zu: %s", m->line + 1, m->column + 1,
                   msg);
}

/* Forgets the document's anchors and frees what is still open. */
static void loader_reset(loader_t *l)
{
  for (size_t i = 0; i < l->depth; i++) {
    json_decref(l->stack[i].node);
    free(l->stack[i].key);
  }
  l->depth = 0;
  for (size_t i = 0; i < l->n_anchors; i++)
    json_decref(l->anchors[i].value);
  l->n_anchors = 0;
  json_object_clear(l->anchor_index);
  json_decref(l->root);
  l->root = NULL;
  l->nodes = 0;
}

static void loader_free(loader_t *l)
{
  loader_reset(l);
  free(l->stack);
  free(l->anchors);
  json_decref(l->anchor_index);
  json_decref(l->docs);
  yaml_parser_delete(&l->parser);
}

/* Records an anchor (value NULL: the collection it names is still open). */
static long anchor_define(loader_t *l, const yaml_char_t *name, json_t *value, size_t nodes,
                          size_t height)
{
  if (l->n_anchors == l->cap_anchors) {
    l->cap_anchors = l->cap_anchors ? 2 * l->cap_anchors : 8;
    l->anchors = xrealloc(l->anchors, l->cap_anchors * sizeof *l->anchors);
  }
  l->anchors[l->n_anchors] = (anchor_t){ value ? json_incref(value) : NULL, nodes, height };
  json_object_set_new(l->anchor_index, (const char *)name, json_integer((json_int_t)l->n_anchors));
  return (long)l->n_anchors++;
}

/* The shortest text that reads back as d, as Go's strconv prints it, with
 * ".0" added when it would otherwise read as an integer. */
static char *real_text(double d)
{
  char *s = NULL;
  for (int prec = 1; prec <= 17; prec++) {
    free(s);
    s = xasprintf("%.*g", prec, d);
    if (strtod(s, NULL) == d)
      break;
  }
  if (!strpbrk(s, ".eEn")) {
    char *t = xasprintf("%s.0", s);
    free(s);
    s = t;
  }
  return s;
}

/* The text a scalar key stands for: JSON keys are strings, so an integer key
 * reads as its decimal, a boolean as true/false, null as "null". */
static char *key_text(json_t *v, size_t *len)
{
  char *s;
  if (json_is_string(v)) {
    *len = json_string_length(v);
    s = xmalloc(*len + 1);
    memcpy(s, json_string_value(v), *len + 1);
    return s;
  }
  if (json_is_integer(v))
    s = xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
  else if (json_is_real(v))
    s = real_text(json_real_value(v));
  else
    s = xstrdup(json_is_true(v) ? "true" : json_is_false(v) ? "false" : "null");
  *len = strlen(s);
  return s;
}

/* Places a finished node (reference stolen) in the open collection, or makes
 * it the document's root. A mapping takes it as a key when no key waits. */
static int add_node(loader_t *l, json_t *v, size_t nodes, size_t height, const yaml_mark_t *m)
{
  if (l->depth == 0) {
    l->root = v;
    return 0;
  }
  frame_t *f = &l->stack[l->depth - 1];
  f->nodes += nodes;
  if (f->height < height + 1)
    f->height = height + 1;
  if (json_is_array(f->node)) {
    json_array_append_new(f->node, v);
    return 0;
  }
  if (!f->key) {
    if (json_is_object(v) || json_is_array(v)) {
      const char *what = json_is_object(v) ? "mapping" : "sequence";
      json_decref(v);
      return fail_at(l, m, "a mapping key must be a scalar, not a %s", what);
    }
    f->key = key_text(v, &f->key_len);
    json_decref(v);
    if (json_object_getn(f->node, f->key, f->key_len)) {
      cleanup_free char *q = api_go_quote(f->key, f->key_len);
      return berr_setc(l->err, EINVAL, "yaml: line %zu: key %s already set in map", m->line + 1, q);
    }
    return 0;
  }
  json_object_setn_new(f->node, f->key, f->key_len, v);
  free(f->key);
  f->key = NULL;
  return 0;
}

static bool key_position(loader_t *l)
{
  return l->depth > 0 && json_is_object(l->stack[l->depth - 1].node) && !l->stack[l->depth - 1].key;
}

static int tag_error(loader_t *l, const yaml_event_t *ev, const char *tag)
{
  cleanup_free char *q = api_go_quote((const char *)ev->data.scalar.value, ev->data.scalar.length);
  return fail_at(l, &ev->start_mark, "cannot read %s as !!%s", q, tag);
}

static json_t *real_or_fail(loader_t *l, const yaml_event_t *ev, plain_kind_t k, double d)
{
  if (k == PLAIN_NONFINITE) {
    cleanup_free char *q
        = api_go_quote((const char *)ev->data.scalar.value, ev->data.scalar.length);
    fail_at(l, &ev->start_mark, "%s is not a finite number, which JSON cannot hold", q);
    return NULL;
  }
  return json_real(d);
}

/* The tag a scalar asks for, among those we honour ("str", "int"…), or NULL
 * when it has none or one we ignore (!!binary, !!timestamp, !custom). */
static const char *scalar_tag(const yaml_event_t *ev)
{
  static const char *const honoured[] = { "str", "null", "bool", "int", "float" };
  const char *tag = (const char *)ev->data.scalar.tag;
  if (!tag)
    return NULL;
  if (strcmp(tag, "!") == 0) /* the non-specific tag: not a plain scalar */
    return "str";
  if (!str_has_prefix(tag, TAG_PREFIX))
    return NULL;
  for (size_t i = 0; i < ARRAY_SIZE(honoured); i++)
    if (strcmp(tag + strlen(TAG_PREFIX), honoured[i]) == 0)
      return honoured[i];
  return NULL;
}

static json_t *string_or_fail(loader_t *l, const yaml_event_t *ev)
{
  json_t *v = json_stringn((const char *)ev->data.scalar.value, ev->data.scalar.length);
  if (!v)
    fail_at(l, &ev->start_mark, "a scalar is not valid UTF-8");
  return v;
}

/* A scalar's JSON value by its tag, then its style, then its text. */
static json_t *scalar_value(loader_t *l, const yaml_event_t *ev)
{
  const char *t = scalar_tag(ev);
  bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
  if ((t && strcmp(t, "str") == 0) || (!t && !plain))
    return string_or_fail(l, ev);
  plain_value_t v;
  plain_kind_t k = plain_resolve((const char *)ev->data.scalar.value, ev->data.scalar.length, &v);
  if (!t) {
    switch (k) {
    case PLAIN_NULL:
      return json_null();
    case PLAIN_BOOL:
      return json_boolean(v.b);
    case PLAIN_INT:
      return json_integer(v.i);
    case PLAIN_REAL:
    case PLAIN_NONFINITE:
      return real_or_fail(l, ev, k, v.d);
    case PLAIN_STR:
      break;
    }
    return string_or_fail(l, ev);
  }
  if (strcmp(t, "null") == 0) {
    if (k == PLAIN_NULL)
      return json_null();
  } else if (strcmp(t, "bool") == 0) {
    if (k == PLAIN_BOOL)
      return json_boolean(v.b);
  } else if (strcmp(t, "int") == 0) {
    if (k == PLAIN_INT)
      return json_integer(v.i);
  } else if (k == PLAIN_INT) {
    return json_real((double)v.i);
  } else if (k == PLAIN_REAL || k == PLAIN_NONFINITE) {
    return real_or_fail(l, ev, k, v.d);
  }
  tag_error(l, ev, t);
  return NULL;
}

static int on_scalar(loader_t *l, const yaml_event_t *ev)
{
  if (key_position(l) && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !ev->data.scalar.tag
      && ev->data.scalar.length == 2 && memcmp(ev->data.scalar.value, "<<", 2) == 0)
    return fail_at(l, &ev->start_mark, "merge keys (<<) are not supported");
  json_t *v;
  if (key_position(l) && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !ev->data.scalar.tag) {
    /* A key keeps its text: "1.50: x" is the key "1.50", not "1.5". */
    plain_value_t pv;
    plain_kind_t k
        = plain_resolve((const char *)ev->data.scalar.value, ev->data.scalar.length, &pv);
    if (k == PLAIN_REAL || k == PLAIN_NONFINITE)
      v = string_or_fail(l, ev);
    else
      v = scalar_value(l, ev);
  } else {
    v = scalar_value(l, ev);
  }
  if (!v)
    return -1;
  l->nodes++;
  if (ev->data.scalar.anchor)
    anchor_define(l, ev->data.scalar.anchor, v, 1, 0);
  return add_node(l, v, 1, 0, &ev->start_mark);
}

static int on_start(loader_t *l, const yaml_event_t *ev, json_t *node, const yaml_char_t *anchor)
{
  if (l->depth >= YAML_MAX_DEPTH) {
    json_decref(node);
    return fail_at(l, &ev->start_mark, "collections nested deeper than %d levels", YAML_MAX_DEPTH);
  }
  if (key_position(l)) {
    const char *what = json_is_object(node) ? "mapping" : "sequence";
    json_decref(node);
    return fail_at(l, &ev->start_mark, "a mapping key must be a scalar, not a %s", what);
  }
  if (l->depth == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 16;
    l->stack = xrealloc(l->stack, l->cap * sizeof *l->stack);
  }
  l->nodes++;
  l->stack[l->depth++] = (frame_t){
    .node = node,
    .anchor = anchor ? anchor_define(l, anchor, NULL, 0, 0) : -1,
    .nodes = 1,
    .height = 1,
  };
  return 0;
}

static int on_end(loader_t *l, const yaml_event_t *ev)
{
  frame_t f = l->stack[--l->depth];
  free(f.key); /* a mapping always pairs its keys; this is defensive */
  if (f.anchor >= 0) {
    anchor_t *a = &l->anchors[f.anchor];
    a->value = json_incref(f.node);
    a->nodes = f.nodes;
    a->height = f.height;
  }
  return add_node(l, f.node, f.nodes, f.height, &ev->start_mark);
}

static int on_alias(loader_t *l, const yaml_event_t *ev)
{
  const char *name = (const char *)ev->data.alias.anchor;
  json_t *ix = json_object_get(l->anchor_index, name);
  if (!ix)
    return fail_at(l, &ev->start_mark, "unknown anchor '%s' referenced", name);
  anchor_t *a = &l->anchors[json_integer_value(ix)];
  if (!a->value)
    return fail_at(l, &ev->start_mark, "anchor '%s' value contains itself", name);
  if (a->nodes > YAML_MAX_NODES - l->nodes)
    return fail_at(l, &ev->start_mark,
                   "aliases expand the document beyond %d nodes (is it a billion laughs?)",
                   YAML_MAX_NODES);
  if (l->depth + a->height > YAML_MAX_DEPTH)
    return fail_at(l, &ev->start_mark, "collections nested deeper than %d levels", YAML_MAX_DEPTH);
  l->nodes += a->nodes;
  json_t *copy = json_deep_copy(a->value);
  if (!copy)
    return fail_at(l, &ev->start_mark, "cannot copy anchor '%s'", name);
  return add_node(l, copy, a->nodes, a->height, &ev->start_mark);
}

/* Line and column of a byte offset, for the reader's errors (which libyaml
 * gives as offsets). Columns count characters, as libyaml's marks do. */
static yaml_mark_t mark_at(const char *text, size_t len, size_t offset)
{
  yaml_mark_t m = { offset, 0, 0 };
  for (size_t i = 0; i < offset && i < len; i++) {
    unsigned char c = (unsigned char)text[i];
    if (c == '\n') {
      m.line++;
      m.column = 0;
    } else if ((c & 0xc0) != 0x80) {
      m.column++;
    }
  }
  return m;
}

static int parser_error(loader_t *l)
{
  yaml_parser_t *p = &l->parser;
  const char *problem = p->problem ? p->problem : "cannot parse";
  switch (p->error) {
  case YAML_MEMORY_ERROR:
    return berr_setc(l->err, ENOMEM, "yaml: out of memory");
  case YAML_READER_ERROR: {
    yaml_mark_t m = mark_at(l->text, l->len, p->problem_offset);
    if (p->problem_value >= 0)
      return fail_at(l, &m, "%s (0x%02x)%s", problem, p->problem_value,
                     strstr(problem, "UTF-8") ? ": the input is not UTF-8" : "");
    return fail_at(l, &m, "%s", problem);
  }
  default:
    return fail_at(l, &p->problem_mark, "%s", problem);
  }
}

static int on_event(loader_t *l, const yaml_event_t *ev)
{
  switch (ev->type) {
  case YAML_DOCUMENT_START_EVENT:
    loader_reset(l);
    return 0;
  case YAML_DOCUMENT_END_EVENT:
    if (l->root && !json_is_null(l->root))
      json_array_append(l->docs, l->root);
    loader_reset(l);
    return 0;
  case YAML_SCALAR_EVENT:
    return on_scalar(l, ev);
  case YAML_SEQUENCE_START_EVENT:
    return on_start(l, ev, json_array(), ev->data.sequence_start.anchor);
  case YAML_MAPPING_START_EVENT:
    return on_start(l, ev, json_object(), ev->data.mapping_start.anchor);
  case YAML_SEQUENCE_END_EVENT:
  case YAML_MAPPING_END_EVENT:
    return on_end(l, ev);
  case YAML_ALIAS_EVENT:
    return on_alias(l, ev);
  default:
    return 0;
  }
}

json_t *api_yaml_load_all(const char *text, size_t len, berr_t *err)
{
  loader_t l = { .text = text, .len = len, .err = err };
  if (!yaml_parser_initialize(&l.parser)) {
    berr_setc(err, ENOMEM, "yaml: out of memory");
    return NULL;
  }
  l.anchor_index = json_object();
  l.docs = json_array();
  yaml_parser_set_input_string(&l.parser, (const unsigned char *)(text ? text : ""), len);
  /* Never guess UTF-16 from a byte order mark: manifests are UTF-8. */
  yaml_parser_set_encoding(&l.parser, YAML_UTF8_ENCODING);
  for (;;) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&l.parser, &ev)) {
      parser_error(&l);
      loader_free(&l);
      return NULL;
    }
    int rc = on_event(&l, &ev);
    bool done = ev.type == YAML_STREAM_END_EVENT;
    yaml_event_delete(&ev);
    if (rc < 0) {
      loader_free(&l);
      return NULL;
    }
    if (done)
      break;
  }
  json_t *docs = steal_ptr(l.docs);
  loader_free(&l);
  return docs;
}

/* ---- dumping ------------------------------------------------------------ */

static int write_out(void *data, unsigned char *buffer, size_t size)
{
  buf_append(data, buffer, size);
  return 1;
}

static bool emit(yaml_emitter_t *e, yaml_event_t *ev, int ok)
{
  return ok && yaml_emitter_emit(e, ev);
}

static bool emit_scalar(yaml_emitter_t *e, const char *s, size_t n, yaml_scalar_style_t style)
{
  yaml_event_t ev;
  return emit(e, &ev,
              yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)n, 1, 1, style));
}

/* A string as go-yaml's encoder asks for it: literal when it has several
 * lines, double-quoted when a plain scalar would read as another type, else
 * plain (which the emitter turns into single quotes when it must). */
static bool emit_string(yaml_emitter_t *e, const char *s, size_t n)
{
  if (n > INT_MAX)
    return false;
  plain_value_t v;
  yaml_scalar_style_t style = YAML_PLAIN_SCALAR_STYLE;
  if (memchr(s, '\n', n))
    style = YAML_LITERAL_SCALAR_STYLE;
  else if (plain_resolve(s, n, &v) != PLAIN_STR || yaml11_special(s, n))
    style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
  return emit_scalar(e, s, n, style);
}

static bool emit_value(yaml_emitter_t *e, json_t *v)
{
  yaml_event_t ev;
  switch (json_typeof(v)) {
  case JSON_OBJECT: {
    if (!emit(e, &ev,
              yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE)))
      return false;
    const char *key;
    size_t key_len;
    json_t *val;
    json_object_keylen_foreach(v, key, key_len, val)
    {
      if (!emit_string(e, key, key_len) || !emit_value(e, val))
        return false;
    }
    return emit(e, &ev, yaml_mapping_end_event_initialize(&ev));
  }
  case JSON_ARRAY: {
    if (!emit(e, &ev,
              yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE)))
      return false;
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item)
    {
      if (!emit_value(e, item))
        return false;
    }
    return emit(e, &ev, yaml_sequence_end_event_initialize(&ev));
  }
  case JSON_STRING:
    return emit_string(e, json_string_value(v), json_string_length(v));
  case JSON_INTEGER: {
    char s[32];
    int n = snprintf(s, sizeof s, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    return emit_scalar(e, s, (size_t)n, YAML_PLAIN_SCALAR_STYLE);
  }
  case JSON_REAL: {
    /* A real keeps a ".0" or an exponent, and so reads back as a real. */
    cleanup_free char *s = real_text(json_real_value(v));
    return emit_scalar(e, s, strlen(s), YAML_PLAIN_SCALAR_STYLE);
  }
  case JSON_TRUE:
    return emit_scalar(e, "true", 4, YAML_PLAIN_SCALAR_STYLE);
  case JSON_FALSE:
    return emit_scalar(e, "false", 5, YAML_PLAIN_SCALAR_STYLE);
  case JSON_NULL:
  default:
    return emit_scalar(e, "null", 4, YAML_PLAIN_SCALAR_STYLE);
  }
}

char *api_yaml_dump(json_t *v)
{
  json_t *null_value = json_null();
  yaml_emitter_t e;
  if (!yaml_emitter_initialize(&e))
    return NULL;
  buf_t out = { 0 };
  yaml_emitter_set_output(&e, write_out, &out);
  yaml_emitter_set_unicode(&e, 1);
  yaml_emitter_set_width(&e, -1); /* kubectl does not fold long lines */
  yaml_emitter_set_indent(&e, 2);
  yaml_event_t ev;
  bool ok = emit(&e, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING))
            && emit(&e, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1))
            && emit_value(&e, v ? v : null_value)
            && emit(&e, &ev, yaml_document_end_event_initialize(&ev, 1))
            && emit(&e, &ev, yaml_stream_end_event_initialize(&ev));
  ok = ok && yaml_emitter_flush(&e);
  yaml_emitter_delete(&e);
  if (!ok) {
    buf_free(&out);
    return NULL;
  }
  /* libyaml ends a document with "..." after a keep-chomped block scalar
   * ("|+"); the end of the text ends it as well, and kubectl prints none. */
  if (out.len >= 5 && strcmp(out.data + out.len - 5, "\n...\n") == 0)
    out.data[out.len -= 4] = '\0';
  return buf_steal(&out);
}
