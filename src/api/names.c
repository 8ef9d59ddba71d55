/* names.c — object names, label keys and values, annotations, generateName.
 *
 * The rules and the wording are Kubernetes' (k8s.io/apimachinery
 * pkg/util/validation): users and scripts match on these messages, and a name
 * kubectl accepts against a real cluster must be accepted here too. The regular
 * expressions are checked by hand — they are all "alphanumerics, some
 * punctuation inside" — but the messages still quote them, as Kubernetes does.
 */
#include "api/internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define DNS1123_LABEL_FMT     "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
#define DNS1123_SUBDOMAIN_FMT DNS1123_LABEL_FMT "(\\." DNS1123_LABEL_FMT ")*"
#define DNS1035_LABEL_FMT     "[a-z]([-a-z0-9]*[a-z0-9])?"
#define LABEL_KEY_FMT         "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
#define LABEL_VALUE_FMT       "(" LABEL_KEY_FMT ")?"
#define CONFIG_MAP_KEY_FMT    "[-._a-zA-Z0-9]+"

#define DNS1123_LABEL_MSG                                                                          \
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "     \
  "must start and end with an alphanumeric character"
#define DNS1123_SUBDOMAIN_MSG                                                                      \
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "     \
  "'.', and must start and end with an alphanumeric character"
#define DNS1035_LABEL_MSG                                                                          \
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "     \
  "alphabetic character, and end with an alphanumeric character"
#define LABEL_KEY_MSG                                                                              \
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "      \
  "alphanumeric character"
#define LABEL_VALUE_MSG                                                                            \
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', " \
  "and must start and end with an alphanumeric character"
#define CONFIG_MAP_KEY_MSG                                                                         \
  "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"

/* Kubernetes' RegexError, including its double space before " or". */
static char *regex_error(const char *msg, const char *fmt, const char *const *examples)
{
  buf_t b = { 0 };
  buf_puts(&b, msg);
  if (!examples || !examples[0]) {
    buf_printf(&b, " (regex used for validation is '%s')", fmt);
    return buf_steal(&b);
  }
  buf_puts(&b, " (e.g. ");
  for (size_t i = 0; examples[i]; i++) {
    if (i > 0)
      buf_puts(&b, " or ");
    buf_printf(&b, "'%s', ", examples[i]);
  }
  buf_printf(&b, "regex used for validation is '%s')", fmt);
  return buf_steal(&b);
}

static void why_push(char ***why, char *msg)
{
  if (why)
    strv_push(why, msg);
  free(msg);
}

static void why_push_regex(char ***why, const char *prefix, const char *msg, const char *fmt,
                           const char *const *examples)
{
  if (!why)
    return;
  cleanup_free char *r = regex_error(msg, fmt, examples);
  why_push(why, xasprintf("%s%s", prefix, r));
}

static bool is_lower_alnum(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
  return isascii((unsigned char)c) && isalnum((unsigned char)c);
}

/* [a-z0-9]([-a-z0-9]*[a-z0-9])? over s[0..n) */
static bool match_dns_label(const char *s, size_t n)
{
  if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
    return false;
  for (size_t i = 0; i < n; i++)
    if (!is_lower_alnum(s[i]) && s[i] != '-')
      return false;
  return true;
}

static bool match_dns_subdomain(const char *s)
{
  const char *p = s;
  for (;;) {
    const char *dot = strchr(p, '.');
    size_t n = dot ? (size_t)(dot - p) : strlen(p);
    if (!match_dns_label(p, n))
      return false;
    if (!dot)
      return true;
    p = dot + 1;
  }
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] over s[0..n) */
static bool match_label_name(const char *s, size_t n)
{
  if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
    return false;
  for (size_t i = 0; i < n; i++)
    if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
      return false;
  return true;
}

bool api_is_dns1123_label(const char *s, char ***why)
{
  static const char *const ex[] = { "my-name", "123-abc", NULL };
  size_t n = strlen(s);
  bool ok = true;
  if (n > API_DNS1123_LABEL_MAX) {
    why_push(why, xasprintf("must be no more than %d characters", API_DNS1123_LABEL_MAX));
    ok = false;
  }
  if (!match_dns_label(s, n)) {
    if (match_dns_subdomain(s))
      why_push(why, xstrdup("must not contain dots"));
    else
      why_push_regex(why, "", DNS1123_LABEL_MSG, DNS1123_LABEL_FMT, ex);
    ok = false;
  }
  return ok;
}

