/* errors.c — field error lists in Kubernetes' shape.
 *
 * Validation does not stop at the first problem: it collects every field
 * error, and the server answers with all of them, as the Kubernetes API server
 * does (a 422 Status whose message is "[err1, err2]" and whose
 * details.causes carry one entry per error). The text of each error follows
 * k8s.io/apimachinery's field.Error so that messages read the same as from a
 * real cluster: `metadata.name: Invalid value: "Web_1": a lowercase …`.
 */
#include "api/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *type_label(api_ferr_type_t t)
{
  switch (t) {
  case API_FERR_REQUIRED:
    return "Required value";
  case API_FERR_INVALID:
    return "Invalid value";
  case API_FERR_NOT_SUPPORTED:
    return "Unsupported value";
  case API_FERR_FORBIDDEN:
    return "Forbidden";
  case API_FERR_TOO_LONG:
    return "Too long";
  case API_FERR_DUPLICATE:
    return "Duplicate value";
  case API_FERR_INTERNAL:
    return "Internal error";
  }
  return "Invalid value";
}

const char *api_ferr_reason(api_ferr_type_t t)
{
  switch (t) {
  case API_FERR_REQUIRED:
    return "FieldValueRequired";
  case API_FERR_INVALID:
    return "FieldValueInvalid";
  case API_FERR_NOT_SUPPORTED:
    return "FieldValueNotSupported";
  case API_FERR_FORBIDDEN:
    return "FieldValueForbidden";
  case API_FERR_TOO_LONG:
    return "FieldValueTooLong";
  case API_FERR_DUPLICATE:
    return "FieldValueDuplicate";
  case API_FERR_INTERNAL:
    return "InternalError";
  }
  return "FieldValueInvalid";
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
  size_t len;
  uint32_t cp;
  if (s[0] < 0x80)
    return 1;
  if ((s[0] & 0xe0) == 0xc0) {
    len = 2;
    cp = s[0] & 0x1f;
  } else if ((s[0] & 0xf0) == 0xe0) {
    len = 3;
    cp = s[0] & 0x0f;
  } else if ((s[0] & 0xf8) == 0xf0) {
    len = 4;
    cp = s[0] & 0x07;
  } else {
    return 0;
  }
  if (len > n)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)
      || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return len;
}

bool api_utf8_valid(const char *s, size_t n)
{
  const unsigned char *p = (const unsigned char *)s;
  for (size_t i = 0; i < n;) {
    if (p[i] == 0)
      return false;
    size_t l = utf8_len(p + i, n - i);
    if (l == 0)
      return false;
    i += l;
  }
  return true;
}

char *api_go_quote(const char *s, size_t len)
{
  buf_t b = { 0 };
  const unsigned char *p = (const unsigned char *)s;
  buf_puts(&b, "\"");
  for (size_t i = 0; i < len;) {
    unsigned char c = p[i];
    switch (c) {
    case '"':
      buf_puts(&b, "\\\"");
      break;
    case '\\':
      buf_puts(&b, "\\\\");
      break;
    case '\a':
      buf_puts(&b, "\\a");
      break;
    case '\b':
      buf_puts(&b, "\\b");
      break;
    case '\f':
      buf_puts(&b, "\\f");
      break;
    case '\n':
      buf_puts(&b, "\\n");
      break;
    case '\r':
      buf_puts(&b, "\\r");
      break;
    case '\t':
      buf_puts(&b, "\\t");
      break;
    case '\v':
      buf_puts(&b, "\\v");
      break;
    default:
      if (c < 0x20 || c == 0x7f) {
        buf_printf(&b, "\\x%02x", c);
      } else if (c >= 0x80) {
        size_t n = utf8_len(p + i, len - i);
        if (n == 0) {
          buf_printf(&b, "\\x%02x", c);
        } else {
          buf_append(&b, p + i, n);
          i += n;
          continue;
        }
      } else {
        buf_append(&b, &c, 1);
      }
    }
    i++;
  }
  buf_puts(&b, "\"");
  return buf_steal(&b);
}

/* The bad value as Go's field.Error prints it: strings quoted, numbers and
 * booleans plain, anything else as compact JSON. */
