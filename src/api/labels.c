/* labels.c — label selectors: the string form of ?labelSelector= and the
 * structured form of spec.selector (matchLabels + matchExpressions).
 *
 * The string parser follows k8s.io/apimachinery pkg/labels token for token
 * (a lexer, then a recursive descent with one token of look-ahead), including
 * its quirks that users rely on: "in" and "notin" are ordinary words in value
 * position, "x in ()" selects the empty value, a bare key means "exists".
 * Both forms end up as the same sorted list of requirements, so matching and
 * printing do not care where a selector came from.
 */
#include "api/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- requirements -------------------------------------------------------- */

static int cmp_req(const void *a, const void *b)
{
  return strcmp(((const api_label_req_t *)a)->key, ((const api_label_req_t *)b)->key);
}

static bool parse_int64_str(const char *s, int64_t *out)
{
  char *end;
  if (!*s)
    return false;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || *end)
    return false;
  *out = v;
  return true;
}

/* Validates and appends a requirement (Kubernetes' NewRequirement); takes
 * ownership of values. */
static int add_req(api_label_selector_t *sel, const char *key, api_sel_op_t op, char **values,
                   berr_t *err)
{
  api_errors_t errs = API_ERRORS_INIT;
  cleanup_strv char **why = NULL;
  if (!api_is_label_key(key, &why)) {
    cleanup_free char *joined = NULL;
    buf_t b = { 0 };
    for (size_t i = 0; why[i]; i++)
      buf_printf(&b, "%s%s", i ? "; " : "", why[i]);
    joined = buf_steal(&b);
    api_errors_add_str(&errs, API_FERR_INVALID, "key", key, "%s", joined);
  }
  size_t nv = strv_len(values);
  json_t *vals = strv_to_json(values);
  switch (op) {
  case API_SEL_IN:
  case API_SEL_NOT_IN:
    if (nv == 0)
      api_errors_add(&errs, API_FERR_INVALID, "values", vals,
                     "for 'in', 'notin' operators, values set can't be empty");
    break;
  case API_SEL_EQUALS:
  case API_SEL_NOT_EQUALS:
    if (nv != 1)
      api_errors_add(&errs, API_FERR_INVALID, "values", vals,
                     "exact-match compatibility requires one single value");
    break;
  case API_SEL_EXISTS:
  case API_SEL_DOES_NOT_EXIST:
    if (nv != 0)
      api_errors_add(&errs, API_FERR_INVALID, "values", vals,
                     "values set must be empty for exists and does not exist");
    break;
  case API_SEL_GT:
  case API_SEL_LT: {
    int64_t dummy;
    if (nv != 1)
      api_errors_add(&errs, API_FERR_INVALID, "values", vals,
                     "for 'Gt', 'Lt' operators, exactly one value is required");
    for (size_t i = 0; i < nv; i++)
      if (!parse_int64_str(values[i], &dummy)) {
        cleanup_free char *f = xasprintf("values[%zu]", i);
        api_errors_add_str(&errs, API_FERR_INVALID, f, values[i],
                           "for 'Gt', 'Lt' operators, the value must be an integer");
      }
    break;
  }
  }
  json_decref(vals);
  for (size_t i = 0; i < nv; i++) {
    cleanup_strv char **vwhy = NULL;
    if (api_is_label_value(values[i], &vwhy))
      continue;
    buf_t b = { 0 };
    for (size_t j = 0; vwhy[j]; j++)
      buf_printf(&b, "%s%s", j ? "; " : "", vwhy[j]);
    cleanup_free char *joined = buf_steal(&b);
    cleanup_free char *f = xasprintf("values[%zu][%s]", i, key);
    api_errors_add_str(&errs, API_FERR_INVALID, f, values[i], "%s", joined);
  }
  if (errs.n) {
    api_errors_to_berr(&errs, err);
    api_errors_free(&errs);
    strv_free(values);
    return -1;
  }
  strv_sort_unique(values);
  sel->reqs = xrealloc(sel->reqs, (sel->n + 1) * sizeof *sel->reqs);
  sel->reqs[sel->n++]
      = (api_label_req_t){ xstrdup(key), op, values ? values : xcalloc(1, sizeof(char *)) };
  return 0;
}