bool api_is_dns1123_subdomain(const char *s, char ***why)
{
  static const char *const ex[] = { "example.com", NULL };
  bool ok = true;
  if (strlen(s) > API_DNS1123_SUBDOMAIN_MAX) {
    why_push(why, xasprintf("must be no more than %d characters", API_DNS1123_SUBDOMAIN_MAX));
    ok = false;
  }
  if (!match_dns_subdomain(s)) {
    why_push_regex(why, "", DNS1123_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, ex);
    ok = false;
  }
  return ok;
}

bool api_is_dns1035_label(const char *s, char ***why)
{
  static const char *const ex[] = { "my-name", "abc-123", NULL };
  size_t n = strlen(s);
  bool ok = true;
  if (n > API_DNS1123_LABEL_MAX) {
    why_push(why, xasprintf("must be no more than %d characters", API_DNS1123_LABEL_MAX));
    ok = false;
  }
  if (!match_dns_label(s, n) || !(s[0] >= 'a' && s[0] <= 'z')) {
    why_push_regex(why, "", DNS1035_LABEL_MSG, DNS1035_LABEL_FMT, ex);
    ok = false;
  }
  return ok;
}

bool api_is_label_key(const char *s, char ***why)
{
  static const char *const ex[] = { "MyName", "my.name", "123-abc", NULL };
  const char *slash = strchr(s, '/');
  const char *name = s;
  bool ok = true;
  if (slash && strchr(slash + 1, '/')) {
    if (why) {
      cleanup_free char *r = regex_error(LABEL_KEY_MSG, LABEL_KEY_FMT, ex);
      why_push(why, xasprintf("a valid label key %s with an optional DNS subdomain prefix and "
                              "'/' (e.g. 'example.com/MyName')",
                              r));
    }
    return false;
  }
  if (slash) {
    cleanup_free char *prefix = xstrndup(s, (size_t)(slash - s));
    name = slash + 1;
    if (!prefix[0]) {
      why_push(why, xstrdup("prefix part must be non-empty"));
      ok = false;
    } else {
      cleanup_strv char **sub = NULL;
      if (!api_is_dns1123_subdomain(prefix, &sub)) {
        for (size_t i = 0; sub[i]; i++)
          why_push(why, xasprintf("prefix part %s", sub[i]));
        ok = false;
      }
    }
  }
  size_t n = strlen(name);
  if (n == 0) {
    why_push(why, xstrdup("name part must be non-empty"));
    ok = false;
  } else if (n > API_LABEL_VALUE_MAX) {
    why_push(why, xasprintf("name part must be no more than %d characters", API_LABEL_VALUE_MAX));
    ok = false;
  }
  if (!match_label_name(name, n)) {
    why_push_regex(why, "name part ", LABEL_KEY_MSG, LABEL_KEY_FMT, ex);
    ok = false;
  }
  return ok;
}

bool api_is_label_value(const char *s, char ***why)
{
  static const char *const ex[] = { "MyValue", "my_value", "12345", NULL };
  size_t n = strlen(s);
  bool ok = true;
  if (n > API_LABEL_VALUE_MAX) {
    why_push(why, xasprintf("must be no more than %d characters", API_LABEL_VALUE_MAX));
    ok = false;
  }
  if (n > 0 && !match_label_name(s, n)) {
    why_push_regex(why, "", LABEL_VALUE_MSG, LABEL_VALUE_FMT, ex);
    ok = false;
  }
  return ok;
}

