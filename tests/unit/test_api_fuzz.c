/* test_api_fuzz.c — bounded, deterministic fuzzing of the parsers that read
 * untrusted input: the protobuf decoder, label and field selectors, and
 * quantities. 10,000 mutated or random inputs each, from a fixed seed, so a
 * failure reproduces. Under ASan and UBSan any overread or overflow aborts;
 * beyond not crashing, each parser must give an error message when it fails,
 * and whatever parses must survive a round trip through its printed form. */
#include "api/api.h"

#include <criterion/criterion.h>

#include "test_api_pb_util.h"
#include <string.h>

#define ROUNDS 10000

typedef struct rng {
  uint64_t s;
} rng_t;

static uint64_t next(rng_t *r)
{
  r->s ^= r->s << 13;
  r->s ^= r->s >> 7;
  r->s ^= r->s << 17;
  return r->s;
}

static size_t below(rng_t *r, size_t n)
{
  return n ? (size_t)(next(r) % n) : 0;
}

/* kubectl 1.32 `create deployment web --image=nginx:1.25 --replicas=2 --port=80` and
 * `create service nodeport np --tcp=443:8443 --node-port=30443` (see test_api_pb.c) */
static const char DEP_HEX[]
    = "6b3873000a150a07617070732f7631120a4465706c6f796d656e7412c4010a260a0377656212"
      "001a0764656661756c7422002a003200380042005a0a0a036170701203776562128b01080212"
      "0c0a0a0a0361707012037765621a710a1c0a0012001a0022002a003200380042005a0a0a0361"
      "70701203776562125112330a056e67696e78120a6e67696e783a312e32352a00320a0a001000"
      "185022002a0042006a007200800100880100900100a201001a00320042004a00520058006000"
      "68008201008a01009a0100c2010022020a00280038001a0c0800100018002000280038001a00"
      "2200";
static const char SVC_HEX[]
    = "6b3873000a0d0a02763112075365727669636512700a240a026e7012001a0764656661756c74"
      "22002a003200380042005a090a0361707012026e7012440a1f0a083434332d38343433120354"
      "435018bb032207080010fb411a0028ebed0112090a0361707012026e701a0022084e6f646550"
      "6f72743a00420052005a00600068001a020a001a002200";

/* Builds a ConfigMap body: envelope + metadata + data + binaryData. */
static size_t config_map_body(unsigned char *out)
{
  static const unsigned char raw[] = {
    0x0a, 0x13,                                                         /* metadata */
    0x0a, 0x03, 'c',  'f',  'g',                                        /* name */
    0x5a, 0x0a, 0x0a, 0x03, 'a', 'p',  'p',  0x12, 0x03, 'w', 'e', 'b', /* labels */
    0x38, 0x00,                                                         /* generation */
    0x12, 0x08, 0x0a, 0x01, 'a', 0x12, 0x03, 'o',  'n',  'e',           /* data */
    0x1a, 0x07, 0x0a, 0x01, 'b', 0x12, 0x02, 0x00, 0xff,                /* binaryData */
    0x20, 0x01,                                                         /* immutable */
  };
  static const unsigned char head[] = { 'k',  '8', 's', 0,   0x0a, 0x0f, 0x0a, 0x02, 'v', '1', 0x12,
                                        0x09, 'C', 'o', 'n', 'f',  'i',  'g',  'M',  'a', 'p' };
  size_t n = 0;
  memcpy(out, head, sizeof head);
  n += sizeof head;
  out[n++] = 0x12;
  out[n++] = (unsigned char)sizeof raw;
  memcpy(out + n, raw, sizeof raw);
  n += sizeof raw;
  return n;
}

