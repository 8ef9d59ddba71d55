/* fuzz_decode.c — a bounded fuzzer for everything berth's API server decodes
 * from untrusted input: protobuf and JSON bodies (and the metadata and
 * schema checks that follow), label and field selectors, the three patch
 * formats, API paths and continue tokens, YAML and quantities.
 *
 * fuzz_one() is the target; the rest is a small gcc-only driver, so CI needs
 * neither clang nor libFuzzer. The decoders are built with
 * -fsanitize-coverage=trace-pc (see the Makefile rule): the driver keeps the
 * mutated inputs that reach new edges, so a run of seconds goes deeper than
 * blind mutation would. Everything is deterministic given the seed, which
 * the driver prints; a crash (ASan, UBSan, abort, timeout) first writes the
 * input it was running to a file and prints its path; leaks are checked
 * every few hundred inputs and pinned to one input by replaying each in a
 * fresh process.
 *
 *   fuzz-decode [-t SECONDS] [-s SEED] [-o NEWDIR] [-c CRASHDIR] CORPUS_DIR
 *   fuzz-decode FILE...            replay inputs, e.g. a saved crash
 *
 * An input is a selector byte (see TARGETS) and the payload. */
#include "api/api.h"
#include "server/server.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <sanitizer/common_interface_defs.h>
#include <sanitizer/lsan_interface.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_LEN     16384 /* mutants stay below this */
#define MAX_CORPUS  8192  /* inputs kept */
#define LEAK_EVERY  512   /* inputs between leak checks */
#define TIMEOUT_S   10    /* one input taking longer is a bug */
#define COV_BITS    16
#define STATS_EVERY 5 /* seconds between progress lines */

/* ---- the target ---------------------------------------------------------- */

/* A broken promise of a decoder: abort, so that the input is saved. */
#define check(cond, ...)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "fuzz-decode: check failed: " __VA_ARGS__);                                  \
      fputc('\n', stderr);                                                                         \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

static void fail_has_message(int rc, berr_t *err, const char *what)
{
  check(rc >= 0 || err->msg, "%s failed without a message", what);
  berr_clear(err);
}

static void t_protobuf(const uint8_t *d, size_t n)
{
  berr_t err = BERR_INIT;
  json_t *o = api_pb_decode(d, n, &err);
  if (o) {
    check(json_is_object(o), "protobuf: decoded to a non-object");
    char *s = json_dumps(o, JSON_COMPACT);
    check(s, "protobuf: decoded object does not serialise");
    free(s);
  }
  fail_has_message(o ? 0 : -1, &err, "api_pb_decode");
  json_decref(o);
}

/* A create body as resources.c reads it: JSON, then metadata and schema. */
static void t_json_body(const uint8_t *d, size_t n)
{
  json_t *o = json_loadb((const char *)d, n, 0, NULL);
  if (!o)
    return;
  static const api_name_rule_t rules[]
      = { API_NAME_DNS_SUBDOMAIN, API_NAME_DNS_LABEL, API_NAME_DNS1035_LABEL };
  for (size_t i = 0; i < 2 * ARRAY_SIZE(rules); i++) {
    api_errors_t errs = API_ERRORS_INIT;
    api_validate_object_meta(&errs, "metadata", json_object_get(o, "metadata"), rules[i / 2],
                             i & 1);
    char *s = api_errors_string(&errs);
    json_t *causes = api_errors_causes(&errs);
    berr_t err = BERR_INIT;
    check((api_errors_to_berr(&errs, &err) < 0) == (errs.n > 0), "api_errors_to_berr");
    berr_clear(&err);
    json_decref(causes);
    free(s);
    api_errors_free(&errs);
  }
  const char *av = json_str(o, "apiVersion"), *kind = json_str(o, "kind");
  char **unknown = api_unknown_fields(av ? av : "v1", kind ? kind : "Pod", o);
  strv_free(unknown);
  json_decref(o);
}