bool api_is_config_map_key(const char *s, char ***why)
{
  static const char *const ex[] = { "key.name", "KEY_NAME", "key-name", NULL };
  size_t n = strlen(s);
  bool ok = true;
  if (n > API_DNS1123_SUBDOMAIN_MAX) {
    why_push(why, xasprintf("must be no more than %d characters", API_DNS1123_SUBDOMAIN_MAX));
    ok = false;
  }
  bool chars = n > 0;
  for (size_t i = 0; i < n; i++)
    chars = chars && (is_alnum(s[i]) || s[i] == '-' || s[i] == '_' || s[i] == '.');
  if (!chars) {
    why_push_regex(why, "", CONFIG_MAP_KEY_MSG, CONFIG_MAP_KEY_FMT, ex);
    ok = false;
  }
  if (strcmp(s, ".") == 0) {
    why_push(why, xstrdup("must not be '.'"));
    ok = false;
  } else if (strcmp(s, "..") == 0) {
    why_push(why, xstrdup("must not be '..'"));
    ok = false;
  } else if (str_has_prefix(s, "..")) {
    why_push(why, xstrdup("must not start with '..'"));
    ok = false;
  }
  return ok;
}

/* ---- validation into field errors --------------------------------------- */

static void add_each(api_errors_t *errs, const char *field, const char *value, char **why)
{
  for (size_t i = 0; why && why[i]; i++)
    api_errors_add_str(errs, API_FERR_INVALID, field, value, "%s", why[i]);
}

void api_validate_name(api_errors_t *errs, const char *field, const char *name,
                       api_name_rule_t rule, bool prefix)
{
  /* A generateName gets a random suffix, so a trailing '-' is fine: check it
   * as if that character were a letter. */
  cleanup_free char *masked = xstrdup(name);
  size_t n = strlen(masked);
  if (prefix && n > 1 && masked[n - 1] == '-')
    masked[n - 1] = 'a';
  cleanup_strv char **why = NULL;
  switch (rule) {
  case API_NAME_DNS_SUBDOMAIN:
    api_is_dns1123_subdomain(masked, &why);
    break;
  case API_NAME_DNS_LABEL:
    api_is_dns1123_label(masked, &why);
    break;
  case API_NAME_DNS1035_LABEL:
    api_is_dns1035_label(masked, &why);
    break;
  }
  add_each(errs, field, name, why);
}

void api_validate_labels(api_errors_t *errs, const char *field, json_t *labels)
{
  if (!labels || json_is_null(labels))
    return;
  if (!json_is_object(labels)) {
    api_errors_add(errs, API_FERR_INVALID, field, labels, "must be a map of strings");
    return;
  }
  const char *k;
  json_t *v;
  json_object_foreach(labels, k, v)
  {
    cleanup_strv char **why = NULL;
    api_is_label_key(k, &why);
    add_each(errs, field, k, why);
    if (!json_is_string(v)) {
      api_errors_add(errs, API_FERR_INVALID, field, v, "label values must be strings");
      continue;
    }
    cleanup_strv char **vwhy = NULL;
    api_is_label_value(json_string_value(v), &vwhy);
    add_each(errs, field, json_string_value(v), vwhy);
  }
}

void api_validate_annotations(api_errors_t *errs, const char *field, json_t *annotations)
{
  if (!annotations || json_is_null(annotations))
    return;
  if (!json_is_object(annotations)) {
    api_errors_add(errs, API_FERR_INVALID, field, annotations, "must be a map of strings");
    return;
  }
  const char *k;
  json_t *v;
  size_t total = 0;
  json_object_foreach(annotations, k, v)
  {
    /* Annotation keys are label keys in which case does not matter. */
    cleanup_free char *lower = xstrdup(k);
    for (char *p = lower; *p; p++)
      *p = (char)tolower((unsigned char)*p);
    cleanup_strv char **why = NULL;
    api_is_label_key(lower, &why);
    add_each(errs, field, k, why);
    if (!json_is_string(v)) {
      api_errors_add(errs, API_FERR_INVALID, field, v, "annotation values must be strings");
      continue;
    }
    total += strlen(k) + json_string_length(v);
  }
  if (total > API_ANNOTATIONS_MAX_BYTES)
    api_errors_add(errs, API_FERR_TOO_LONG, field, NULL, "may not be more than %d bytes",
                   API_ANNOTATIONS_MAX_BYTES);
}

static const char *meta_str(api_errors_t *errs, json_t *meta, const char *key, const char *field)
{
  json_t *v = json_object_get(meta, key);
  if (!v || json_is_null(v))
    return "";
  if (!json_is_string(v)) {
    cleanup_free char *f = xasprintf("%s.%s", field, key);
    api_errors_add(errs, API_FERR_INVALID, f, v, "must be a string");
    return NULL;
  }
  return json_string_value(v);
}

