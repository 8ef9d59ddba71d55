/* fields.c — field selectors (?fieldSelector=metadata.name=web,spec.nodeName=n).
 *
 * Kubernetes lets each kind declare which fields may be selected on; anything
 * else is refused with "field label not supported: X" (a 400), and kubectl
 * depends on the supported ones actually filtering: `kubectl delete` waits on
 * a metadata.name= watch and hangs if the selector is ignored. The table below
 * is that declaration, by kind: a row maps a field label to where its value
 * lives in the object (usually the same path; "source" on events is
 * source.component). New kinds add rows.
 *
 * Parsing follows k8s.io/apimachinery pkg/fields: terms split on unescaped
 * commas, the first "!=", "==" or "=" splits a term, values unescape \\ \, \=.
 */
#include "api/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct field_row {
  const char *kind; /* NULL: every kind */
  const char *label;
  const char *path;    /* NULL: same as label */
  const char *missing; /* the value when the field is absent; NULL: "" */
} field_row_t;

static const field_row_t field_table[] = {
  { NULL, "metadata.name", NULL, NULL },
  { NULL, "metadata.namespace", NULL, NULL },
  { "Pod", "spec.nodeName", NULL, NULL },
  { "Pod", "spec.restartPolicy", NULL, NULL },
  { "Pod", "spec.schedulerName", NULL, NULL },
  { "Pod", "spec.serviceAccountName", NULL, NULL },
  { "Pod", "spec.hostNetwork", NULL, NULL },
  { "Pod", "status.phase", NULL, NULL },
  { "Pod", "status.podIP", NULL, NULL },
  { "Pod", "status.nominatedNodeName", NULL, NULL },
  { "Event", "involvedObject.kind", NULL, NULL },
  { "Event", "involvedObject.namespace", NULL, NULL },
  { "Event", "involvedObject.name", NULL, NULL },
  { "Event", "involvedObject.uid", NULL, NULL },
  { "Event", "involvedObject.apiVersion", NULL, NULL },
  { "Event", "involvedObject.resourceVersion", NULL, NULL },
  { "Event", "involvedObject.fieldPath", NULL, NULL },
  { "Event", "reason", NULL, NULL },
  { "Event", "reportingComponent", NULL, NULL },
  { "Event", "source", "source.component", NULL },
  { "Event", "type", NULL, NULL },
  { "Secret", "type", NULL, NULL },
  { "Namespace", "status.phase", NULL, NULL },
  { "Node", "spec.unschedulable", NULL, NULL },
  { "ReplicaSet", "status.replicas", NULL, NULL },
  { "ReplicationController", "status.replicas", NULL, NULL },
  /* a Job's succeeded count (omitted while 0) */
  { "Job", "status.successful", "status.succeeded", "0" },
};

static const field_row_t *find_field(const char *kind, const char *label)
{
  for (size_t i = 0; i < ARRAY_SIZE(field_table); i++) {
    const field_row_t *r = &field_table[i];
    if (strcmp(r->label, label) == 0 && (!r->kind || (kind && strcmp(r->kind, kind) == 0)))
      return r;
  }
  return NULL;
}

void api_field_selector_free(api_field_selector_t *sel)
{
  if (!sel)
    return;
  for (size_t i = 0; i < sel->n; i++) {
    free(sel->reqs[i].field);
    free(sel->reqs[i].path);
    free(sel->reqs[i].value);
  }
  free(sel->reqs);
  free(sel);
}

static int unescape(const char *s, size_t n, char **out, berr_t *err)
{
  buf_t b = { 0 };
  buf_puts(&b, "");
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '\\') {
      if (i + 1 >= n) {
        buf_free(&b);
        return berr_setc(err, EINVAL, "invalid field selector: invalid escape sequence: \\");
      }
      char e = s[++i];
      if (e != '\\' && e != ',' && e != '=') {
        buf_free(&b);
        return berr_setc(err, EINVAL, "invalid field selector: invalid escape sequence: \\%c", e);
      }
      buf_append(&b, &e, 1);
    } else if (c == ',' || c == '=') {
      buf_free(&b);
      return berr_setc(err, EINVAL, "invalid field selector: unescaped character in value: '%c'",
                       c);
    } else {
      buf_append(&b, &c, 1);
    }
  }
  *out = buf_steal(&b);
  return 0;
}