static void t_label_selector(const uint8_t *d, size_t n)
{
  cleanup_free char *s = xstrndup((const char *)d, n);
  api_label_selector_t *sel = NULL;
  berr_t err = BERR_INIT;
  int rc = api_label_selector_parse(s, &sel, &err);
  fail_has_message(rc, &err, "api_label_selector_parse");
  if (rc < 0)
    return;
  /* The canonical form parses back to itself. */
  cleanup_free char *p = api_label_selector_string(sel);
  api_label_selector_t *again = NULL;
  rc = api_label_selector_parse(p, &again, &err);
  check(rc == 0, "label selector %s prints as %s, which does not parse: %s", s, p, err.msg);
  cleanup_free char *p2 = api_label_selector_string(again);
  check(strcmp(p, p2) == 0, "label selector %s prints as %s, then as %s", s, p, p2);
  json_t *labels = json_pack("{s:s, s:s}", "app", "web", "n", "5");
  check(api_label_selector_matches(sel, labels) == api_label_selector_matches(again, labels),
        "label selector %s and its canonical form %s match differently", s, p);
  json_decref(labels);
  api_label_selector_free(again);
  api_label_selector_free(sel);
}

static void t_field_selector(const uint8_t *d, size_t n)
{
  cleanup_free char *s = xstrndup((const char *)d, n);
  api_field_selector_t *sel = NULL;
  berr_t err = BERR_INIT;
  int rc = api_field_selector_parse(s, "Pod", &sel, &err);
  fail_has_message(rc, &err, "api_field_selector_parse");
  if (rc < 0)
    return;
  json_t *pod
      = json_pack("{s:{s:s, s:s}, s:{s:s}, s:{s:s}}", "metadata", "name", "web", "namespace",
                  "default", "spec", "nodeName", "n1", "status", "phase", "Running");
  (void)api_field_selector_matches(sel, pod);
  (void)api_field_selector_equals(sel, "metadata.name");
  json_decref(pod);
  api_field_selector_free(sel);
}

/* doc NUL patch; the document's kind picks the strategic merge keys. */
static void t_patch(const uint8_t *d, size_t n, int which)
{
  const uint8_t *nul = memchr(d, 0, n);
  size_t dn = nul ? (size_t)(nul - d) : n;
  json_t *doc = json_loadb((const char *)d, dn, 0, NULL);
  json_t *patch = nul ? json_loadb((const char *)nul + 1, n - dn - 1, JSON_DECODE_ANY, NULL) : NULL;
  if (doc && patch) {
    berr_t err = BERR_INIT;
    json_t *out = NULL;
    if (which == 0)
      out = api_patch_merge(doc, patch);
    else if (which == 1)
      out = api_patch_json(doc, patch, &err);
    else
      out = api_patch_strategic(doc, patch, json_str(doc, "kind"), &err);
    if (which == 0)
      check(out, "api_patch_merge returned nothing");
    else
      check(out || err.msg, "%s failed without a message",
            which == 1 ? "api_patch_json" : "api_patch_strategic");
    berr_clear(&err);
    json_decref(out);
  }
  json_decref(patch);
  json_decref(doc);
}

static void t_merge_patch(const uint8_t *d, size_t n)
{
  t_patch(d, n, 0);
}

static void t_json_patch(const uint8_t *d, size_t n)
{
  t_patch(d, n, 1);
}

static void t_strategic_patch(const uint8_t *d, size_t n)
{
  t_patch(d, n, 2);
}

/* PATH, then optionally NUL and a continue token. */
static void t_route(const uint8_t *d, size_t n)
{
  cleanup_free char *path = xstrndup((const char *)d, n);
  size_t pn = strlen(path);
  srv_route_t r;
  if (srv_route_parse(path, &r) == 0) {
    check(r.resource, "route %s: no resource", path);
    srv_route_free(&r);
  }
  cleanup_free char *tok = pn < n ? xstrndup((const char *)d + pn + 1, n - pn - 1) : xstrdup(path);
  int64_t rev = 0;
  cleanup_free char *after = NULL;
  berr_t err = BERR_INIT;
  int rc = srv_continue_decode(tok, &rev, &after, &err);
  fail_has_message(rc, &err, "srv_continue_decode");
  if (rc == 0) {
    /* A token berth writes for what it read decodes to the same. */
    cleanup_free char *again = srv_continue_encode(rev, after);
    int64_t rev2 = 0;
    cleanup_free char *after2 = NULL;
    rc = srv_continue_decode(again, &rev2, &after2, &err);
    check(rc == 0 && rev2 == rev && strcmp(after, after2) == 0,
          "continue token %s: re-encoded as %s, which decodes differently", tok, again);
  }
}