void api_label_selector_free(api_label_selector_t *sel)
{
  if (!sel)
    return;
  for (size_t i = 0; i < sel->n; i++) {
    free(sel->reqs[i].key);
    strv_free(sel->reqs[i].values);
  }
  free(sel->reqs);
  free(sel);
}

static void sort_reqs(api_label_selector_t *sel)
{
  if (sel->n > 1) {
    /* stable by key: insertion sort keeps equal keys in written order */
    for (size_t i = 1; i < sel->n; i++) {
      api_label_req_t r = sel->reqs[i];
      size_t j = i;
      while (j > 0 && cmp_req(&sel->reqs[j - 1], &r) > 0) {
        sel->reqs[j] = sel->reqs[j - 1];
        j--;
      }
      sel->reqs[j] = r;
    }
  }
}

/* ---- the string form ------------------------------------------------------ */

typedef enum tok {
  T_ERROR,
  T_END,
  T_CLOSE,
  T_COMMA,
  T_NOT,
  T_DEQ,
  T_EQ,
  T_GT,
  T_ID,
  T_IN,
  T_LT,
  T_NEQ,
  T_NOTIN,
  T_OPEN,
} tok_t;

typedef struct item {
  tok_t tok;
  char *lit;
} item_t;

static bool is_space(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_special(char c)
{
  return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '>' || c == '<';
}

static tok_t symbol_token(const char *s, size_t n)
{
  static const struct {
    const char *s;
    tok_t t;
  } syms[] = { { ")", T_CLOSE }, { ",", T_COMMA }, { "!", T_NOT },  { "==", T_DEQ }, { "=", T_EQ },
               { ">", T_GT },    { "<", T_LT },    { "!=", T_NEQ }, { "(", T_OPEN } };
  for (size_t i = 0; i < ARRAY_SIZE(syms); i++)
    if (strlen(syms[i].s) == n && memcmp(syms[i].s, s, n) == 0)
      return syms[i].t;
  return T_ERROR;
}

/* Splits s into tokens, ending with T_END (or stopping at a T_ERROR). */
static item_t *lex(const char *s, size_t *count)
{
  item_t *items = NULL;
  size_t n = 0;
  size_t pos = 0, len = strlen(s);
  for (;;) {
    while (pos < len && is_space(s[pos]))
      pos++;
    item_t it = { T_END, NULL };
    if (pos >= len) {
      it.lit = xstrdup("");
    } else if (is_special(s[pos])) {
      /* longest run of symbols that still forms a token */
      size_t start = pos, best = 0;
      tok_t bt = T_ERROR;
      while (pos < len && is_special(s[pos])) {
        tok_t t = symbol_token(s + start, pos - start + 1);
        if (t != T_ERROR) {
          bt = t;
          best = pos - start + 1;
        } else if (bt != T_ERROR) {
          break;
        }
        pos++;
      }
      if (bt == T_ERROR) {
        it.tok = T_ERROR;
        it.lit = xasprintf("error expected: keyword found '%.*s'", (int)(pos - start), s + start);
      } else {
        pos = start + best;
        it.tok = bt;
        it.lit = xstrndup(s + start, best);
      }
    } else {
      size_t start = pos;
      while (pos < len && !is_special(s[pos]) && !is_space(s[pos]))
        pos++;
      it.lit = xstrndup(s + start, pos - start);
      it.tok = strcmp(it.lit, "in") == 0 ? T_IN : strcmp(it.lit, "notin") == 0 ? T_NOTIN : T_ID;
    }
    items = xrealloc(items, (n + 1) * sizeof *items);
    items[n++] = it;
    if (it.tok == T_END || it.tok == T_ERROR)
      break;
  }
  *count = n;
  return items;
}

typedef struct parser {
  item_t *items;
  size_t n, pos;
} parser_t;

/* In value position "in" and "notin" are identifiers. */
static tok_t peek(parser_t *p, bool values, const char **lit)
{
  size_t i = p->pos < p->n ? p->pos : p->n - 1;
  tok_t t = p->items[i].tok;
  if (lit)
    *lit = p->items[i].lit;
  if (values && (t == T_IN || t == T_NOTIN))
    t = T_ID;
  return t;
}

static tok_t next(parser_t *p, bool values, const char **lit)
{
  tok_t t = peek(p, values, lit);
  if (p->pos < p->n - 1)
    p->pos++;
  return t;
}

static int parse_values(parser_t *p, char ***out, berr_t *err)
{
  const char *lit;
  if (next(p, true, &lit) != T_OPEN)
    return berr_setc(err, EINVAL, "found '%s' expected: '('", lit);
  tok_t t = peek(p, true, &lit);
  if (t == T_CLOSE) {
    next(p, true, NULL);
    strv_push(out, "");
    return 0;
  }
  if (t != T_ID && t != T_COMMA)
    return berr_setc(err, EINVAL, "found '%s', expected: ',', ')' or identifier", lit);
  const char *open_lit = lit;
  for (;;) {
    t = next(p, true, &lit);
    if (t == T_ID) {
      strv_push(out, lit);
      tok_t t2 = peek(p, true, &lit);
      if (t2 == T_COMMA)
        continue;
      if (t2 == T_CLOSE)
        break;
      return berr_setc(err, EINVAL, "found '%s', expected: ',' or ')'", lit);
    } else if (t == T_COMMA) {
      /* "(,a", "a,,b" and "a,)" all contain the empty value */
      if (!*out)
        strv_push(out, "");
      tok_t t2 = peek(p, true, NULL);
      if (t2 == T_CLOSE) {
        strv_push(out, "");
        break;
      }
      if (t2 == T_COMMA)
        strv_push(out, "");
    } else {
      return berr_setc(err, EINVAL, "found '%s', expected: ',', or identifier", lit);
    }
  }
  if (next(p, true, NULL) != T_CLOSE)
    return berr_setc(err, EINVAL, "found '%s', expected: ')'", open_lit);
  return 0;
}

static int parse_requirement(parser_t *p, api_label_selector_t *sel, berr_t *err)
{
  const char *lit;
  api_sel_op_t op = API_SEL_EQUALS;
  bool negated = false;
  tok_t t = next(p, true, &lit);
  if (t == T_NOT) {
    negated = true;
    t = next(p, true, &lit);
  }
  if (t != T_ID)
    return berr_setc(err, EINVAL, "found '%s', expected: identifier", lit);
  cleanup_free char *key = xstrdup(lit);
  tok_t la = peek(p, true, NULL);
  /* A bare key means "exists". After '!' only the key is read, as Kubernetes
   * does: "!a=b" then fails on the '=' that follows. */
  if (negated)
    return add_req(sel, key, API_SEL_DOES_NOT_EXIST, NULL, err);
  if (la == T_END || la == T_COMMA)
    return add_req(sel, key, API_SEL_EXISTS, NULL, err);
  t = next(p, false, &lit);
  bool set = false;
  switch (t) {
  case T_IN:
    op = API_SEL_IN, set = true;
    break;
  case T_NOTIN:
    op = API_SEL_NOT_IN, set = true;
    break;
  case T_EQ:
  case T_DEQ:
    op = API_SEL_EQUALS;
    break;
  case T_NEQ:
    op = API_SEL_NOT_EQUALS;
    break;
  case T_GT:
    op = API_SEL_GT;
    break;
  case T_LT:
    op = API_SEL_LT;
    break;
  default:
    return berr_setc(err, EINVAL, "found '%s', expected: in, notin, =, ==, !=, gt, lt", lit);
  }
  char **values = NULL;
  if (set) {
    if (parse_values(p, &values, err) < 0) {
      strv_free(values);
      return -1;
    }
  } else {
    tok_t v = peek(p, true, &lit);
    if (v == T_END || v == T_COMMA) {
      strv_push(&values, "");
    } else if (next(p, true, &lit) == T_ID) {
      strv_push(&values, lit);
    } else {
      return berr_setc(err, EINVAL, "found '%s', expected: identifier", lit);
    }
  }
  return add_req(sel, key, op, values, err);
}

int api_label_selector_parse(const char *s, api_label_selector_t **out, berr_t *err)
{
  *out = NULL;
  api_label_selector_t *sel = xcalloc(1, sizeof *sel);
  size_t n;
  parser_t p = { lex(s, &n), n, 0 };
  int rc = 0;
  for (;;) {
    const char *lit;
    tok_t t = peek(&p, true, &lit);
    if (t == T_END)
      break;
    if (t == T_ERROR) {
      rc = berr_setc(err, EINVAL, "unable to parse requirement: %s", lit);
      break;
    }
    if (t != T_ID && t != T_NOT) {
      rc = berr_setc(err, EINVAL, "found '%s', expected: !, identifier, or 'end of string'", lit);
      break;
    }
    if (parse_requirement(&p, sel, err) < 0) {
      rc = berr_wrap(err, "unable to parse requirement");
      break;
    }
    t = next(&p, true, &lit);
    if (t == T_END)
      break;
    if (t != T_COMMA) {
      rc = t == T_ERROR
               ? berr_setc(err, EINVAL, "unable to parse requirement: %s", lit)
               : berr_setc(err, EINVAL, "found '%s', expected: ',' or 'end of string'", lit);
      break;
    }
    t = peek(&p, true, &lit);
    if (t != T_ID && t != T_NOT) {
      rc = berr_setc(err, EINVAL, "found '%s', expected: identifier after ','", lit);
      break;
    }
  }
  for (size_t i = 0; i < n; i++)
    free(p.items[i].lit);
  free(p.items);
  if (rc < 0) {
    if (err)
      err->code = EINVAL;
    api_label_selector_free(sel);
    return -1;
  }
  sort_reqs(sel);
  *out = sel;
  return 0;
}

/* ---- the structured form --------------------------------------------------- */

int api_label_selector_from_json(json_t *js, api_label_selector_t **out, berr_t *err)
{
  *out = NULL;
  api_label_selector_t *sel = xcalloc(1, sizeof *sel);
  if (!js || json_is_null(js)) {
    sel->nothing = true;
    *out = sel;
    return 0;
  }
  if (!json_is_object(js)) {
    api_label_selector_free(sel);
    return berr_setc(err, EINVAL, "a label selector must be an object");
  }
  json_t *ml = json_object_get(js, "matchLabels");
  json_t *me = json_object_get(js, "matchExpressions");
  if (ml && !json_is_null(ml)) {
    if (!json_is_object(ml)) {
      api_label_selector_free(sel);
      return berr_setc(err, EINVAL, "matchLabels: must be a map of strings");
    }
    const char *k;
    json_t *v;
    json_object_foreach(ml, k, v)
    {
      if (!json_is_string(v)) {
        api_label_selector_free(sel);
        return berr_setc(err, EINVAL, "matchLabels[%s]: must be a string", k);
      }
      char **vals = NULL;
      strv_push(&vals, json_string_value(v));
      if (add_req(sel, k, API_SEL_EQUALS, vals, err) < 0) {
        api_label_selector_free(sel);
        return -1;
      }
    }
  }
  if (me && !json_is_null(me)) {
    if (!json_is_array(me)) {
      api_label_selector_free(sel);
      return berr_setc(err, EINVAL, "matchExpressions: must be a list");
    }
    size_t i;
    json_t *e;
    json_array_foreach(me, i, e)
    {
      const char *key = json_str(e, "key");
      const char *op_s = json_str(e, "operator");
      json_t *vals_j = json_object_get(e, "values");
      api_sel_op_t op;
      if (!key) {
        api_label_selector_free(sel);
        return berr_setc(err, EINVAL, "matchExpressions[%zu].key: Required value", i);
      }
      if (!op_s)
        op_s = "";
      if (strcmp(op_s, "In") == 0)
        op = API_SEL_IN;
      else if (strcmp(op_s, "NotIn") == 0)
        op = API_SEL_NOT_IN;
      else if (strcmp(op_s, "Exists") == 0)
        op = API_SEL_EXISTS;
      else if (strcmp(op_s, "DoesNotExist") == 0)
        op = API_SEL_DOES_NOT_EXIST;
      else {
        cleanup_free char *q = api_go_quote(op_s, strlen(op_s));
        api_label_selector_free(sel);
        return berr_setc(err, EINVAL, "%s is not a valid label selector operator", q);
      }
      char **vals = NULL;
      if (json_to_strv(vals_j, &vals, err) < 0) {
        berr_wrap(err, "matchExpressions[%zu].values", i);
        api_label_selector_free(sel);
        return -1;
      }
      if (add_req(sel, key, op, vals, err) < 0) {
        api_label_selector_free(sel);
        return -1;
      }
    }
  }
  sort_reqs(sel);
  *out = sel;
  return 0;
}

/* ---- matching and printing ----------------------------------------------- */

static bool has_value(const api_label_req_t *r, const char *v)
{
  for (size_t i = 0; r->values[i]; i++)
    if (strcmp(r->values[i], v) == 0)
      return true;
  return false;
}

static bool req_matches(const api_label_req_t *r, json_t *labels)
{
  json_t *jv = json_is_object(labels) ? json_object_get(labels, r->key) : NULL;
  const char *v = json_is_string(jv) ? json_string_value(jv) : NULL;
  switch (r->op) {
  case API_SEL_EQUALS:
  case API_SEL_IN:
    return v && has_value(r, v);
  case API_SEL_NOT_EQUALS:
  case API_SEL_NOT_IN:
    return !v || !has_value(r, v);
  case API_SEL_EXISTS:
    return v != NULL;
  case API_SEL_DOES_NOT_EXIST:
    return v == NULL;
  case API_SEL_GT:
  case API_SEL_LT: {
    int64_t have, want;
    if (!v || !parse_int64_str(v, &have) || !r->values[0] || !parse_int64_str(r->values[0], &want))
      return false;
    return r->op == API_SEL_GT ? have > want : have < want;
  }
  }
  return false;
}

bool api_label_selector_matches(const api_label_selector_t *sel, json_t *labels)
{
  if (!sel || sel->nothing)
    return false;
  for (size_t i = 0; i < sel->n; i++)
    if (!req_matches(&sel->reqs[i], labels))
      return false;
  return true;
}

bool api_label_selector_is_everything(const api_label_selector_t *sel)
{
  return sel && !sel->nothing && sel->n == 0;
}

char *api_label_selector_string(const api_label_selector_t *sel)
{
  buf_t b = { 0 };
  buf_puts(&b, "");
  for (size_t i = 0; sel && i < sel->n; i++) {
    const api_label_req_t *r = &sel->reqs[i];
    if (i)
      buf_puts(&b, ",");
    if (r->op == API_SEL_DOES_NOT_EXIST)
      buf_puts(&b, "!");
    buf_puts(&b, r->key);
    switch (r->op) {
    case API_SEL_EXISTS:
    case API_SEL_DOES_NOT_EXIST:
      continue;
    case API_SEL_EQUALS:
      buf_puts(&b, "=");
      break;
    case API_SEL_NOT_EQUALS:
      buf_puts(&b, "!=");
      break;
    case API_SEL_GT:
      buf_puts(&b, ">");
      break;
    case API_SEL_LT:
      buf_puts(&b, "<");
      break;
    case API_SEL_IN:
    case API_SEL_NOT_IN:
      buf_puts(&b, r->op == API_SEL_IN ? " in (" : " notin (");
      for (size_t j = 0; r->values[j]; j++)
        buf_printf(&b, "%s%s", j ? "," : "", r->values[j]);
      buf_puts(&b, ")");
      continue;
    }
    buf_puts(&b, r->values[0] ? r->values[0] : "");
  }
  return buf_steal(&b);
}

/* ---- validation ------------------------------------------------------------ */

void api_validate_label_selector(api_errors_t *errs, const char *field, json_t *sel)
{
  if (!sel || json_is_null(sel))
    return;
  if (!json_is_object(sel)) {
    api_errors_add(errs, API_FERR_INVALID, field, sel, "must be an object");
    return;
  }
  cleanup_free char *fml = xasprintf("%s.matchLabels", field);
  api_validate_labels(errs, fml, json_object_get(sel, "matchLabels"));
  json_t *me = json_object_get(sel, "matchExpressions"), *e;
  if (me && !json_is_null(me) && !json_is_array(me)) {
    cleanup_free char *f = xasprintf("%s.matchExpressions", field);
    api_errors_add(errs, API_FERR_INVALID, f, NULL, "must be a list");
    return;
  }
  size_t i;
  json_array_foreach(me, i, e)
  {
    cleanup_free char *p = xasprintf("%s.matchExpressions[%zu]", field, i);
    cleanup_free char *fo = xasprintf("%s.operator", p);
    cleanup_free char *fv = xasprintf("%s.values", p);
    cleanup_free char *fk = xasprintf("%s.key", p);
    if (!json_is_object(e)) {
      api_errors_add(errs, API_FERR_INVALID, p, NULL, "must be an object");
      continue;
    }
    const char *op = json_str(e, "operator");
    json_t *vals = json_object_get(e, "values");
    size_t nv = json_is_array(vals) ? json_array_size(vals) : 0;
    if (op && (!strcmp(op, "In") || !strcmp(op, "NotIn"))) {
      if (nv == 0)
        api_errors_add(errs, API_FERR_REQUIRED, fv, NULL,
                       "must be specified when `operator` is 'In' or 'NotIn'");
    } else if (op && (!strcmp(op, "Exists") || !strcmp(op, "DoesNotExist"))) {
      if (nv > 0)
        api_errors_add(errs, API_FERR_FORBIDDEN, fv, NULL,
                       "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
    } else {
      api_errors_add_str(errs, API_FERR_INVALID, fo, op ? op : "", "not a valid selector operator");
    }
    const char *key = json_str(e, "key");
    cleanup_strv char **why = NULL;
    if (!key || !api_is_label_key(key, &why)) {
      for (size_t w = 0; why && why[w]; w++)
        api_errors_add_str(errs, API_FERR_INVALID, fk, key, "%s", why[w]);
      if (!why)
        api_errors_add_str(errs, API_FERR_INVALID, fk, key ? key : "",
                           "name part must be non-empty");
    }
    json_t *v;
    size_t j;
    json_array_foreach(vals, j, v)
    {
      cleanup_free char *fj = xasprintf("%s[%zu]", fv, j);
      if (!json_is_string(v)) {
        api_errors_add(errs, API_FERR_INVALID, fj, v, "must be a string");
        continue;
      }
      cleanup_strv char **vwhy = NULL;
      api_is_label_value(json_string_value(v), &vwhy);
      for (size_t w = 0; vwhy && vwhy[w]; w++)
        api_errors_add_str(errs, API_FERR_INVALID, fj, json_string_value(v), "%s", vwhy[w]);
    }
  }
}
