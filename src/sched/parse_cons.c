/* parse_cons.c — a pod's scheduling constraints (nodeSelector, affinity,
 * tolerations, topologySpreadConstraints) from its JSON into cons_t, and
 * label selectors (metav1.LabelSelector) into sel_t.
 *
 * Pods come from users: anything may be in them. The constraints are read
 * strictly: the first thing that is not what Kubernetes accepts becomes the
 * pod's p->bad, in the API's words ("Unsupported value: …", "Required
 * value") and with the field's path, and the pod is reported unschedulable
 * with it rather than scheduled by half its rules. */
#include "api/api.h"
#include "sched/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct pctx {
  sched_t *s;
  char *why; /* the first error */
} pctx_t;

static bool fail(pctx_t *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool fail(pctx_t *c, const char *path, const char *fmt, ...)
{
  if (c->why)
    return false;
  va_list ap;
  va_start(ap, fmt);
  cleanup_free char *m = xvasprintf(fmt, ap);
  va_end(ap);
  c->why = xasprintf("%s: %s", path, m);
  return false;
}

static const char *op_names[] = { "In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt" };

static bool parse_op(pctx_t *c, json_t *v, const char *path, bool numeric, uint8_t *op)
{
  const char *o = json_is_string(v) ? json_string_value(v) : NULL;
  size_t n = numeric ? ARRAY_SIZE(op_names) : 4;
  for (size_t i = 0; o && i < n; i++)
    if (!strcmp(o, op_names[i])) {
      *op = (uint8_t)i;
      return true;
    }
  cleanup_free char *shown = o ? api_go_quote(o, strlen(o)) : xstrdup("null");
  buf_t b = { 0 };
  for (size_t i = 0; i < n; i++)
    buf_printf(&b, "%s\"%s\"", i ? ", " : "", op_names[i]);
  bool r = fail(c, path, "Unsupported value: %s: supported values: %s", shown, b.data);
  buf_free(&b);
  return r;
}

/* One requirement {key, operator, values}: label selectors' (numeric false)
 * or node selectors' (Gt and Lt too). */
static bool parse_req(pctx_t *c, json_t *e, const char *path, bool numeric, sel_req_t *r)
{
  if (!json_is_object(e))
    return fail(c, path, "Invalid value: must be an object");
  cleanup_free char *pk = xasprintf("%s.key", path), *po = xasprintf("%s.operator", path),
                    *pv = xasprintf("%s.values", path);
  const char *key = json_str(e, "key");
  if (!key || !*key)
    return fail(c, pk, "Required value");
  if (!api_is_label_key(key, NULL))
    return fail(c, pk, "Invalid value: \"%s\": name part must consist of alphanumeric characters",
                key);
  r->key = intern_get(&c->s->it, key);
  if (!parse_op(c, json_object_get(e, "operator"), po, numeric, &r->op))
    return false;
  json_t *vals = json_object_get(e, "values");
  if (vals && !json_is_array(vals) && !json_is_null(vals))
    return fail(c, pv, "Invalid value: must be a list of strings");
  size_t nv = json_array_size(vals);
  switch (r->op) {
  case SEL_IN:
  case SEL_NOT_IN:
    if (!nv)
      return fail(c, pv, "Required value: must be specified when `operator` is 'In' or 'NotIn'");
    break;
  case SEL_EXISTS:
  case SEL_DOES_NOT_EXIST:
    if (nv)
      return fail(c, pv,
                  "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
    return true;
  default:
    if (nv != 1)
      return fail(c, pv,
                  "Required value: must be specified single value when `operator` is 'Lt' "
                  "or 'Gt'");
    break;
  }
  r->vals = xcalloc(nv, sizeof *r->vals);
  for (size_t i = 0; i < nv; i++) {
    json_t *v = json_array_get(vals, i);
    if (!json_is_string(v)) {
      cleanup_free char *p = xasprintf("%s[%zu]", pv, i);
      return fail(c, p, "Invalid value: must be a string");
    }
    if (r->op == SEL_GT || r->op == SEL_LT) {
      if (parse_int64(json_string_value(v), &r->num, NULL) < 0) {
        cleanup_free char *p = xasprintf("%s[0]", pv);
        return fail(c, p, "Invalid value: \"%s\": must be an integer", json_string_value(v));
      }
      return true;
    }
    r->vals[r->n++] = intern_get(&c->s->it, json_string_value(v));
  }
  return true;
}

static sel_req_t *sel_add(sel_t *s)
{
  s->r = xrealloc(s->r, (s->n + 1) * sizeof *s->r);
  s->r[s->n] = (sel_req_t){ 0 };
  return &s->r[s->n++];
}

void sel_free(sel_t *sel)
{
  for (uint32_t i = 0; i < sel->n; i++)
    free(sel->r[i].vals);
  free(sel->r);
  *sel = (sel_t){ 0 };
}

/* metav1.LabelSelector: matchLabels and matchExpressions (In, NotIn,
 * Exists, DoesNotExist). JSON null or absent: nothing. */
static bool label_selector(pctx_t *c, json_t *j, sel_t *out, const char *path)
{
  *out = (sel_t){ 0 };
  if (!j || json_is_null(j)) {
    out->nothing = true;
    return true;
  }
  if (!json_is_object(j))
    return fail(c, path, "Invalid value: must be an object");
  json_t *ml = json_object_get(j, "matchLabels"), *me = json_object_get(j, "matchExpressions");
  if (ml && !json_is_object(ml) && !json_is_null(ml)) {
    cleanup_free char *p = xasprintf("%s.matchLabels", path);
    return fail(c, p, "Invalid value: must be a map of strings");
  }
  const char *k;
  json_t *v;
  json_object_foreach(ml, k, v)
  {
    if (!json_is_string(v)) {
      cleanup_free char *p = xasprintf("%s.matchLabels.%s", path, k);
      return fail(c, p, "Invalid value: must be a string");
    }
    sel_req_t *r = sel_add(out);
    r->key = intern_get(&c->s->it, k);
    r->op = SEL_IN;
    r->vals = xmalloc(sizeof *r->vals);
    r->vals[0] = intern_get(&c->s->it, json_string_value(v));
    r->n = 1;
  }
  if (me && !json_is_array(me) && !json_is_null(me)) {
    cleanup_free char *p = xasprintf("%s.matchExpressions", path);
    return fail(c, p, "Invalid value: must be a list");
  }
  size_t i;
  json_array_foreach(me, i, v)
  {
    cleanup_free char *p = xasprintf("%s.matchExpressions[%zu]", path, i);
    if (!parse_req(c, v, p, false, sel_add(out)))
      return false;
  }
  return true;
}

bool parse_label_selector(sched_t *s, json_t *j, sel_t *out, const char *field, char **why)
{
  pctx_t c = { .s = s };
  if (label_selector(&c, j, out, field))
    return true;
  *why = c.why;
  sel_free(out);
  return false;
}

/* matchLabelKeys / mismatchLabelKeys: the pod's own values of those keys,
 * added as In / NotIn requirements. */
static bool label_keys(pctx_t *c, json_t *keys, const char *path, const labels_t *own, bool match,
                       sel_t *out)
{
  if (!keys || json_is_null(keys))
    return true;
  if (!json_is_array(keys))
    return fail(c, path, "Invalid value: must be a list of strings");
  size_t i;
  json_t *k;
  json_array_foreach(keys, i, k)
  {
    if (!json_is_string(k)) {
      cleanup_free char *p = xasprintf("%s[%zu]", path, i);
      return fail(c, p, "Invalid value: must be a string");
    }
    sid_t key = intern_get(&c->s->it, json_string_value(k)), v = labels_get(own, key);
    if (!v)
      continue; /* Kubernetes ignores a key the pod lacks */
    sel_req_t *r = sel_add(out);
    r->key = key;
    r->op = match ? SEL_IN : SEL_NOT_IN;
    r->vals = xmalloc(sizeof *r->vals);
    r->vals[0] = v;
    r->n = 1;
    out->nothing = false;
  }
  return true;
}

/* ---- node affinity ------------------------------------------------------------- */

static bool node_term(pctx_t *c, json_t *t, const char *path, nterm_t *out)
{
  *out = (nterm_t){ 0 };
  if (!json_is_object(t))
    return fail(c, path, "Invalid value: must be an object");
  const char *parts[] = { "matchExpressions", "matchFields" };
  for (size_t k = 0; k < 2; k++) {
    json_t *l = json_object_get(t, parts[k]), *e;
    cleanup_free char *pl = xasprintf("%s.%s", path, parts[k]);
    if (l && !json_is_array(l) && !json_is_null(l))
      return fail(c, pl, "Invalid value: must be a list");
    size_t i;
    json_array_foreach(l, i, e)
    {
      cleanup_free char *p = xasprintf("%s[%zu]", pl, i);
      sel_t *sel = k ? &out->fields : &out->expr;
      sel_req_t *r = sel_add(sel);
      if (!parse_req(c, e, p, !k, r))
        return false;
      if (k) {
        if (strcmp(intern_str(&c->s->it, r->key), "metadata.name")) {
          cleanup_free char *pk = xasprintf("%s.key", p);
          return fail(c, pk, "Unsupported value: \"%s\": supported values: \"metadata.name\"",
                      intern_str(&c->s->it, r->key));
        }
        if (r->op != SEL_IN && r->op != SEL_NOT_IN) {
          cleanup_free char *po = xasprintf("%s.operator", p);
          return fail(c, po, "Unsupported value: \"%s\": supported values: \"In\", \"NotIn\"",
                      op_names[r->op]);
        }
      }
    }
  }
  return true;
}

static bool node_affinity(pctx_t *c, json_t *na, cons_t *out)
{
  const char *base = "spec.affinity.nodeAffinity";
  if (!json_is_object(na))
    return fail(c, base, "Invalid value: must be an object");
  json_t *req = json_object_get(na, "requiredDuringSchedulingIgnoredDuringExecution");
  if (req && !json_is_null(req)) {
    cleanup_free char *p
        = xasprintf("%s.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms", base);
    json_t *terms = json_is_object(req) ? json_object_get(req, "nodeSelectorTerms") : NULL;
    if (!json_is_array(terms) || !json_array_size(terms))
      return fail(c, p, "Required value: must have at least one node selector term");
    out->has_req = true;
    out->req = xcalloc(json_array_size(terms), sizeof *out->req);
    size_t i;
    json_t *t;
    json_array_foreach(terms, i, t)
    {
      cleanup_free char *pt = xasprintf("%s[%zu]", p, i);
      out->n_req++;
      if (!node_term(c, t, pt, &out->req[i]))
        return false;
    }
  }
  json_t *pref = json_object_get(na, "preferredDuringSchedulingIgnoredDuringExecution");
  if (pref && !json_is_null(pref)) {
    cleanup_free char *p = xasprintf("%s.preferredDuringSchedulingIgnoredDuringExecution", base);
    if (!json_is_array(pref))
      return fail(c, p, "Invalid value: must be a list");
    out->pref = xcalloc(json_array_size(pref) + 1, sizeof *out->pref);
    size_t i;
    json_t *t;
    json_array_foreach(pref, i, t)
    {
      cleanup_free char *pt = xasprintf("%s[%zu]", p, i);
      json_t *w = json_object_get(t, "weight");
      if (!json_is_integer(w) || json_integer_value(w) < 1 || json_integer_value(w) > 100) {
        cleanup_free char *pw = xasprintf("%s.weight", pt);
        return fail(c, pw, "Invalid value: must be in the range 1-100");
      }
      cleanup_free char *pp = xasprintf("%s.preference", pt);
      nterm_t *nt = &out->pref[out->n_pref++];
      if (!node_term(c, json_object_get(t, "preference"), pp, nt))
        return false;
      nt->weight = (int32_t)json_integer_value(w);
    }
  }
  return true;
}

/* ---- inter-pod affinity ------------------------------------------------------------ */

static bool pod_term(pctx_t *c, json_t *t, const char *path, const spod_t *p, pterm_t *out)
{
  *out = (pterm_t){ 0 };
  if (!json_is_object(t))
    return fail(c, path, "Invalid value: must be an object");
  cleanup_free char *pl = xasprintf("%s.labelSelector", path);
  if (!label_selector(c, json_object_get(t, "labelSelector"), &out->sel, pl))
    return false;
  cleanup_free char *pm = xasprintf("%s.matchLabelKeys", path),
                    *pmm = xasprintf("%s.mismatchLabelKeys", path);
  if (!out->sel.nothing
      && (!label_keys(c, json_object_get(t, "matchLabelKeys"), pm, &p->labels, true, &out->sel)
          || !label_keys(c, json_object_get(t, "mismatchLabelKeys"), pmm, &p->labels, false,
                         &out->sel)))
    return false;
  json_t *nss = json_object_get(t, "namespaces"), *v;
  cleanup_free char *pn = xasprintf("%s.namespaces", path);
  if (nss && !json_is_array(nss) && !json_is_null(nss))
    return fail(c, pn, "Invalid value: must be a list of strings");
  out->nss = xcalloc(json_array_size(nss) + 1, sizeof *out->nss);
  size_t i;
  json_array_foreach(nss, i, v)
  {
    if (!json_is_string(v)) {
      cleanup_free char *pi = xasprintf("%s[%zu]", pn, i);
      return fail(c, pi, "Invalid value: must be a string");
    }
    out->nss[out->n_nss++] = intern_get(&c->s->it, json_string_value(v));
  }
  json_t *nsel = json_object_get(t, "namespaceSelector");
  if (nsel && !json_is_null(nsel)) {
    cleanup_free char *ps = xasprintf("%s.namespaceSelector", path);
    if (!label_selector(c, nsel, &out->ns_sel, ps))
      return false;
    if (out->ns_sel.n == 0)
      out->any_ns = true;
    else
      out->has_ns_sel = true;
  }
  if (!out->n_nss && !nsel)
    out->nss[out->n_nss++] = p->ns_id;
  const char *topo = json_str(t, "topologyKey");
  cleanup_free char *pt = xasprintf("%s.topologyKey", path);
  if (!topo || !*topo)
    return fail(c, pt, "Required value: can not be empty");
  if (!api_is_label_key(topo, NULL))
    return fail(c, pt, "Invalid value: \"%s\": name part must consist of alphanumeric characters",
                topo);
  out->topo = intern_get(&c->s->it, topo);
  return true;
}

static bool pod_terms(pctx_t *c, json_t *a, const char *base, const spod_t *p, pterm_t **req,
                      uint32_t *n_req, pterm_t **pref, uint32_t *n_pref)
{
  if (!json_is_object(a))
    return fail(c, base, "Invalid value: must be an object");
  json_t *r = json_object_get(a, "requiredDuringSchedulingIgnoredDuringExecution"), *t;
  cleanup_free char *pr = xasprintf("%s.requiredDuringSchedulingIgnoredDuringExecution", base),
                    *pp = xasprintf("%s.preferredDuringSchedulingIgnoredDuringExecution", base);
  if (r && !json_is_array(r) && !json_is_null(r))
    return fail(c, pr, "Invalid value: must be a list");
  size_t i;
  *req = xcalloc(json_array_size(r) + 1, sizeof **req);
  json_array_foreach(r, i, t)
  {
    cleanup_free char *pt = xasprintf("%s[%zu]", pr, i);
    (*n_req)++;
    if (!pod_term(c, t, pt, p, &(*req)[i]))
      return false;
  }
  json_t *pf = json_object_get(a, "preferredDuringSchedulingIgnoredDuringExecution");
  if (pf && !json_is_array(pf) && !json_is_null(pf))
    return fail(c, pp, "Invalid value: must be a list");
  *pref = xcalloc(json_array_size(pf) + 1, sizeof **pref);
  json_array_foreach(pf, i, t)
  {
    cleanup_free char *pt = xasprintf("%s[%zu]", pp, i);
    json_t *w = json_object_get(t, "weight");
    if (!json_is_integer(w) || json_integer_value(w) < 1 || json_integer_value(w) > 100) {
      cleanup_free char *pw = xasprintf("%s.weight", pt);
      return fail(c, pw, "Invalid value: must be in the range 1-100");
    }
    cleanup_free char *pa = xasprintf("%s.podAffinityTerm", pt);
    (*n_pref)++;
    if (!pod_term(c, json_object_get(t, "podAffinityTerm"), pa, p, &(*pref)[i]))
      return false;
    (*pref)[i].weight = (int32_t)json_integer_value(w);
  }
  return true;
}

/* ---- tolerations and spread ------------------------------------------------------ */

bool parse_taint_effect(const char *e, uint8_t *out)
{
  if (!e || !*e)
    *out = EFF_NONE;
  else if (!strcmp(e, "NoSchedule"))
    *out = EFF_NO_SCHEDULE;
  else if (!strcmp(e, "PreferNoSchedule"))
    *out = EFF_PREFER_NO_SCHEDULE;
  else if (!strcmp(e, "NoExecute"))
    *out = EFF_NO_EXECUTE;
  else
    return false;
  return true;
}

static bool tolerations(pctx_t *c, json_t *tl, cons_t *out)
{
  if (!json_is_array(tl))
    return fail(c, "spec.tolerations", "Invalid value: must be a list");
  out->tols = xcalloc(json_array_size(tl) + 1, sizeof *out->tols);
  size_t i;
  json_t *t;
  json_array_foreach(tl, i, t)
  {
    cleanup_free char *p = xasprintf("spec.tolerations[%zu]", i);
    if (!json_is_object(t))
      return fail(c, p, "Invalid value: must be an object");
    toleration_t *o = &out->tols[out->n_tols++];
    const char *key = json_str(t, "key"), *op = json_str(t, "operator"),
               *val = json_str(t, "value"), *eff = json_str(t, "effect");
    o->key = key && *key ? intern_get(&c->s->it, key) : 0;
    o->value = val && *val ? intern_get(&c->s->it, val) : 0;
    if (!op || !*op || !strcmp(op, "Equal")) {
      o->op = TOL_EQUAL;
      if (!o->key) {
        cleanup_free char *po = xasprintf("%s.operator", p);
        return fail(c, po, "Invalid value: \"%s\": operator must be Exists when `key` is empty",
                    op ? op : "");
      }
    } else if (!strcmp(op, "Exists")) {
      o->op = TOL_EXISTS;
    } else {
      cleanup_free char *po = xasprintf("%s.operator", p);
      return fail(c, po, "Unsupported value: \"%s\": supported values: \"Equal\", \"Exists\"", op);
    }
    if (!parse_taint_effect(eff, &o->effect)) {
      cleanup_free char *pe = xasprintf("%s.effect", p);
      return fail(c, pe,
                  "Unsupported value: \"%s\": supported values: \"NoSchedule\", "
                  "\"PreferNoSchedule\", \"NoExecute\"",
                  eff);
    }
  }
  return true;
}

static bool spreads(pctx_t *c, json_t *l, const spod_t *p, cons_t *out)
{
  if (!json_is_array(l))
    return fail(c, "spec.topologySpreadConstraints", "Invalid value: must be a list");
  out->spread = xcalloc(json_array_size(l) + 1, sizeof *out->spread);
  size_t i;
  json_t *t;
  json_array_foreach(l, i, t)
  {
    cleanup_free char *p0 = xasprintf("spec.topologySpreadConstraints[%zu]", i);
    if (!json_is_object(t))
      return fail(c, p0, "Invalid value: must be an object");
    spread_t *sp = &out->spread[out->n_spread++];
    json_t *ms = json_object_get(t, "maxSkew");
    cleanup_free char *pm = xasprintf("%s.maxSkew", p0), *pt = xasprintf("%s.topologyKey", p0),
                      *pw = xasprintf("%s.whenUnsatisfiable", p0),
                      *pd = xasprintf("%s.minDomains", p0), *pl = xasprintf("%s.labelSelector", p0),
                      *pk = xasprintf("%s.matchLabelKeys", p0);
    if (!json_is_integer(ms) || json_integer_value(ms) < 1 || json_integer_value(ms) > INT32_MAX)
      return fail(c, pm, "Invalid value: must be greater than zero");
    sp->max_skew = (int32_t)json_integer_value(ms);
    const char *topo = json_str(t, "topologyKey");
    if (!topo || !*topo)
      return fail(c, pt, "Required value: can not be empty");
    sp->topo = intern_get(&c->s->it, topo);
    const char *w = json_str(t, "whenUnsatisfiable");
    if (w && !strcmp(w, "DoNotSchedule"))
      sp->hard = true;
    else if (!w || strcmp(w, "ScheduleAnyway"))
      return fail(c, pw,
                  "Unsupported value: \"%s\": supported values: \"DoNotSchedule\", "
                  "\"ScheduleAnyway\"",
                  w ? w : "");
    json_t *md = json_object_get(t, "minDomains");
    sp->min_domains = 1;
    if (md && !json_is_null(md)) {
      if (!json_is_integer(md) || json_integer_value(md) < 1 || json_integer_value(md) > INT32_MAX)
        return fail(c, pd, "Invalid value: must be greater than zero");
      if (!sp->hard)
        return fail(c, pd,
                    "Invalid value: can only use minDomains if whenUnsatisfiable=DoNotSchedule");
      sp->min_domains = (int32_t)json_integer_value(md);
    }
    const char *nap = json_str(t, "nodeAffinityPolicy"), *ntp = json_str(t, "nodeTaintsPolicy");
    sp->ignore_affinity = nap && !strcmp(nap, "Ignore");
    sp->honor_taints = ntp && !strcmp(ntp, "Honor");
    if (!label_selector(c, json_object_get(t, "labelSelector"), &sp->sel, pl))
      return false;
    if (!sp->sel.nothing
        && !label_keys(c, json_object_get(t, "matchLabelKeys"), pk, &p->labels, true, &sp->sel))
      return false;
    if (sp->hard)
      out->n_hard++;
  }
  return true;
}

void cons_free(cons_t *c)
{
  if (!c)
    return;
  free(c->node_sel.v);
  nterm_t *nts[] = { c->req, c->pref };
  uint32_t nn[] = { c->n_req, c->n_pref };
  for (size_t k = 0; k < 2; k++) {
    for (uint32_t i = 0; i < nn[k]; i++) {
      sel_free(&nts[k][i].expr);
      sel_free(&nts[k][i].fields);
    }
    free(nts[k]);
  }
  free(c->tols);
  pterm_t *pts[] = { c->aff, c->anti, c->paff, c->panti };
  uint32_t pn[] = { c->n_aff, c->n_anti, c->n_paff, c->n_panti };
  for (size_t k = 0; k < 4; k++) {
    for (uint32_t i = 0; i < pn[k]; i++) {
      sel_free(&pts[k][i].sel);
      sel_free(&pts[k][i].ns_sel);
      free(pts[k][i].nss);
    }
    free(pts[k]);
  }
  for (uint32_t i = 0; i < c->n_spread; i++)
    sel_free(&c->spread[i].sel);
  free(c->spread);
  free(c);
}

cons_t *parse_cons(sched_t *s, spod_t *p, json_t *spec, char **why)
{
  json_t *ns = json_object_get(spec, "nodeSelector"), *aff = json_object_get(spec, "affinity"),
         *tol = json_object_get(spec, "tolerations"),
         *tsc = json_object_get(spec, "topologySpreadConstraints");
  if (json_is_null(ns))
    ns = NULL;
  if (json_is_null(aff))
    aff = NULL;
  if (json_is_null(tol))
    tol = NULL;
  if (json_is_null(tsc))
    tsc = NULL;
  if (!ns && !aff && !tol && !tsc)
    return NULL;
  pctx_t c = { .s = s };
  cons_t *out = xcalloc(1, sizeof *out);
  if (ns) {
    const char *k;
    json_t *v;
    if (!json_is_object(ns))
      fail(&c, "spec.nodeSelector", "Invalid value: must be a map of strings");
    json_object_foreach(ns, k, v)
    {
      if (!json_is_string(v)) {
        cleanup_free char *pk = xasprintf("spec.nodeSelector.%s", k);
        fail(&c, pk, "Invalid value: must be a string");
        break;
      }
    }
    if (!c.why)
      labels_parse(s, ns, &out->node_sel);
  }
  if (!c.why && aff) {
    if (!json_is_object(aff)) {
      fail(&c, "spec.affinity", "Invalid value: must be an object");
    } else {
      json_t *na = json_object_get(aff, "nodeAffinity"), *pa = json_object_get(aff, "podAffinity"),
             *paa = json_object_get(aff, "podAntiAffinity");
      if (na && !json_is_null(na))
        node_affinity(&c, na, out);
      if (!c.why && pa && !json_is_null(pa))
        pod_terms(&c, pa, "spec.affinity.podAffinity", p, &out->aff, &out->n_aff, &out->paff,
                  &out->n_paff);
      if (!c.why && paa && !json_is_null(paa))
        pod_terms(&c, paa, "spec.affinity.podAntiAffinity", p, &out->anti, &out->n_anti,
                  &out->panti, &out->n_panti);
    }
  }
  if (!c.why && tol)
    tolerations(&c, tol, out);
  if (!c.why && tsc)
    spreads(&c, tsc, p, out);
  if (c.why) {
    cons_free(out);
    *why = c.why;
    return NULL;
  }
  return out;
}