static void mutate(rng_t *r, unsigned char *b, size_t *n, size_t cap)
{
  int k = 1 + (int)below(r, 4);
  for (int i = 0; i < k; i++) {
    switch (below(r, 6)) {
    case 0: /* flip a bit */
      if (*n)
        b[below(r, *n)] ^= (unsigned char)(1u << below(r, 8));
      break;
    case 1: /* truncate */
      *n = below(r, *n + 1);
      break;
    case 2: /* insert a byte */
      if (*n < cap) {
        size_t at = below(r, *n + 1);
        memmove(b + at + 1, b + at, *n - at);
        b[at] = (unsigned char)next(r);
        (*n)++;
      }
      break;
    case 3: /* an interesting byte */
      if (*n) {
        static const unsigned char vals[] = { 0x00, 0x7f, 0x80, 0xff, 0x0b, 0x0c, 0x01 };
        b[below(r, *n)] = vals[below(r, sizeof vals)];
      }
      break;
    case 4: /* delete a byte */
      if (*n) {
        size_t at = below(r, *n);
        memmove(b + at, b + at + 1, *n - at - 1);
        (*n)--;
      }
      break;
    default: /* random byte */
      if (*n)
        b[below(r, *n)] = (unsigned char)next(r);
    }
  }
}

Test(api_fuzz, protobuf_decoder)
{
  rng_t r = { 0x243f6a8885a308d3ULL };
  unsigned char ns[128], cm[256], dep[256], svc[256];
  size_t ns_len = unhex(NS_HEX, ns), dep_len = unhex(DEP_HEX, dep), svc_len = unhex(SVC_HEX, svc);
  size_t cm_len = config_map_body(cm);
  /* the seeds themselves decode */
  json_t *o = api_pb_decode(cm, cm_len, NULL);
  cr_assert_not_null(o);
  cr_assert_str_eq(json_str(json_object_get(o, "data"), "a"), "one");
  json_decref(o);

  size_t ok = 0, failed = 0;
  for (int i = 0; i < ROUNDS; i++) {
    unsigned char work[400];
    size_t n;
    switch (i % 5) {
    case 0:
      memcpy(work, ns, n = ns_len);
      break;
    case 1:
      memcpy(work, cm, n = cm_len);
      break;
    case 3:
      memcpy(work, dep, n = dep_len);
      break;
    case 4:
      memcpy(work, svc, n = svc_len);
      break;
    default: /* random bytes after the magic */
      n = 4 + below(&r, 100);
      memcpy(work, "k8s", 4);
      for (size_t j = 4; j < n; j++)
        work[j] = (unsigned char)next(&r);
    }
    if (i % 5 != 2)
      mutate(&r, work, &n, sizeof work);
    /* an exact-size copy, so ASan catches any read past the end */
    unsigned char *exact = xmalloc(n ? n : 1);
    memcpy(exact, work, n);
    berr_t err = BERR_INIT;
    /* ConfigMap seeds also go in without the envelope, as a raw object */
    json_t *obj = (i % 5 == 1 && (i & 1)) ? api_pb_decode_object("v1", "ConfigMap", exact, n, &err)
                                          : api_pb_decode(exact, n, &err);
    if (obj) {
      cr_assert(json_is_object(obj));
      char *s = json_dumps(obj, JSON_COMPACT);
      cr_assert_not_null(s, "decoded object does not serialise");
      free(s);
      ok++;
    } else {
      cr_assert_not_null(err.msg, "round %d: failure without a message", i);
      failed++;
    }
    json_decref(obj);
    berr_clear(&err);
    free(exact);
  }
  cr_assert_gt(ok, 100, "the mutator never produced a decodable input");
  cr_assert_gt(failed, 100, "the mutator never produced a bad input");
}

static char *random_selector(rng_t *r, const char *const *atoms, size_t natoms)
{
  buf_t b = { 0 };
  buf_puts(&b, "");
  size_t k = below(r, 12);
  for (size_t i = 0; i < k; i++)
    buf_puts(&b, atoms[below(r, natoms)]);
  return buf_steal(&b);
}

