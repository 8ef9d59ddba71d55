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