void api_validate_object_meta(api_errors_t *errs, const char *field, json_t *meta,
                              api_name_rule_t rule, bool namespaced)
{
  cleanup_free char *f_name = xasprintf("%s.name", field);
  cleanup_free char *f_gen = xasprintf("%s.generateName", field);
  cleanup_free char *f_ns = xasprintf("%s.namespace", field);
  cleanup_free char *f_labels = xasprintf("%s.labels", field);
  cleanup_free char *f_annos = xasprintf("%s.annotations", field);
  cleanup_free char *f_fin = xasprintf("%s.finalizers", field);
  cleanup_free char *f_generation = xasprintf("%s.generation", field);

  if (!json_is_object(meta)) {
    api_errors_add(errs, API_FERR_REQUIRED, f_name, NULL, "name or generateName is required");
    return;
  }
  const char *gen = meta_str(errs, meta, "generateName", field);
  if (gen && gen[0])
    api_validate_name(errs, f_gen, gen, rule, true);
  const char *name = meta_str(errs, meta, "name", field);
  if (name && !name[0])
    api_errors_add(errs, API_FERR_REQUIRED, f_name, NULL, "name or generateName is required");
  else if (name)
    api_validate_name(errs, f_name, name, rule, false);

  const char *ns = meta_str(errs, meta, "namespace", field);
  if (ns && namespaced) {
    if (!ns[0])
      api_errors_add(errs, API_FERR_REQUIRED, f_ns, NULL, "%s", "");
    else
      api_validate_name(errs, f_ns, ns, API_NAME_DNS_LABEL, false);
  } else if (ns && ns[0]) {
    api_errors_add(errs, API_FERR_FORBIDDEN, f_ns, NULL, "not allowed on this type");
  }

  json_t *generation = json_object_get(meta, "generation");
  if (json_is_integer(generation) && json_integer_value(generation) < 0)
    api_errors_add(errs, API_FERR_INVALID, f_generation, generation,
                   "must be greater than or equal to 0");

  api_validate_labels(errs, f_labels, json_object_get(meta, "labels"));
  api_validate_annotations(errs, f_annos, json_object_get(meta, "annotations"));

  json_t *fins = json_object_get(meta, "finalizers");
  if (fins && !json_is_null(fins)) {
    size_t i;
    json_t *fin;
    if (!json_is_array(fins))
      api_errors_add(errs, API_FERR_INVALID, f_fin, fins, "must be a list of strings");
    json_array_foreach(fins, i, fin)
    {
      if (!json_is_string(fin)) {
        api_errors_add(errs, API_FERR_INVALID, f_fin, fin, "must be a string");
        continue;
      }
      cleanup_strv char **why = NULL;
      api_is_label_key(json_string_value(fin), &why);
      add_each(errs, f_fin, json_string_value(fin), why);
    }
  }
}

/* ---- generateName ------------------------------------------------------- */

char *api_generate_name(const char *base)
{
  /* Kubernetes' utilrand alphabet: no vowels (no accidental words), no
   * look-alikes (0, 1, 3). */
  static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  const size_t nalpha = sizeof alphabet - 1;
  size_t blen = strnlen(base, API_GENERATE_BASE_MAX);
  char *out = xmalloc(blen + API_GENERATE_RANDOM_LEN + 1);
  memcpy(out, base, blen);
  size_t got = 0;
  while (got < API_GENERATE_RANDOM_LEN) {
    unsigned char rnd[16];
    ssize_t r = getrandom(rnd, sizeof rnd, 0);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      abort(); /* getrandom cannot fail on Linux >= 3.17 with these flags */
    for (ssize_t i = 0; i < r && got < API_GENERATE_RANDOM_LEN; i++) {
      /* rejection sampling keeps every character equally likely */
      if (rnd[i] >= 256 - 256 % nalpha)
        continue;
      out[blen + got++] = alphabet[rnd[i] % nalpha];
    }
  }
  out[blen + API_GENERATE_RANDOM_LEN] = '\0';
  return out;
}