static void t_yaml(const uint8_t *d, size_t n)
{
  berr_t err = BERR_INIT;
  json_t *docs = api_yaml_load_all((const char *)d, n, &err);
  fail_has_message(docs ? 0 : -1, &err, "api_yaml_load_all");
  size_t i;
  json_t *v;
  json_array_foreach(docs, i, v)
  {
    /* What loads dumps to text that loads back the same. */
    char *y = api_yaml_dump(v);
    check(y, "api_yaml_dump failed");
    json_t *back = api_yaml_load_all(y, strlen(y), &err);
    check(back, "yaml: dumped text does not load: %s\n%s", err.msg, y);
    check(json_array_size(back) == 1 && json_equal(json_array_get(back, 0), v),
          "yaml: a value changes through dump and load:\n%s", y);
    json_decref(back);
    free(y);
  }
  json_decref(docs);
}

static void t_quantity(const uint8_t *d, size_t n)
{
  cleanup_free char *s = xstrndup((const char *)d, n);
  api_quantity_t q, back;
  berr_t err = BERR_INIT;
  int rc = api_quantity_parse(s, &q, &err);
  fail_has_message(rc, &err, "api_quantity_parse");
  if (rc < 0)
    return;
  cleanup_free char *f = api_quantity_format(&q);
  rc = api_quantity_parse(f, &back, &err);
  check(rc == 0, "quantity %s prints as %s, which does not parse: %s", s, f, err.msg);
  check(api_quantity_cmp(&q, &back) == 0, "quantity %s prints as %s, another value", s, f);
  cleanup_free char *f2 = api_quantity_format(&back);
  check(strcmp(f, f2) == 0, "quantity %s prints as %s, then as %s", s, f, f2);
  (void)api_quantity_value(&q);
  (void)api_quantity_milli(&q);
}

static const struct {
  char sel;
  const char *name;
  void (*fn)(const uint8_t *, size_t);
} TARGETS[] = {
  { 'p', "protobuf body", t_protobuf },
  { 'j', "JSON body", t_json_body },
  { 'l', "label selector", t_label_selector },
  { 'f', "field selector", t_field_selector },
  { 'm', "merge patch", t_merge_patch },
  { 'J', "JSON patch", t_json_patch },
  { 's', "strategic merge patch", t_strategic_patch },
  { 'r', "path and continue token", t_route },
  { 'y', "YAML", t_yaml },
  { 'q', "quantity", t_quantity },
};

static size_t target_of(uint8_t sel)
{
  for (size_t i = 0; i < ARRAY_SIZE(TARGETS); i++)
    if (TARGETS[i].sel == sel)
      return i;
  return sel % ARRAY_SIZE(TARGETS);
}

int fuzz_one(const uint8_t *data, size_t len)
{
  if (len == 0)
    return 0;
  /* An exact-size copy, so that ASan sees any read past the end. */
  size_t n = len - 1;
  uint8_t *p = xmalloc(n ? n : 1);
  memcpy(p, data + 1, n);
  TARGETS[target_of(data[0])].fn(p, n);
  free(p);
  return 0;
}

/* ---- coverage ------------------------------------------------------------- */

/* The driver's one context: the input running (for the crash handlers), the
 * coverage of the run so far and the corpus. */
static struct fuzz {
  const uint8_t *cur;
  size_t cur_len;
  char crash_path[4096];
  char self[4096]; /* this binary, for replay commands */
  volatile sig_atomic_t dumped;
  uint8_t edges[1 << COV_BITS]; /* hit counts of this input */
  uint8_t seen[1 << COV_BITS];  /* hit-count classes seen by any input */
  uintptr_t prev;
  size_t n_edges;
  struct entry {
    uint8_t *data;
    size_t len;
  } corpus[MAX_CORPUS];
  size_t n_corpus, n_seeds;
  uint64_t rng;
} fz;

extern char __executable_start; /* from the linker */