static char *render_value(json_t *v)
{
  if (json_is_string(v))
    return api_go_quote(json_string_value(v), json_string_length(v));
  if (json_is_integer(v))
    return xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
  if (json_is_real(v))
    return xasprintf("%g", json_real_value(v));
  if (json_is_boolean(v))
    return xstrdup(json_is_true(v) ? "true" : "false");
  char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
  return s ? s : xstrdup("null");
}

static api_field_error_t *push(api_errors_t *errs, api_ferr_type_t type, const char *field)
{
  if (errs->n == errs->cap) {
    errs->cap = errs->cap ? errs->cap * 2 : 4;
    errs->v = xrealloc(errs->v, errs->cap * sizeof *errs->v);
  }
  api_field_error_t *e = &errs->v[errs->n++];
  e->type = type;
  e->field = xstrdup(field ? field : "");
  e->value = NULL;
  e->detail = NULL;
  return e;
}

void api_errors_add(api_errors_t *errs, api_ferr_type_t type, const char *field, json_t *value,
                    const char *fmt, ...)
{
  api_field_error_t *e = push(errs, type, field);
  if (value)
    e->value = render_value(value);
  va_list ap;
  va_start(ap, fmt);
  e->detail = xvasprintf(fmt, ap);
  va_end(ap);
}

void api_errors_add_str(api_errors_t *errs, api_ferr_type_t type, const char *field,
                        const char *value, const char *fmt, ...)
{
  api_field_error_t *e = push(errs, type, field);
  if (value)
    e->value = api_go_quote(value, strlen(value));
  va_list ap;
  va_start(ap, fmt);
  e->detail = xvasprintf(fmt, ap);
  va_end(ap);
}

void api_errors_free(api_errors_t *errs)
{
  for (size_t i = 0; i < errs->n; i++) {
    free(errs->v[i].field);
    free(errs->v[i].value);
    free(errs->v[i].detail);
  }
  free(errs->v);
  errs->v = NULL;
  errs->n = errs->cap = 0;
}

char *api_field_error_body(const api_field_error_t *e)
{
  buf_t b = { 0 };
  buf_puts(&b, type_label(e->type));
  /* Like field.Error: the value is shown only for the kinds that carry one. */
  bool show = e->type == API_FERR_INVALID || e->type == API_FERR_NOT_SUPPORTED
              || e->type == API_FERR_DUPLICATE;
  if (show && e->value)
    buf_printf(&b, ": %s", e->value);
  if (e->detail && e->detail[0])
    buf_printf(&b, ": %s", e->detail);
  return buf_steal(&b);
}

static char *field_error_string(const api_field_error_t *e)
{
  cleanup_free char *body = api_field_error_body(e);
  return xasprintf("%s: %s", e->field, body);
}

char *api_errors_string(const api_errors_t *errs)
{
  if (errs->n == 0)
    return xstrdup("");
  cleanup_strv char **seen = NULL;
  buf_t b = { 0 };
  for (size_t i = 0; i < errs->n; i++) {
    char *s = field_error_string(&errs->v[i]);
    bool dup = false;
    for (size_t j = 0; seen && seen[j]; j++)
      dup = dup || strcmp(seen[j], s) == 0;
    if (!dup) {
      if (seen)
        buf_puts(&b, ", ");
      buf_puts(&b, s);
      strv_push(&seen, s);
    }
    free(s);
  }
  if (strv_len(seen) == 1)
    return buf_steal(&b);
  char *out = xasprintf("[%s]", b.data);
  buf_free(&b);
  return out;
}

int api_errors_to_berr(const api_errors_t *errs, berr_t *err)
{
  if (errs->n == 0)
    return 0;
  cleanup_free char *s = api_errors_string(errs);
  return berr_setc(err, EINVAL, "%s", s);
}

json_t *api_errors_causes(const api_errors_t *errs)
{
  json_t *a = json_array();
  for (size_t i = 0; i < errs->n; i++) {
    char *body = api_field_error_body(&errs->v[i]);
    json_array_append_new(a,
                          json_pack("{s:s, s:s, s:s}", "reason", api_ferr_reason(errs->v[i].type),
                                    "message", body, "field", errs->v[i].field));
    free(body);
  }
  return a;
}