static int parse_term(api_field_selector_t *sel, const char *whole, const char *t, size_t n,
                      const char *kind, berr_t *err)
{
  size_t i, oplen = 0;
  bool negate = false;
  for (i = 0; i < n; i++) {
    if (i + 1 < n && t[i] == '!' && t[i + 1] == '=') {
      negate = true, oplen = 2;
      break;
    }
    if (i + 1 < n && t[i] == '=' && t[i + 1] == '=') {
      oplen = 2;
      break;
    }
    if (t[i] == '=') {
      oplen = 1;
      break;
    }
  }
  if (oplen == 0)
    return berr_setc(err, EINVAL, "invalid selector: '%s'; can't understand '%.*s'", whole, (int)n,
                     t);
  cleanup_free char *label = xstrndup(t, i);
  const char *path = label, *missing = NULL;
  if (kind) {
    const field_row_t *row = find_field(kind, label);
    if (!row)
      return berr_setc(err, EINVAL, "field label not supported: %s", label);
    if (row->path)
      path = row->path;
    missing = row->missing;
  } else if (!label[0]) {
    return berr_setc(err, EINVAL, "invalid selector: '%s'; can't understand '%.*s'", whole, (int)n,
                     t);
  }
  char *value = NULL;
  if (unescape(t + i + oplen, n - i - oplen, &value, err) < 0)
    return -1;
  sel->reqs = xrealloc(sel->reqs, (sel->n + 1) * sizeof *sel->reqs);
  sel->reqs[sel->n++] = (api_field_req_t){ xstrdup(label), xstrdup(path), negate, value, missing };
  return 0;
}

int api_field_selector_parse(const char *s, const char *kind, api_field_selector_t **out,
                             berr_t *err)
{
  *out = NULL;
  api_field_selector_t *sel = xcalloc(1, sizeof *sel);
  size_t len = strlen(s), start = 0;
  bool slash = false;
  for (size_t i = 0; i <= len; i++) {
    if (i < len && slash) {
      slash = false;
      continue;
    }
    if (i < len && s[i] == '\\') {
      slash = true;
      continue;
    }
    if (i < len && s[i] != ',')
      continue;
    if (i > start && parse_term(sel, s, s + start, i - start, kind, err) < 0) {
      api_field_selector_free(sel);
      return -1;
    }
    start = i + 1;
  }
  *out = sel;
  return 0;
}

/* The object's value at a dotted path, as the field set Kubernetes builds
 * would hold it. Writes into *tmp when it has to format a number. */
static const char *value_at(json_t *obj, const char *path, const char *missing, char *tmp,
                            size_t tmplen)
{
  json_t *cur = obj;
  const char *p = path;
  while (cur && *p) {
    const char *dot = strchr(p, '.');
    size_t n = dot ? (size_t)(dot - p) : strlen(p);
    cur = json_is_object(cur) ? json_object_getn(cur, p, n) : NULL;
    p = dot ? dot + 1 : p + n;
  }
  if (json_is_string(cur))
    return json_string_value(cur);
  if (json_is_boolean(cur))
    return json_is_true(cur) ? "true" : "false";
  if (json_is_integer(cur)) {
    snprintf(tmp, tmplen, "%" JSON_INTEGER_FORMAT, json_integer_value(cur));
    return tmp;
  }
  return !cur && missing ? missing : "";
}

bool api_field_selector_matches(const api_field_selector_t *sel, json_t *obj)
{
  for (size_t i = 0; sel && i < sel->n; i++) {
    char tmp[32];
    const char *v = value_at(obj, sel->reqs[i].path, sel->reqs[i].missing, tmp, sizeof tmp);
    bool eq = strcmp(v, sel->reqs[i].value) == 0;
    if (eq == sel->reqs[i].negate)
      return false;
  }
  return true;
}

const char *api_field_selector_equals(const api_field_selector_t *sel, const char *field)
{
  for (size_t i = 0; sel && i < sel->n; i++)
    if (!sel->reqs[i].negate && strcmp(sel->reqs[i].field, field) == 0)
      return sel->reqs[i].value;
  return NULL;
}