/* Called by -fsanitize-coverage=trace-pc at every basic block of the
 * instrumented decoders; the driver itself is not instrumented. Offsets from
 * the start of the binary, not addresses, so that ASLR does not change which
 * inputs look new and a seed replays the same run. */
void __sanitizer_cov_trace_pc(void);
void __sanitizer_cov_trace_pc(void)
{
  uintptr_t pc = (uintptr_t)__builtin_return_address(0) - (uintptr_t)&__executable_start;
  size_t i = (pc ^ fz.prev) & ((1u << COV_BITS) - 1);
  if (fz.edges[i] < 255)
    fz.edges[i]++;
  fz.prev = pc >> 1;
}

static uint8_t count_class(uint8_t c)
{
  return c == 0    ? 0
         : c == 1  ? 1
         : c == 2  ? 2
         : c == 3  ? 4
         : c < 8   ? 8
         : c < 16  ? 16
         : c < 32  ? 32
         : c < 128 ? 64
                   : 128;
}

/* Runs one input; true when it reached an edge or a hit count class no
 * input reached before. */
static bool run_one(const uint8_t *data, size_t len)
{
  memset(fz.edges, 0, sizeof fz.edges);
  fz.prev = 0;
  fz.cur = data;
  fz.cur_len = len;
  alarm(TIMEOUT_S);
  fuzz_one(data, len);
  alarm(0);
  fz.cur = NULL;
  bool fresh = false;
  for (size_t i = 0; i < sizeof fz.edges; i++) {
    if (!fz.edges[i])
      continue;
    uint8_t c = count_class(fz.edges[i]);
    if (!(fz.seen[i] & c)) {
      if (!fz.seen[i])
        fz.n_edges++;
      fz.seen[i] |= c;
      fresh = true;
    }
  }
  return fresh;
}

/* ---- crashes -------------------------------------------------------------- */

static void say(const char *s)
{
  ssize_t r = write(2, s, strlen(s));
  (void)r;
}

/* Writes the running input to fz.crash_path: async-signal-safe, as it runs
 * from signal handlers and from the sanitizers' death callback. */
static void dump_current(const char *why)
{
  if (!fz.cur || fz.dumped || !fz.crash_path[0])
    return;
  fz.dumped = 1;
  int fd = open(fz.crash_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    say("fuzz-decode: cannot write the crashing input\n");
    return;
  }
  for (size_t off = 0; off < fz.cur_len;) {
    ssize_t w = write(fd, fz.cur + off, fz.cur_len - off);
    if (w <= 0)
      break;
    off += (size_t)w;
  }
  close(fd);
  say("\nfuzz-decode: ");
  say(why);
  say(": input saved to ");
  say(fz.crash_path);
  say("\nfuzz-decode: replay with: ");
  say(fz.self);
  say(" ");
  say(fz.crash_path);
  say("\n");
}

static void on_death(void)
{
  dump_current("sanitizer error");
}

/* UBSan lives in its own runtime, which never calls ASan's death callback:
 * make it abort instead, and catch SIGABRT. UBSAN_OPTIONS still wins. */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
  return "print_stacktrace=1:halt_on_error=1:abort_on_error=1";
}