Test(api_fuzz, label_selectors)
{
  static const char *const atoms[] = {
    "a", "b",  "app", "x.y/z", "=", "==", "!=", "!", ",", "(",   ")", " in ", " notin ", "in",
    " ", "\t", "-",   "_",     ".", "1",  "5",  ">", "<", "web", "/", "\\",   "é",       "A"
  };
  rng_t r = { 0xb7e151628aed2a6bULL };
  json_t *labels = json_pack("{s:s, s:s, s:s}", "a", "b", "app", "web", "b", "5");
  size_t parsed = 0;
  for (int i = 0; i < ROUNDS; i++) {
    char *s = random_selector(&r, atoms, ARRAY_SIZE(atoms));
    api_label_selector_t *sel = NULL;
    berr_t err = BERR_INIT;
    if (api_label_selector_parse(s, &sel, &err) < 0) {
      cr_assert_not_null(err.msg, "%s: failure without a message", s);
      cr_assert_null(sel);
      berr_clear(&err);
      free(s);
      continue;
    }
    parsed++;
    bool m = api_label_selector_matches(sel, labels);
    /* the printed form parses to the same selector */
    char *p = api_label_selector_string(sel);
    api_label_selector_t *again = NULL;
    cr_assert_eq(api_label_selector_parse(p, &again, &err), 0, "%s -> %s: %s", s, p, err.msg);
    char *p2 = api_label_selector_string(again);
    cr_assert_str_eq(p, p2, "%s", s);
    cr_assert_eq(api_label_selector_matches(again, labels), m, "%s", s);
    free(p2);
    free(p);
    api_label_selector_free(again);
    api_label_selector_free(sel);
    free(s);
  }
  cr_assert_gt(parsed, 200);
  json_decref(labels);
}

Test(api_fuzz, field_selectors)
{
  static const char *const atoms[] = { "metadata.name",
                                       "spec.nodeName",
                                       "status.phase",
                                       "=",
                                       "==",
                                       "!=",
                                       ",",
                                       "\\",
                                       "\\,",
                                       "x",
                                       "Running",
                                       "." };
  rng_t r = { 0x3c6ef372fe94f82bULL };
  json_t *pod = json_pack("{s:{s:s}, s:{s:s}}", "metadata", "name", "x", "spec", "nodeName", "n");
  size_t parsed = 0;
  for (int i = 0; i < ROUNDS; i++) {
    char *s = random_selector(&r, atoms, ARRAY_SIZE(atoms));
    api_field_selector_t *sel = NULL;
    berr_t err = BERR_INIT;
    if (api_field_selector_parse(s, (i & 1) ? "Pod" : NULL, &sel, &err) < 0) {
      cr_assert_not_null(err.msg, "%s", s);
      berr_clear(&err);
    } else {
      parsed++;
      (void)api_field_selector_matches(sel, pod);
      api_field_selector_free(sel);
    }
    free(s);
  }
  cr_assert_gt(parsed, 200);
  json_decref(pod);
}

Test(api_fuzz, quantities)
{
  static const char *const atoms[]
      = { "0", "1", "5", "9", ".", "+", "-", "e",  "E",  "i",  "n",           "u",
          "m", "k", "K", "M", "G", "T", "P", "Ki", "Mi", "Ei", "12345678901", " " };
  rng_t r = { 0xa4093822299f31d0ULL };
  size_t parsed = 0;
  for (int i = 0; i < ROUNDS; i++) {
    char *s = random_selector(&r, atoms, ARRAY_SIZE(atoms));
    api_quantity_t q;
    berr_t err = BERR_INIT;
    if (api_quantity_parse(s, &q, &err) < 0) {
      cr_assert_not_null(err.msg, "%s", s);
      berr_clear(&err);
      free(s);
      continue;
    }
    parsed++;
    char *f = api_quantity_format(&q);
    api_quantity_t back;
    cr_assert_eq(api_quantity_parse(f, &back, &err), 0, "%s -> %s: %s", s, f, err.msg);
    cr_assert_eq(api_quantity_cmp(&q, &back), 0, "%s -> %s changed value", s, f);
    char *f2 = api_quantity_format(&back);
    cr_assert_str_eq(f, f2, "%s", s);
    (void)api_quantity_milli(&q);
    free(f2);
    free(f);
    free(s);
  }
  cr_assert_gt(parsed, 200);
}
