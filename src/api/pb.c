/* pb.c — decoding the protobuf bodies kubectl 1.32+ sends on create.
 *
 * `kubectl create namespace|configmap|secret|…` POSTs
 * Content-Type: application/vnd.kubernetes.protobuf and never retries with
 * JSON, so the server must read them. The body is the 4-byte magic "k8s\0"
 * and a runtime.Unknown {1 typeMeta {1 apiVersion, 2 kind}, 2 raw,
 * 3 contentEncoding, 4 contentType}; raw is the object's own message. berth
 * stores JSON, so the object is decoded straight into its JSON form, driven by
 * the schema tables in pb_schema.c (field number → JSON name and type) rather
 * than generated code: one small decoder, and a kind is a table.
 *
 * This parses hostile network input. The wire reader checks every length
 * against the bytes that remain before using it, varints are at most ten
 * bytes, recursion is bounded by the schema and a depth limit, unknown fields
 * of wire types 0, 1, 2 and 5 are skipped, and anything else is an error.
 * Go's JSON encoding is mirrored: zero scalars are omitted unless the Go field
 * is a pointer or lacks omitempty (PB_KEEP), bytes become base64, a zero Time
 * is omitted.
 */
#include "api/internal.h"
#include "api/pb.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PB_MAX_DEPTH 32

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_SGROUP = 3, WT_EGROUP = 4, WT_I32 = 5 };

typedef struct rd {
  const uint8_t *p, *end;
} rd_t;

static int rd_varint(rd_t *r, uint64_t *out)
{
  uint64_t v = 0;
  for (int i = 0; i < 10; i++) {
    if (r->p >= r->end)
      return -1;
    uint8_t b = *r->p++;
    if (i == 9 && b > 1)
      return -1; /* more than 64 bits */
    v |= (uint64_t)(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) {
      *out = v;
      return 0;
    }
  }
  return -1;
}

static int rd_len(rd_t *r, const uint8_t **data, size_t *len)
{
  uint64_t n;
  if (rd_varint(r, &n) < 0 || n > (uint64_t)(r->end - r->p))
    return -1;
  *data = r->p;
  *len = (size_t)n;
  r->p += n;
  return 0;
}

static int rd_skip(rd_t *r, int wt)
{
  uint64_t v;
  const uint8_t *d;
  size_t n;
  switch (wt) {
  case WT_VARINT:
    return rd_varint(r, &v);
  case WT_I64:
    if (r->end - r->p < 8)
      return -1;
    r->p += 8;
    return 0;
  case WT_I32:
    if (r->end - r->p < 4)
      return -1;
    r->p += 4;
    return 0;
  case WT_LEN:
    return rd_len(r, &d, &n);
  default:
    return -1; /* groups (3, 4) and 6, 7 never appear in Kubernetes messages */
  }
}

/* Reads a tag; field number 0 is invalid. */
static int rd_tag(rd_t *r, uint32_t *num, int *wt)
{
  uint64_t t;
  if (rd_varint(r, &t) < 0 || (t >> 3) == 0 || (t >> 3) > UINT32_MAX)
    return -1;
  *num = (uint32_t)(t >> 3);
  *wt = (int)(t & 7);
  return 0;
}

char *api_base64_encode(const unsigned char *d, size_t n)
{
  static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char *out = xmalloc((n + 2) / 3 * 4 + 1), *o = out;
  size_t i = 0;
  for (; i + 2 < n; i += 3) {
    uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
    *o++ = tbl[v >> 18], *o++ = tbl[(v >> 12) & 63], *o++ = tbl[(v >> 6) & 63], *o++ = tbl[v & 63];
  }
  if (i < n) {
    uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0);
    *o++ = tbl[v >> 18], *o++ = tbl[(v >> 12) & 63];
    *o++ = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
    *o++ = '=';
  }
  *o = '\0';
  return out;
}

