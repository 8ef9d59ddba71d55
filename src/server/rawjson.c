/* rawjson.c — reading the stored objects without decoding them. The store
 * holds compact JSON that the server itself wrote (json_dumps, JSON_COMPACT):
 * no whitespace, strings escaped. A LIST of 10,000 pods spends most of its
 * time in a JSON parser and the allocator if it decodes every object; these
 * scanners find a member's bytes instead, so that LIST can copy them (with
 * resourceVersion spliced in) and a Table can decode only what its cells
 * read. Every scan stays inside [p, end) whatever the bytes are. */
#include "server/internal.h"

#include <string.h>

const char *srv_rj_skip(const char *p, const char *end)
{
  if (p >= end)
    return NULL;
  if (*p == '"') {
    for (p++; p < end && *p != '"'; p++)
      if (*p == '\\' && ++p >= end)
        return NULL;
    return p < end ? p + 1 : NULL;
  }
  if (*p == '{' || *p == '[') {
    int depth = 0;
    while (p < end) {
      char c = *p;
      if (c == '"') {
        p = srv_rj_skip(p, end);
        if (!p)
          return NULL;
        continue;
      }
      if (c == '{' || c == '[')
        depth++;
      else if ((c == '}' || c == ']') && --depth == 0)
        return p + 1;
      p++;
    }
    return NULL;
  }
  /* A number, true, false or null: up to the next delimiter. */
  while (p < end && *p != ',' && *p != '}' && *p != ']')
    p++;
  return p;
}

int srv_rj_members(const char *p, const char *end, srv_rj_member_fn fn, void *arg)
{
  if (p >= end || *p != '{')
    return -1;
  p++;
  while (p < end && *p != '}') {
    if (*p != '"')
      return -1;
    const char *ks = p + 1, *ke = srv_rj_skip(p, end);
    if (!ke || ke >= end || *ke != ':')
      return -1;
    const char *vs = ke + 1, *ve = srv_rj_skip(vs, end);
    if (!ve)
      return -1;
    int rc = fn(arg, ks, (size_t)(ke - 1 - ks), vs, ve);
    if (rc != 0)
      return rc;
    p = ve;
    if (p < end && *p == ',')
      p++;
  }
  return 0;
}

size_t srv_rj_array_len(const char *p, const char *end)
{
  if (p >= end || *p != '[')
    return 0;
  size_t n = 0;
  for (p++; p < end && *p != ']';) {
    const char *e = srv_rj_skip(p, end);
    if (!e)
      return n;
    n++;
    p = e < end && *e == ',' ? e + 1 : e;
  }
  return n;
}

/* ---- a member at a dotted path ------------------------------------------------ */

typedef struct rj_find {
  const char *key;
  size_t klen;
  const char *vs, *ve;
} rj_find_t;

static int find_member(void *arg, const char *key, size_t klen, const char *vs, const char *ve)
{
  rj_find_t *f = arg;
  if (klen != f->klen || memcmp(key, f->key, klen))
    return 0;
  f->vs = vs;
  f->ve = ve;
  return 1;
}

bool srv_rj_path(const char *p, const char *end, const char *path, const char **vs, const char **ve)
{
  while (*path) {
    const char *dot = strchr(path, '.');
    rj_find_t f = { .key = path, .klen = dot ? (size_t)(dot - path) : strlen(path) };
    if (srv_rj_members(p, end, find_member, &f) != 1)
      return false;
    p = f.vs;
    end = f.ve;
    path = dot ? dot + 1 : path + f.klen;
  }
  *vs = p;
  *ve = end;
  return true;
}

json_t *srv_rj_view(const char *value, size_t len, const char *const *paths, size_t n)
{
  json_t *view = json_object();
  for (size_t i = 0; i < n; i++) {
    const char *vs, *ve;
    if (!srv_rj_path(value, value + len, paths[i], &vs, &ve))
      continue;
    json_t *v = json_loadb(vs, (size_t)(ve - vs), JSON_DECODE_ANY, NULL);
    if (!v)
      continue;
    /* the objects on the way, then the value */
    json_t *cur = view;
    const char *p = paths[i];
    for (const char *dot; (dot = strchr(p, '.')); p = dot + 1) {
      json_t *next = json_object_getn(cur, p, (size_t)(dot - p));
      if (!json_is_object(next)) {
        next = json_object();
        json_object_setn_new(cur, p, (size_t)(dot - p), next);
      }
      cur = next;
    }
    json_object_set_new(cur, p, v);
  }
  return view;
}