static void on_signal(int sig)
{
  dump_current(sig == SIGALRM ? "timeout" : "crash");
  if (sig == SIGALRM) {
    say("fuzz-decode: an input ran longer than the time limit\n");
    _exit(70);
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

static void install_handlers(void)
{
  __sanitizer_set_death_callback(on_death);
  /* ASan reports SIGSEGV and SIGBUS itself, then calls on_death. */
  struct sigaction sa = { .sa_handler = on_signal };
  sigemptyset(&sa.sa_mask);
  sigaction(SIGABRT, &sa, NULL);
  sigaction(SIGALRM, &sa, NULL);
  sigaction(SIGILL, &sa, NULL);
  sigaction(SIGFPE, &sa, NULL);
}

/* ---- mutation ------------------------------------------------------------- */

static uint64_t rnd(void)
{
  /* xorshift64* */
  fz.rng ^= fz.rng >> 12;
  fz.rng ^= fz.rng << 25;
  fz.rng ^= fz.rng >> 27;
  return fz.rng * 0x2545F4914F6CDD1DULL;
}

static size_t below(size_t n)
{
  return n ? (size_t)(rnd() % n) : 0;
}

/* Tokens of the formats the targets read. */
/* clang-format off */
#define T(s) { s, sizeof(s) - 1 }
static const struct token {
  const char *s;
  size_t n;
} DICT[] = {
  T("{"), T("}"), T("["), T("]"), T("\""), T(","), T(":"), T("\\u0000"), T("\\ud800"), T("\\\""),
  T("k8s\0"), T("="), T("=="), T("!="), T(" in ("), T(" notin ("), T(")"), T("!"), T(">"), T("<"),
  T("$patch"), T("\"$patch\":\"delete\""), T("\"$patch\":\"replace\""), T("$retainKeys"),
  T("$setElementOrder/"), T("$deleteFromPrimitiveList/"), T("\"name\""), T("\"containers\""),
  T("\"op\":\"add\""), T("\"op\":\"remove\""), T("\"op\":\"move\""), T("\"op\":\"copy\""),
  T("\"op\":\"test\""), T("\"path\":\"/"), T("\"from\":\"/"), T("\"value\":"), T("/-"), T("~0"),
  T("~1"), T("null"), T("true"), T("1e999"), T("-0"), T("---"), T("..."), T("&a "), T("*a"),
  T("<<: "), T(": "), T("- "), T("? "), T("!!str "), T("!!int "), T("!!float "), T("|-\n"),
  T(">\n"), T("'"), T("#"), T("%YAML 1.1\n"), T("\n  "), T("\t"), T("\xef\xbb\xbf"),
  T("\xc3\xa9"), T("\xff"), T("/api/v1/namespaces/"), T("/status"), T("//"), T("metadata.name"),
  T("spec.nodeName"), T("\\,"), T("\\="), T("Ki"), T("Mi"), T("Ei"), T("m"), T("n"), T("e"),
  T("."), T("+"), T("-"), T("9223372036854775807"), T("18446744073709551616"), T("apiVersion"),
  T("kind"), T("metadata"), T("labels"), T("annotations"), T("generateName"), T("finalizers"),
};

static const int64_t INTERESTING[] = {
  0, 1, -1, 2, 16, 32, 64, 100, 127, 128, 255, 256, 512, 1000, 1024, 4096, 32767, 32768, 65535,
  65536, 2147483647, -2147483648LL, 4294967295LL, INT64_MAX, INT64_MIN,
};
/* clang-format on */
#undef T

static void insert(uint8_t *b, size_t *n, size_t at, const void *src, size_t len)
{
  if (*n + len > MAX_LEN)
    return;
  memmove(b + at + len, b + at, *n - at);
  memcpy(b + at, src, len);
  *n += len;
}

static void overwrite(uint8_t *b, size_t *n, size_t at, const void *src, size_t len)
{
  if (at + len > *n)
    len = *n - at;
  memcpy(b + at, src, len);
}

/* One mutation of b[1..n) (b[0], the selector, changes rarely). */
static void mutate_once(uint8_t *b, size_t *n)
{
  size_t m = *n - 1; /* payload length */
  uint8_t *p = b + 1;
  uint8_t tmp[32];
  switch (below(12)) {
  case 0: /* flip a bit */
    if (m)
      p[below(m)] ^= (uint8_t)(1u << below(8));
    break;
  case 1: { /* an interesting byte */
    static const uint8_t v[] = { 0, 1, 0x7f, 0x80, 0xff, '\n', '\\', '"', ':', '-', ' ', '0', '9' };
    if (m)
      p[below(m)] = v[below(sizeof v)];
    break;
  }
  case 2: { /* insert random bytes */
    size_t k = 1 + below(4);
    for (size_t i = 0; i < k; i++)
      tmp[i] = (uint8_t)rnd();
    insert(b, n, 1 + below(m + 1), tmp, k);
    break;
  }
  case 3: /* delete a range */
    if (m) {
      size_t at = below(m), len = 1 + below(m - at < 16 ? m - at : 16);
      memmove(p + at, p + at + len, m - at - len);
      *n -= len;
    }
    break;
  case 4: /* duplicate a chunk */
    if (m) {
      size_t at = below(m), len = 1 + below(m - at < 64 ? m - at : 64);
      uint8_t *chunk = xmalloc(len);
      memcpy(chunk, p + at, len);
      insert(b, n, 1 + below(m + 1), chunk, len);
      free(chunk);
    }
    break;
  case 5: { /* splice with another input of the corpus */
    struct entry *o = &fz.corpus[below(fz.n_corpus)];
    if (o->len > 1) {
      size_t at = 1 + below(o->len - 1);
      if (below(2)) { /* our head, its tail */
        *n = 1 + below(m + 1);
        insert(b, n, *n, o->data + at, o->len - at);
      } else { /* a piece of it inside */
        insert(b, n, 1 + below(m + 1), o->data + at, 1 + below(o->len - at));
      }
    }
    break;
  }
  case 6: { /* an interesting integer: binary, protobuf varint or decimal */
    int64_t v = INTERESTING[below(ARRAY_SIZE(INTERESTING))];
    size_t len = 0;
    switch (below(3)) {
    case 0: {
      size_t w = (size_t)1 << below(4);
      for (size_t i = 0; i < w; i++)
        tmp[i] = (uint8_t)((uint64_t)v >> (8 * (below(2) ? i : w - 1 - i)));
      len = w;
      break;
    }
    case 1:
      for (uint64_t u = (uint64_t)v;; u >>= 7) {
        tmp[len++] = (uint8_t)(u & 0x7f) | (u > 0x7f ? 0x80 : 0);
        if (u <= 0x7f)
          break;
      }
      break;
    default:
      len = (size_t)snprintf((char *)tmp, sizeof tmp, "%" PRId64, v);
    }
    if (below(2) && m)
      overwrite(b, n, 1 + below(m), tmp, len);
    else
      insert(b, n, 1 + below(m + 1), tmp, len);
    break;
  }
  case 7:
  case 8: { /* a dictionary token */
    const struct token *t = &DICT[below(ARRAY_SIZE(DICT))];
    if (below(3) == 0 && m)
      overwrite(b, n, 1 + below(m), t->s, t->n);
    else
      insert(b, n, 1 + below(m + 1), t->s, t->n);
    break;
  }
  case 9: /* truncate */
    *n = 1 + below(m + 1);
    break;
  case 10: /* a random byte */
    if (m)
      p[below(m)] = (uint8_t)rnd();
    break;
  default: /* another target, now and then */
    if (below(16) == 0)
      b[0] = (uint8_t)TARGETS[below(ARRAY_SIZE(TARGETS))].sel;
  }
}

/* A mutant of a corpus entry, in b (MAX_LEN bytes); returns its length. */
static size_t mutate(uint8_t *b)
{
  struct entry *e = &fz.corpus[below(fz.n_corpus)];
  size_t n = e->len < MAX_LEN ? e->len : MAX_LEN;
  memcpy(b, e->data, n);
  if (n == 0)
    b[n++] = (uint8_t)TARGETS[below(ARRAY_SIZE(TARGETS))].sel;
  for (size_t k = (size_t)1 << below(4), i = 0; i < k; i++)
    mutate_once(b, &n);
  return n;
}

static void corpus_add(const uint8_t *data, size_t len)
{
  if (fz.n_corpus == MAX_CORPUS)
    return;
  uint8_t *copy = xmalloc(len ? len : 1);
  memcpy(copy, data, len);
  fz.corpus[fz.n_corpus++] = (struct entry){ copy, len };
}

/* ---- leaks ---------------------------------------------------------------- */

/* The inputs run since the last leak check, to replay when one leaks. */
typedef struct recent {
  struct entry v[LEAK_EVERY];
  size_t n;
} recent_t;

static void recent_clear(recent_t *r)
{
  for (size_t i = 0; i < r->n; i++)
    free(r->v[i].data);
  r->n = 0;
}

static int write_input(const char *path, const uint8_t *data, size_t len)
{
  berr_t err = BERR_INIT;
  if (fs_write_atomic(path, data, len, 0644, &err) < 0) {
    berr_print(&err);
    return -1;
  }
  return 0;
}

/* LeakSanitizer found a leak since the last check: replays each recent
 * input in a fresh process to find the one that leaks. */
static void find_leak(recent_t *r, const char *self, const char *crash_dir, uint64_t seed)
{
  fprintf(stderr, "fuzz-decode: a leak; replaying the last %zu inputs one by one\n", r->n);
  for (size_t i = 0; i < r->n; i++) {
    cleanup_free char *path = xasprintf("%s/leak-%" PRIu64 "-%zu.bin", crash_dir, seed, i);
    if (write_input(path, r->v[i].data, r->v[i].len) < 0)
      continue;
    pid_t pid = fork();
    if (pid == 0) {
      int null = open("/dev/null", O_WRONLY);
      dup2(null, 2);
      dup2(null, 1);
      execl(self, self, "-q", path, (char *)NULL);
      _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
      unlink(path);
      continue;
    }
    fprintf(stderr, "fuzz-decode: leak: input saved to %s\nfuzz-decode: replay with: %s %s\n", path,
            self, path);
    return;
  }
  fprintf(stderr, "fuzz-decode: no single input leaks on its own (seed %" PRIu64 ")\n", seed);
}

/* ---- driver --------------------------------------------------------------- */

static int cmp_strp(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_corpus(const char *dir)
{
  cleanup_dir DIR *d = opendir(dir);
  if (!d) {
    fprintf(stderr, "fuzz-decode: %s: %s\n", dir, strerror(errno));
    return -1;
  }
  char **names = NULL;
  for (struct dirent *de; (de = readdir(d));)
    if (de->d_name[0] != '.')
      strv_push(&names, de->d_name);
  /* Sorted, so that a seed means the same run on every machine. */
  size_t n = strv_len(names);
  qsort(names, n, sizeof *names, cmp_strp);
  for (size_t i = 0; i < n; i++) {
    cleanup_free char *path = path_join(dir, names[i]), *data = NULL;
    size_t len;
    berr_t err = BERR_INIT;
    if (fs_read_file(path, MAX_LEN, &data, &len, &err) < 0) {
      berr_print(&err);
      continue;
    }
    corpus_add((const uint8_t *)data, len);
  }
  strv_free(names);
  return 0;
}

static int replay(char **files, int n, bool quiet)
{
  for (int i = 0; i < n; i++) {
    cleanup_free char *data = NULL;
    size_t len;
    berr_t err = BERR_INIT;
    if (fs_read_file(files[i], 0, &data, &len, &err) < 0) {
      berr_print(&err);
      return 1;
    }
    if (!quiet)
      fprintf(stderr, "fuzz-decode: %s: %zu bytes, target %s\n", files[i], len,
              len ? TARGETS[target_of((uint8_t)data[0])].name : "none");
    run_one((const uint8_t *)data, len);
  }
  if (!quiet)
    fprintf(stderr, "fuzz-decode: replayed %d inputs without a crash\n", n);
  return 0;
}

static void usage(void)
{
  fprintf(stderr, "usage: fuzz-decode [-t SECONDS] [-s SEED] [-o NEWDIR] [-c CRASHDIR] CORPUS_DIR\n"
                  "       fuzz-decode [-q] FILE...\n");
  exit(2);
}

int main(int argc, char **argv)
{
  double seconds = 20;
  uint64_t seed = 1;
  const char *new_dir = NULL, *crash_dir = NULL;
  bool quiet = false;
  int c;
  while ((c = getopt(argc, argv, "t:s:o:c:q")) != -1) {
    switch (c) {
    case 't':
      seconds = strtod(optarg, NULL);
      break;
    case 's':
      seed = strtoull(optarg, NULL, 0);
      break;
    case 'o':
      new_dir = optarg;
      break;
    case 'c':
      crash_dir = optarg;
      break;
    case 'q':
      quiet = true;
      break;
    default:
      usage();
    }
  }
  if (optind >= argc)
    usage();
  install_handlers();
  struct stat st;
  if (stat(argv[optind], &st) == 0 && !S_ISDIR(st.st_mode))
    return replay(argv + optind, argc - optind, quiet);

  if (!crash_dir)
    crash_dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  berr_t err = BERR_INIT;
  if (fs_mkdir_p(crash_dir, 0755, &err) < 0 || (new_dir && fs_mkdir_p(new_dir, 0755, &err) < 0)) {
    berr_print(&err);
    return 2;
  }
  cleanup_free char *crash_abs = realpath(crash_dir, NULL);
  snprintf(fz.crash_path, sizeof fz.crash_path, "%s/crash-%" PRIu64 ".bin",
           crash_abs ? crash_abs : crash_dir, seed);
  ssize_t sl = readlink("/proc/self/exe", fz.self, sizeof fz.self - 1);
  fz.self[sl > 0 ? sl : 0] = '\0';

  if (load_corpus(argv[optind]) < 0)
    return 2;
  fz.n_seeds = fz.n_corpus;
  fprintf(stderr,
          "fuzz-decode: seed %" PRIu64 " (replay the run with -s %" PRIu64 "), %zu seeds, %.0f s\n",
          seed, seed, fz.n_seeds, seconds);
  fz.rng = seed * 0x9E3779B97F4A7C15ULL + 1;

  recent_t *recent = xcalloc(1, sizeof *recent);
  for (size_t i = 0; i < fz.n_seeds; i++)
    run_one(fz.corpus[i].data, fz.corpus[i].len);
  if (__lsan_do_recoverable_leak_check()) {
    for (size_t i = 0; i < fz.n_seeds && i < LEAK_EVERY; i++) {
      uint8_t *copy = xmalloc(fz.corpus[i].len + 1);
      memcpy(copy, fz.corpus[i].data, fz.corpus[i].len);
      recent->v[recent->n++] = (struct entry){ copy, fz.corpus[i].len };
    }
    find_leak(recent, fz.self, crash_abs ? crash_abs : crash_dir, seed);
    _exit(1); /* the heap is still full of the run: spare LSan's exit report */
  }

  int64_t start = time_mono_ns(), deadline = start + (int64_t)(seconds * 1e9);
  int64_t next_stats = start + STATS_EVERY * 1000000000LL;
  uint64_t execs = 0;
  uint8_t *buf = xmalloc(MAX_LEN);
  while (fz.n_corpus && time_mono_ns() < deadline) {
    size_t n = mutate(buf);
    /* exact size, for ASan */
    uint8_t *in = xmalloc(n);
    memcpy(in, buf, n);
    bool fresh = run_one(in, n);
    execs++;
    recent->v[recent->n++] = (struct entry){ in, n };
    if (fresh) {
      corpus_add(in, n);
      if (new_dir) {
        cleanup_free char *path = xasprintf("%s/new-%" PRIu64 "-%" PRIu64, new_dir, seed, execs);
        write_input(path, in, n);
      }
    }
    if (recent->n == LEAK_EVERY) {
      if (__lsan_do_recoverable_leak_check()) {
        find_leak(recent, fz.self, crash_abs ? crash_abs : crash_dir, seed);
        _exit(1);
      }
      recent_clear(recent);
    }
    int64_t now = time_mono_ns();
    if (now >= next_stats) {
      fprintf(stderr, "fuzz-decode: %" PRIu64 " inputs, %zu in corpus, %zu edges, %.0f/s\n", execs,
              fz.n_corpus, fz.n_edges, execs / ((now - start) / 1e9));
      next_stats = now + STATS_EVERY * 1000000000LL;
    }
  }
  if (__lsan_do_recoverable_leak_check()) {
    find_leak(recent, fz.self, crash_abs ? crash_abs : crash_dir, seed);
    _exit(1); /* the heap is still full of the run: spare LSan's exit report */
  }
  recent_clear(recent);
  free(recent);
  free(buf);
  double secs = (time_mono_ns() - start) / 1e9;
  fprintf(stderr,
          "fuzz-decode: seed %" PRIu64 ": %zu seeds and %" PRIu64
          " mutants in %.1f s, %zu inputs in corpus, %zu edges, no crash, no leak\n",
          seed, fz.n_seeds, execs, secs, fz.n_corpus, fz.n_edges);
  for (size_t i = 0; i < fz.n_corpus; i++)
    free(fz.corpus[i].data);
  return 0;
}