ssize_t api_base64_decoded_len(const char *s, size_t *bad)
{
  size_t n = strlen(s), pad = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                 || c == '+' || c == '/';
    /* '=' only as the last one or two bytes of a complete quantum. */
    if (c == '=' && n % 4 == 0 && i >= n - 2 && (i == n - 1 || s[n - 1] == '=')) {
      pad++;
      continue;
    }
    if (!alpha || pad) {
      *bad = i;
      return -1;
    }
  }
  if (n % 4) {
    *bad = n - n % 4;
    return -1;
  }
  return (ssize_t)(n / 4 * 3 - pad);
}

typedef struct dec {
  berr_t *err;
  int depth;
} dec_t;

static int bad(dec_t *c, const pb_message_t *m, const pb_field_t *f, uint32_t num, const char *why)
{
  if (f)
    return berr_setc(c->err, EINVAL, "protobuf: %s.%s (field %" PRIu32 "): %s", m->name, f->json,
                     num, why);
  return berr_setc(c->err, EINVAL, "protobuf: %s field %" PRIu32 ": %s", m->name, num, why);
}

static const pb_field_t *find_field(const pb_message_t *m, uint32_t num)
{
  for (size_t i = 0; i < m->nfields; i++)
    if (m->fields[i].num == num)
      return &m->fields[i];
  return NULL;
}

static int decode_message(dec_t *c, const pb_message_t *m, const uint8_t *buf, size_t len,
                          json_t *obj);

static json_t *string_value(const uint8_t *d, size_t n)
{
  if (!api_utf8_valid((const char *)d, n))
    return NULL;
  return json_stringn((const char *)d, n);
}

/* metav1.Time: whole seconds in RFC 3339, UTC. NULL for the zero time. */
static int decode_time(const uint8_t *d, size_t n, json_t **out)
{
  rd_t r = { d, d + n };
  int64_t secs = 0;
  *out = NULL;
  while (r.p < r.end) {
    uint32_t num;
    int wt;
    uint64_t v;
    if (rd_tag(&r, &num, &wt) < 0)
      return -1;
    if (num == 1 && wt == WT_VARINT) {
      if (rd_varint(&r, &v) < 0)
        return -1;
      secs = (int64_t)v;
    } else if (rd_skip(&r, wt) < 0) {
      return -1; /* nanos (2) are not part of metav1.Time's JSON */
    }
  }
  if (secs == 0)
    return 0;
  /* 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z */
  if (secs < -62135596800LL || secs > 253402300799LL)
    return -1;
  time_t t = (time_t)secs;
  struct tm tm;
  char s[32];
  if (!gmtime_r(&t, &tm) || strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    return -1;
  *out = json_string(s);
  return 0;
}

static int decode_intorstring(const uint8_t *d, size_t n, json_t **out)
{
  rd_t r = { d, d + n };
  int64_t type = 0;
  int32_t iv = 0;
  json_t *sv = NULL;
  while (r.p < r.end) {
    uint32_t num;
    int wt;
    uint64_t v;
    const uint8_t *b;
    size_t bl;
    if (rd_tag(&r, &num, &wt) < 0)
      goto fail;
    if ((num == 1 || num == 2) && wt == WT_VARINT) {
      if (rd_varint(&r, &v) < 0)
        goto fail;
      if (num == 1)
        type = (int64_t)v;
      else
        iv = (int32_t)(uint32_t)v;
    } else if (num == 3 && wt == WT_LEN) {
      if (rd_len(&r, &b, &bl) < 0)
        goto fail;
      json_decref(sv);
      if (!(sv = string_value(b, bl)))
        goto fail;
    } else if (rd_skip(&r, wt) < 0) {
      goto fail;
    }
  }
  if (type == 1) {
    *out = sv ? sv : json_string("");
    return 0;
  }
  json_decref(sv);
  *out = json_integer(iv);
  return 0;
fail:
  json_decref(sv);
  return -1;
}

/* Decodes one length-delimited value of type t. *out NULL: omit it. */
static int decode_len_value(dec_t *c, const pb_message_t *m, const pb_field_t *f, uint32_t num,
                            int t, const uint8_t *d, size_t n, json_t **out)
{
  *out = NULL;
  switch (t) {
  case PB_STRING:
    if (!(*out = string_value(d, n)))
      return bad(c, m, f, num, "string is not valid UTF-8");
    return 0;
  case PB_BYTES: {
    char *b64 = api_base64_encode(d, n);
    *out = json_string(b64);
    free(b64);
    return 0;
  }
  case PB_MESSAGE: {
    json_t *o = json_object();
    if (decode_message(c, f->msg, d, n, o) < 0) {
      json_decref(o);
      return -1;
    }
    *out = o;
    return 0;
  }
  case PB_TIME:
    if (decode_time(d, n, out) < 0)
      return bad(c, m, f, num, "invalid timestamp");
    return 0;
  case PB_QUANTITY: {
    rd_t r = { d, d + n };
    *out = json_string("");
    while (r.p < r.end) {
      uint32_t qn;
      int wt;
      const uint8_t *b;
      size_t bl;
      if (rd_tag(&r, &qn, &wt) < 0)
        return bad(c, m, f, num, "malformed quantity");
      if (qn == 1 && wt == WT_LEN) {
        if (rd_len(&r, &b, &bl) < 0)
          return bad(c, m, f, num, "malformed quantity");
        json_decref(*out);
        if (!(*out = string_value(b, bl)))
          return bad(c, m, f, num, "quantity is not valid UTF-8");
      } else if (rd_skip(&r, wt) < 0) {
        return bad(c, m, f, num, "malformed quantity");
      }
    }
    return 0;
  }
  case PB_INTORSTRING:
    if (decode_intorstring(d, n, out) < 0)
      return bad(c, m, f, num, "malformed IntOrString");
    return 0;
  }
  return bad(c, m, f, num, "wrong wire type");
}

static json_t *varint_value(int t, uint64_t v)
{
  switch (t) {
  case PB_BOOL:
    return json_boolean(v != 0);
  case PB_INT32:
    return json_integer((int32_t)(uint32_t)v);
  default:
    return json_integer((int64_t)v);
  }
}

static bool is_varint_type(int t)
{
  return t == PB_BOOL || t == PB_INT32 || t == PB_INT64;
}

static bool is_zero(json_t *v)
{
  return (json_is_string(v) && json_string_length(v) == 0)
         || (json_is_integer(v) && json_integer_value(v) == 0) || json_is_false(v);
}

/* Stores a decoded value: appends for repeated fields, replaces otherwise. */
static void store(json_t *obj, const pb_field_t *f, json_t *v)
{
  if (f->flags & PB_REPEATED) {
    json_t *arr = json_object_get(obj, f->json);
    if (!json_is_array(arr)) {
      arr = json_array();
      json_object_set_new(obj, f->json, arr);
    }
    json_array_append_new(arr, v ? v : json_null());
    return;
  }
  if (!v || (is_zero(v) && !(f->flags & PB_KEEP))) {
    json_object_del(obj, f->json);
    json_decref(v);
    return;
  }
  json_object_set_new(obj, f->json, v);
}

static int decode_map_entry(dec_t *c, const pb_message_t *m, const pb_field_t *f, uint32_t num,
                            const uint8_t *d, size_t n, json_t *obj)
{
  rd_t r = { d, d + n };
  json_t *key = NULL, *val = NULL;
  while (r.p < r.end) {
    uint32_t en;
    int wt;
    const uint8_t *b;
    size_t bl;
    if (rd_tag(&r, &en, &wt) < 0)
      goto malformed;
    if ((en == 1 || en == 2) && wt == WT_LEN) {
      if (rd_len(&r, &b, &bl) < 0)
        goto malformed;
      json_t *v;
      if (en == 1) {
        if (!(v = string_value(b, bl))) {
          json_decref(key);
          json_decref(val);
          return bad(c, m, f, num, "map key is not valid UTF-8");
        }
        json_decref(key);
        key = v;
      } else {
        if (decode_len_value(c, m, f, num, f->map_value, b, bl, &v) < 0) {
          json_decref(key);
          json_decref(val);
          return -1;
        }
        json_decref(val);
        val = v;
      }
    } else if (rd_skip(&r, wt) < 0) {
      goto malformed;
    }
  }
  json_t *map = json_object_get(obj, f->json);
  if (!json_is_object(map)) {
    map = json_object();
    json_object_set_new(obj, f->json, map);
  }
  if (!val)
    val = f->map_value == PB_MESSAGE ? json_object() : json_string("");
  json_object_set_new(map, key ? json_string_value(key) : "", val);
  json_decref(key);
  return 0;
malformed:
  json_decref(key);
  json_decref(val);
  return bad(c, m, f, num, "malformed map entry");
}

static int decode_message(dec_t *c, const pb_message_t *m, const uint8_t *buf, size_t len,
                          json_t *obj)
{
  if (++c->depth > PB_MAX_DEPTH) {
    c->depth--;
    return berr_setc(c->err, EINVAL, "protobuf: %s: nested too deeply", m->name);
  }
  rd_t r = { buf, buf + len };
  int rc = 0;
  while (rc == 0 && r.p < r.end) {
    uint32_t num;
    int wt;
    if (rd_tag(&r, &num, &wt) < 0) {
      rc = berr_setc(c->err, EINVAL, "protobuf: %s: malformed field tag", m->name);
      break;
    }
    const pb_field_t *f = find_field(m, num);
    if (!f) {
      if (rd_skip(&r, wt) < 0)
        rc = bad(c, m, NULL, num,
                 wt == WT_SGROUP || wt == WT_EGROUP || wt > WT_I32 ? "unsupported wire type"
                                                                   : "truncated");
      continue;
    }
    if (is_varint_type(f->type) && wt == WT_VARINT) {
      uint64_t v;
      if (rd_varint(&r, &v) < 0)
        rc = bad(c, m, f, num, "truncated varint");
      else
        store(obj, f, varint_value(f->type, v));
      continue;
    }
    if (wt != WT_LEN) {
      rc = bad(c, m, f, num, "wrong wire type");
      continue;
    }
    const uint8_t *d;
    size_t n;
    if (rd_len(&r, &d, &n) < 0) {
      rc = bad(c, m, f, num, "length exceeds the message");
      continue;
    }
    if (is_varint_type(f->type)) {
      /* a packed repeated scalar */
      if (!(f->flags & PB_REPEATED)) {
        rc = bad(c, m, f, num, "wrong wire type");
        continue;
      }
      rd_t pr = { d, d + n };
      while (rc == 0 && pr.p < pr.end) {
        uint64_t v;
        if (rd_varint(&pr, &v) < 0)
          rc = bad(c, m, f, num, "truncated packed varint");
        else
          store(obj, f, varint_value(f->type, v));
      }
      continue;
    }
    if (f->type == PB_MAP) {
      rc = decode_map_entry(c, m, f, num, d, n, obj);
      continue;
    }
    if (f->type == PB_MESSAGE && (f->flags & PB_INLINE)) {
      rc = decode_message(c, f->msg, d, n, obj);
      continue;
    }
    if (f->type == PB_MESSAGE && !(f->flags & PB_REPEATED)) {
      /* a message seen twice merges, as protobuf specifies */
      json_t *o = json_object_get(obj, f->json);
      if (!json_is_object(o)) {
        o = json_object();
        json_object_set_new(obj, f->json, o);
      }
      rc = decode_message(c, f->msg, d, n, o);
      continue;
    }
    json_t *v;
    rc = decode_len_value(c, m, f, num, f->type, d, n, &v);
    if (rc == 0)
      store(obj, f, v);
  }
  c->depth--;
  return rc;
}

static const pb_kind_t *find_kind(const char *api_version, const char *kind)
{
  for (size_t i = 0; i < api_pb_nkinds; i++)
    if (!strcmp(api_pb_kinds[i].api_version, api_version) && !strcmp(api_pb_kinds[i].kind, kind))
      return &api_pb_kinds[i];
  return NULL;
}

bool api_pb_supports(const char *api_version, const char *kind)
{
  return find_kind(api_version, kind) != NULL;
}

json_t *api_pb_decode_object(const char *api_version, const char *kind, const void *raw, size_t len,
                             berr_t *err)
{
  const pb_kind_t *k = find_kind(api_version, kind);
  if (!k) {
    berr_setc(err, ENOTSUP, "protobuf: %s %s is not supported; send it as JSON", api_version, kind);
    return NULL;
  }
  json_t *obj = json_pack("{s:s, s:s}", "apiVersion", api_version, "kind", kind);
  dec_t c = { err, 0 };
  if (decode_message(&c, k->msg, raw, len, obj) < 0) {
    json_decref(obj);
    return NULL;
  }
  return obj;
}

/* runtime.TypeMeta {1 apiVersion, 2 kind} */
static int decode_type_meta(const uint8_t *d, size_t n, char **api_version, char **kind)
{
  rd_t r = { d, d + n };
  while (r.p < r.end) {
    uint32_t num;
    int wt;
    const uint8_t *b;
    size_t bl;
    if (rd_tag(&r, &num, &wt) < 0)
      return -1;
    if ((num == 1 || num == 2) && wt == WT_LEN) {
      if (rd_len(&r, &b, &bl) < 0 || !api_utf8_valid((const char *)b, bl))
        return -1;
      char **dst = num == 1 ? api_version : kind;
      free(*dst);
      *dst = xstrndup((const char *)b, bl);
    } else if (rd_skip(&r, wt) < 0) {
      return -1;
    }
  }
  return 0;
}

json_t *api_pb_decode(const void *buf, size_t len, berr_t *err)
{
  static const uint8_t magic[4] = { 'k', '8', 's', 0 };
  if (len < sizeof magic || memcmp(buf, magic, sizeof magic) != 0) {
    berr_setc(err, EINVAL, "protobuf: missing the \"k8s\\0\" prefix");
    return NULL;
  }
  rd_t r = { (const uint8_t *)buf + 4, (const uint8_t *)buf + len };
  cleanup_free char *api_version = NULL, *kind = NULL, *encoding = NULL, *ctype = NULL;
  const uint8_t *raw = NULL;
  size_t raw_len = 0;
  while (r.p < r.end) {
    uint32_t num;
    int wt;
    const uint8_t *d;
    size_t n;
    if (rd_tag(&r, &num, &wt) < 0) {
      berr_setc(err, EINVAL, "protobuf: Unknown: malformed field tag");
      return NULL;
    }
    if (num >= 1 && num <= 4 && wt == WT_LEN) {
      if (rd_len(&r, &d, &n) < 0) {
        berr_setc(err, EINVAL, "protobuf: Unknown field %" PRIu32 ": length exceeds the message",
                  num);
        return NULL;
      }
      if (num == 1 && decode_type_meta(d, n, &api_version, &kind) < 0) {
        berr_setc(err, EINVAL, "protobuf: Unknown.typeMeta: malformed");
        return NULL;
      }
      if (num == 2)
        raw = d, raw_len = n;
      if (num == 3 || num == 4) {
        char **dst = num == 3 ? &encoding : &ctype;
        free(*dst);
        *dst = xstrndup((const char *)d, n);
      }
    } else if (rd_skip(&r, wt) < 0) {
      berr_setc(err, EINVAL, "protobuf: Unknown field %" PRIu32 ": malformed", num);
      return NULL;
    }
  }
  if (!api_version || !api_version[0] || !kind || !kind[0]) {
    berr_setc(err, EINVAL, "protobuf: the body does not name its apiVersion and kind");
    return NULL;
  }
  if (encoding && encoding[0]) {
    cleanup_free char *q = api_go_quote(encoding, strlen(encoding));
    berr_setc(err, ENOTSUP, "protobuf: content encoding %s is not supported", q);
    return NULL;
  }
  return api_pb_decode_object(api_version, kind, raw ? raw : (const uint8_t *)"", raw_len, err);
}
