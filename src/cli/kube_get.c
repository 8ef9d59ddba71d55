/* kube_get.c — `berth get` (tables from the server's Table replies, JSON,
 * YAML, names, watch) and `berth events`. The server formats every cell,
 * as Kubernetes does; the client only picks columns, adds NAMESPACE and
 * LABELS, and aligns. */
#include "cli/kube.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char get_usage[]
    = "Usage: berth get TYPE [NAME…] | TYPE/NAME… [OPTIONS]\n"
      "\n"
      "List objects of a type, or show the ones named, as a table (the server's\n"
      "columns). TYPE is a resource name, singular, short name or kind (pods, pod,\n"
      "po, Pod), optionally with its group (leases.coordination.k8s.io); several\n"
      "separated by commas, or a category (all: pods, deployments, jobs…).\n"
      "\n"
      "  -o, --output FMT         wide (every column), json, yaml or name\n"
      "  -w, --watch              after the list, print a row per change until ^C\n"
      "  -l, --selector SEL       label selector (app=web,tier!=db)\n"
      "      --field-selector SEL field selector (metadata.name=web)\n"
      "  -A, --all-namespaces     every namespace (adds a NAMESPACE column)\n"
      "      --show-labels        add a LABELS column\n"
      "      --no-headers         leave out the header line\n"
      "      --kubeconfig FILE, -n NS, --server URL, --token T: see 'berth cluster --help'\n";

enum { OPT_FIELD = KOPT_FIRST_VERB, OPT_SHOW_LABELS, OPT_NO_HEADERS, OPT_FOR };

typedef enum { OUT_TABLE, OUT_JSON, OUT_YAML, OUT_NAME } out_fmt_t;

typedef struct get_opts {
  out_fmt_t fmt;
  kube_table_opts_t t;
  bool watch;
  const char *label_sel, *field_sel;
} get_opts_t;

/* One TYPE and the names asked for it. */
typedef struct get_group {
  const kube_res_t *res;
  char **names;
  json_t *table; /* what the server answered (table output) */
} get_group_t;

static char *list_query(const get_opts_t *o, const char *extra_field)
{
  buf_t q = { 0 };
  if (o->label_sel && *o->label_sel)
    kube_query_add(&q, "labelSelector", o->label_sel);
  if ((o->field_sel && *o->field_sel) || extra_field) {
    cleanup_free char *f = xasprintf("%s%s%s", o->field_sel ? o->field_sel : "",
                                     o->field_sel && *o->field_sel && extra_field ? "," : "",
                                     extra_field ? extra_field : "");
    kube_query_add(&q, "fieldSelector", f);
  }
  return q.data ? buf_steal(&q) : xstrdup("");
}

/* ---- watch -------------------------------------------------------------- */

typedef struct watcher {
  get_opts_t *o;
  json_t *defs;  /* the column definitions (borrowed from the list, or the first event's) */
  json_t *owned; /* definitions taken from an event */
  bool header;   /* the header is still to print */
  char *rv;      /* the last resourceVersion seen */
  bool expired;  /* 410: list again */
  bool failed;
  buf_t other;  /* lines that are not events: an error reply's body */
  kube_tw_t tw; /* one for the whole watch: it remembers the widths */
} watcher_t;

static int on_watch_line(void *arg, const char *line, size_t len)
{
  watcher_t *w = arg;
  cleanup_json json_t *ev = json_loadb(line, len, 0, NULL);
  if (!json_is_object(ev))
    return 0;
  const char *type = json_str(ev, "type");
  json_t *obj = json_object_get(ev, "object");
  if (!type || !json_is_object(obj)) {
    buf_append(&w->other, line, len);
    return 0;
  }
  if (!strcmp(type, "ERROR")) {
    if (json_int(obj, "code", 0) == 410) {
      w->expired = true;
      return -1;
    }
    const char *msg = json_str(obj, "message");
    kube_fail("watch: %s", msg ? msg : "the server sent an error");
    w->failed = true;
    return -1;
  }
  const char *rv = kube_str(obj, "metadata.resourceVersion");
  if (rv && *rv) {
    free(w->rv);
    w->rv = xstrdup(rv);
  }
  if (!strcmp(type, "BOOKMARK"))
    return 0; /* a revision to resume from, nothing to print */
  if (w->o->fmt != OUT_TABLE) {
    if (w->o->fmt == OUT_JSON)
      kube_print_json(obj, stdout);
    else if (w->o->fmt == OUT_YAML) {
      fputs("---\n", stdout);
      kube_print_yaml(obj, stdout);
    } else {
      cleanup_free char *n = kube_object_name(obj);
      puts(n);
    }
    fflush(stdout);
    return 0;
  }
  if (!w->defs && json_array_size(json_object_get(obj, "columnDefinitions"))) {
    w->owned = json_incref(json_object_get(obj, "columnDefinitions"));
    w->defs = w->owned;
  }
  if (!w->defs)
    return 0;
  /* kubectl flushes its tabwriter after every event, which remembers the
   * column widths: a row is as wide as the widest seen so far. */
  kube_table_add(&w->tw, obj, w->defs, &w->o->t, w->header);
  w->header = false;
  kube_tw_flush(&w->tw, stdout);
  fflush(stdout);
  return 0;
}

/* Watches res from w->rv until interrupted; a closed stream is watched
 * again from the last revision seen, an expired one relisted. */
static int watch_loop(kube_t *k, const kube_res_t *res, const char *ns, const char *name,
                      watcher_t *w)
{
  cleanup_free char *field = name ? xasprintf("metadata.name=%s", name) : NULL;
  cleanup_free char *sel = list_query(w->o, field);
  for (;;) {
    if (w->expired || !w->rv) {
      /* A quiet list, for the revision to watch from. */
      buf_t q = { 0 };
      buf_puts(&q, sel);
      cleanup_free char *qs = q.data ? buf_steal(&q) : xstrdup("");
      cleanup_free char *path = kube_path(res, ns, NULL, NULL, qs);
      cleanup_reply kube_reply_t r;
      if (kube_call(k, "GET", path, NULL, "application/json", NULL, &r) < 0)
        return 1;
      if (r.code != 200)
        return kube_reply_fail(&r, NULL);
      const char *rv = kube_str(r.json, "metadata.resourceVersion");
      free(w->rv);
      w->rv = xstrdup(rv ? rv : "0");
      w->expired = false;
    }
    buf_t q = { 0 };
    buf_puts(&q, sel);
    kube_query_add(&q, "watch", "1");
    kube_query_add(&q, "resourceVersion", w->rv);
    cleanup_free char *qs = buf_steal(&q);
    cleanup_free char *path = kube_path(res, ns, NULL, NULL, qs);
    kc_lines_t lines = { .on_line = on_watch_line, .arg = w };
    long code = 0;
    berr_t err = BERR_INIT;
    int64_t started = time_mono_ns();
    int rc = kc_stream(k->kc, path, w->o->fmt == OUT_TABLE ? KUBE_ACCEPT_TABLE : "application/json",
                       kc_lines_feed, &lines, &code, &err);
    if (rc < 0) {
      kc_lines_free(&lines);
      kube_transport_fail(k, &err);
      return 1;
    }
    if (code != 200 && !w->failed && !w->expired) {
      /* The error body, whole, whether or not it ended in a newline. */
      if (lines.pending.len)
        buf_append(&w->other, lines.pending.data, lines.pending.len);
      kube_reply_t r = { .code = code };
      if (w->other.len) {
        r.json = json_loadb(w->other.data, w->other.len, 0, NULL);
        r.raw.body = w->other;
      }
      cleanup_free char *msg = kube_reply_message(&r, NULL);
      fprintf(stderr, "%s\n", msg);
      json_decref(r.json);
      buf_free(&w->other);
      kc_lines_free(&lines);
      return 1;
    }
    buf_free(&w->other);
    kc_lines_free(&lines);
    if (w->failed)
      return 1;
    /* A server that ends streams at once must not make this spin. */
    if (time_mono_ns() - started < 1000000000LL)
      sleep(1);
  }
}

/* ---- get ---------------------------------------------------------------- */

/* A server that ignores the Table Accept sends objects: kubectl prints
 * them as NAME and AGE, and so does berth. */
static json_t *synth_table(json_t *reply)
{
  json_t *t
      = json_pack("{s:s, s:s, s:{s:s}, s:[{s:s, s:s, s:s, s:i}, {s:s, s:s, s:s, s:i}]}", "kind",
                  "Table", "apiVersion", "meta.k8s.io/v1", "metadata", "resourceVersion",
                  kube_str(reply, "metadata.resourceVersion") ?: "", "columnDefinitions", "name",
                  "Name", "type", "string", "format", "name", "priority", 0, "name", "Age", "type",
                  "string", "format", "", "priority", 0);
  json_t *rows = json_array(), *items = json_object_get(reply, "items"), *it;
  if (!json_is_array(items))
    items = json_pack("[O]", reply);
  else
    json_incref(items);
  size_t i;
  json_array_foreach(items, i, it)
  {
    json_t *meta = json_object_get(it, "metadata");
    cleanup_free char *age = kube_age(json_str(meta, "creationTimestamp"));
    json_array_append_new(rows, json_pack("{s:[s, s], s:{s:o}}", "cells",
                                          json_str(meta, "name") ?: "", age, "object", "metadata",
                                          meta ? json_incref(meta) : json_object()));
  }
  json_decref(items);
  json_object_set_new(t, "rows", rows);
  return t;
}

/* Fetches the Table of one group into g->table; returns 0, or 1 when some
 * object failed (after printing why). */
static int fetch_table(kube_t *k, get_group_t *g, get_opts_t *o)
{
  const char *ns = o->t.all_ns ? NULL : k->ns;
  int rc = 0;
  if (!g->names) {
    cleanup_free char *q = list_query(o, NULL);
    cleanup_free char *path = kube_path(g->res, ns, NULL, NULL, q);
    cleanup_reply kube_reply_t r;
    if (kube_call(k, "GET", path, NULL, KUBE_ACCEPT_TABLE, NULL, &r) < 0)
      return 1;
    if (r.code != 200)
      return kube_reply_fail(&r, NULL);
    kube_print_warnings(&r);
    g->table = steal_ptr(r.json);
  } else {
    for (size_t i = 0; g->names[i]; i++) {
      cleanup_free char *path = kube_path(g->res, ns, g->names[i], NULL, NULL);
      cleanup_reply kube_reply_t r;
      if (kube_call(k, "GET", path, NULL, KUBE_ACCEPT_TABLE, NULL, &r) < 0)
        return 1;
      if (r.code != 200) {
        rc = kube_reply_fail(&r, NULL);
        continue;
      }
      if (!g->table) {
        g->table = steal_ptr(r.json);
        continue;
      }
      json_t *row;
      size_t j;
      json_array_foreach(json_object_get(r.json, "rows"), j, row)
          json_array_append(json_object_get(g->table, "rows"), row);
    }
  }
  if (g->table && !json_is_array(json_object_get(g->table, "columnDefinitions"))) {
    json_t *t = synth_table(g->table);
    json_decref(g->table);
    g->table = t;
  }
  return rc;
}

/* Prints one group's table; prefix: "configmap" when several types are
 * shown (names become kind/name, as kubectl prints them). */
static void print_table(get_group_t *g, get_opts_t *o, const char *prefix, bool *printed,
                        kube_tw_t *tw)
{
  json_t *table = g->table;
  if (!json_array_size(json_object_get(table, "rows")))
    return;
  if (prefix) {
    json_t *defs = json_object_get(table, "columnDefinitions"), *row;
    size_t col = 0, j;
    for (; col < json_array_size(defs); col++) {
      const char *f = json_str(json_array_get(defs, col), "format");
      if (f && !strcmp(f, "name"))
        break;
    }
    json_array_foreach(json_object_get(table, "rows"), j, row)
    {
      json_t *cells = json_object_get(row, "cells");
      const char *n = json_string_value(json_array_get(cells, col));
      if (n)
        json_array_set_new(cells, col, json_sprintf("%s/%s", prefix, n));
    }
  }
  if (*printed)
    putchar('\n');
  kube_table_add(tw, table, NULL, &o->t, true);
  kube_tw_flush(tw, stdout);
  *printed = true;
}

/* Collects the objects of one group into items (JSON output). */
static int get_objects(kube_t *k, get_group_t *g, get_opts_t *o, json_t *items, char **rv_out)
{
  const char *ns = o->t.all_ns ? NULL : k->ns;
  int rc = 0;
  if (!g->names) {
    cleanup_free char *q = list_query(o, NULL);
    cleanup_free char *path = kube_path(g->res, ns, NULL, NULL, q);
    cleanup_reply kube_reply_t r;
    if (kube_call(k, "GET", path, NULL, "application/json", NULL, &r) < 0)
      return 1;
    if (r.code != 200)
      return kube_reply_fail(&r, NULL);
    kube_print_warnings(&r);
    if (rv_out) {
      const char *rv = kube_str(r.json, "metadata.resourceVersion");
      *rv_out = rv ? xstrdup(rv) : NULL;
    }
    cleanup_free char *gv = kube_res_gv(g->res);
    json_t *it;
    size_t i;
    json_array_foreach(json_object_get(r.json, "items"), i, it)
    {
      /* Items of a typed list may leave out their type. */
      if (!json_object_get(it, "apiVersion"))
        json_object_set_new(it, "apiVersion", json_string(gv));
      if (!json_object_get(it, "kind"))
        json_object_set_new(it, "kind", json_string(g->res->kind));
      json_array_append(items, it);
    }
    return 0;
  }
  for (size_t i = 0; g->names[i]; i++) {
    cleanup_free char *path = kube_path(g->res, ns, g->names[i], NULL, NULL);
    cleanup_reply kube_reply_t r;
    if (kube_call(k, "GET", path, NULL, "application/json", NULL, &r) < 0)
      return 1;
    if (r.code != 200) {
      rc = kube_reply_fail(&r, NULL);
      continue;
    }
    json_array_append(items, r.json);
  }
  return rc;
}

static int parse_output(const char *s, get_opts_t *o)
{
  if (!strcmp(s, "wide"))
    o->t.wide = true;
  else if (!strcmp(s, "json"))
    o->fmt = OUT_JSON;
  else if (!strcmp(s, "yaml"))
    o->fmt = OUT_YAML;
  else if (!strcmp(s, "name"))
    o->fmt = OUT_NAME;
  else
    return -1;
  return 0;
}

static void groups_free(get_group_t *gs, size_t ng)
{
  for (size_t j = 0; j < ng; j++) {
    strv_free(gs[j].names);
    json_decref(gs[j].table);
  }
  free(gs);
}

/* The group of res in gs (added at the end when new). */
static get_group_t *group_of(get_group_t **gs, size_t *ng, const kube_res_t *res)
{
  for (size_t j = 0; j < *ng; j++)
    if ((*gs)[j].res == res)
      return &(*gs)[j];
  *gs = xrealloc(*gs, (*ng + 1) * sizeof **gs);
  (*gs)[*ng] = (get_group_t){ .res = res };
  return &(*gs)[(*ng)++];
}

/* TYPE[,TYPE…] [NAME…] or TYPE/NAME…: the groups, in the order given. */
static int parse_targets(kube_t *k, char **args, int n, get_group_t **out, size_t *n_out)
{
  get_group_t *gs = NULL;
  size_t ng = 0;
  if (!strchr(args[0], '/')) {
    cleanup_free char *types = xstrdup(args[0]);
    char *save = NULL;
    for (char *t = strtok_r(types, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
      const kube_res_t **cat = NULL;
      int nc = kube_resolve_category(k, t, &cat);
      if (nc < 0) {
        groups_free(gs, ng);
        return 1;
      }
      for (int c = 0; c < nc; c++) {
        get_group_t *g = group_of(&gs, &ng, cat[c]);
        for (int i = 1; i < n; i++)
          strv_push(&g->names, args[i]);
      }
      free(cat);
      if (nc > 0)
        continue;
      const kube_res_t *res = kube_resolve(k, t);
      if (!res) {
        groups_free(gs, ng);
        return 1;
      }
      get_group_t *g = group_of(&gs, &ng, res);
      for (int i = 1; i < n; i++)
        strv_push(&g->names, args[i]);
    }
    if (!ng)
      return cli_usage_error(k->verb, "no resource type in \"%s\"", args[0]);
    *out = gs;
    *n_out = ng;
    return 0;
  }
  for (int i = 0; i < n; i++) {
    const char *s = strchr(args[i], '/');
    if (!s) {
      groups_free(gs, ng);
      return cli_usage_error(k->verb, "there is no need to specify a resource type as a "
                                      "separate argument when passing arguments in "
                                      "resource/name form");
    }
    cleanup_free char *type = xstrndup(args[i], (size_t)(s - args[i]));
    const kube_res_t *res = kube_resolve(k, type);
    if (!res) {
      groups_free(gs, ng);
      return 1;
    }
    strv_push(&group_of(&gs, &ng, res)->names, s + 1);
  }
  *out = gs;
  *n_out = ng;
  return 0;
}

int kube_cmd_get(kube_t *k, int argc, char **argv)
{
  static const struct option opts[] = { KUBE_COMMON_OPTS,
                                        { "output", required_argument, NULL, 'o' },
                                        { "watch", no_argument, NULL, 'w' },
                                        { "selector", required_argument, NULL, 'l' },
                                        { "field-selector", required_argument, NULL, OPT_FIELD },
                                        { "all-namespaces", no_argument, NULL, 'A' },
                                        { "show-labels", no_argument, NULL, OPT_SHOW_LABELS },
                                        { "no-headers", no_argument, NULL, OPT_NO_HEADERS },
                                        { 0 } };
  get_opts_t o = { .fmt = OUT_TABLE };
  int c;
  optind = 0;
  while ((c = getopt_long(argc, argv, ":n:ho:wl:A", opts, NULL)) != -1) {
    if (kube_common_opt(k, c, optarg))
      continue;
    switch (c) {
    case 'h':
      fputs(get_usage, stdout);
      return 0;
    case 'o':
      if (parse_output(optarg, &o) < 0)
        return cli_usage_error("get", "unknown output format \"%s\" (wide, json, yaml, name)",
                               optarg);
      break;
    case 'w':
      o.watch = true;
      break;
    case 'l':
      o.label_sel = optarg;
      break;
    case OPT_FIELD:
      o.field_sel = optarg;
      break;
    case 'A':
      o.t.all_ns = true;
      break;
    case OPT_SHOW_LABELS:
      o.t.show_labels = true;
      break;
    case OPT_NO_HEADERS:
      o.t.no_headers = true;
      break;
    default:
      return cli_bad_option("get", c, argv, opts);
    }
  }
  if (optind >= argc)
    return cli_usage_error("get", "get needs a resource type (berth get pods)");
  if (kube_connect(k) < 0)
    return 1;
  get_group_t *gs = NULL;
  size_t ng = 0;
  int rc = parse_targets(k, argv + optind, argc - optind, &gs, &ng);
  if (rc)
    return rc;
  for (size_t i = 0; i < ng && o.t.all_ns; i++) {
    if (gs[i].names) {
      rc = kube_fail("a resource cannot be retrieved by name across all namespaces");
      goto out;
    }
  }
  if (o.watch && (ng > 1 || (gs[0].names && gs[0].names[1]))) {
    rc = kube_fail("you may only specify a single resource type and name to watch");
    goto out;
  }
  if (o.fmt == OUT_TABLE) {
    bool printed = false, names = false;
    size_t with_rows = 0;
    for (size_t i = 0; i < ng; i++) {
      rc |= fetch_table(k, &gs[i], &o);
      with_rows += json_array_size(json_object_get(gs[i].table, "rows")) > 0;
      names = names || gs[i].names;
    }
    /* Each type gets its own writer; a watch keeps its writer's widths. */
    kube_tw_t tw;
    kube_tw_init(&tw, 6, 3);
    tw.remember = o.watch;
    for (size_t i = 0; i < ng; i++) {
      cleanup_free char *prefix = with_rows > 1 ? kube_res_display(gs[i].res) : NULL;
      print_table(&gs[i], &o, prefix, &printed, &tw);
    }
    if (!with_rows && !names && !o.watch && !rc) {
      if (gs[0].res->namespaced && !o.t.all_ns)
        fprintf(stderr, "No resources found in %s namespace.\n", k->ns);
      else
        fputs("No resources found\n", stderr);
    }
    fflush(stdout);
    if (o.watch && !rc && gs[0].table) {
      const char *rv = kube_str(gs[0].table, "metadata.resourceVersion");
      json_t *defs = json_object_get(gs[0].table, "columnDefinitions");
      watcher_t w = { .o = &o,
                      .defs = json_array_size(defs) ? defs : NULL,
                      .header = !printed,
                      .rv = rv ? xstrdup(rv) : NULL,
                      .tw = tw };
      tw = (kube_tw_t){ 0 };
      rc = watch_loop(k, gs[0].res, o.t.all_ns ? NULL : k->ns, gs[0].names ? gs[0].names[0] : NULL,
                      &w);
      json_decref(w.owned);
      free(w.rv);
      kube_tw_free(&w.tw);
    }
    kube_tw_free(&tw);
    goto out;
  }
  json_t *items = json_array();
  char *rv = NULL;
  for (size_t i = 0; i < ng; i++)
    rc |= get_objects(k, &gs[i], &o, items, o.watch ? &rv : NULL);
  bool single = ng == 1 && gs[0].names && !gs[0].names[1];
  if (o.fmt == OUT_NAME) {
    json_t *it;
    size_t i;
    json_array_foreach(items, i, it)
    {
      cleanup_free char *n = kube_object_name(it);
      puts(n);
    }
    json_decref(items);
  } else if (single && json_array_size(items) == 1) {
    if (o.fmt == OUT_JSON)
      kube_print_json(json_array_get(items, 0), stdout);
    else
      kube_print_yaml(json_array_get(items, 0), stdout);
    json_decref(items);
  } else if (!single) {
    cleanup_json json_t *list = kube_list_wrap(items);
    if (o.fmt == OUT_JSON)
      kube_print_json(list, stdout);
    else
      kube_print_yaml(list, stdout);
  } else {
    json_decref(items);
  }
  fflush(stdout);
  if (o.watch && !rc) {
    watcher_t w = { .o = &o, .rv = rv };
    rc = watch_loop(k, gs[0].res, o.t.all_ns ? NULL : k->ns, gs[0].names ? gs[0].names[0] : NULL,
                    &w);
    rv = w.rv;
  }
  free(rv);
out:
  groups_free(gs, ng);
  return rc;
}

/* ---- events ------------------------------------------------------------- */

static const char events_usage[]
    = "Usage: berth events [OPTIONS]\n"
      "\n"
      "List events, oldest first: LAST SEEN, TYPE, REASON, OBJECT, MESSAGE.\n"
      "\n"
      "  -A, --all-namespaces   every namespace (adds a NAMESPACE column)\n"
      "      --for TYPE/NAME    only the events about one object (pod/web)\n"
      "      --kubeconfig FILE, -n NS, --server URL, --token T: see 'berth cluster --help'\n";

/* kubectl events' LAST SEEN: the first time (eventTime, else
 * firstTimestamp), or "last (xN over first)" for a repeated event. */
static char *event_interval(json_t *e)
{
  const char *et = json_str(e, "eventTime");
  cleanup_free char *first = kube_age(et && *et ? et : kube_str(e, "firstTimestamp"));
  json_t *series = json_object_get(e, "series");
  if (json_is_object(series)) {
    cleanup_free char *last = kube_age(json_str(series, "lastObservedTime"));
    return xasprintf("%s (x%lld over %s)", last, (long long)json_int(series, "count", 0), first);
  }
  if (json_int(e, "count", 0) > 1) {
    cleanup_free char *last = kube_age(json_str(e, "lastTimestamp"));
    return xasprintf("%s (x%lld over %s)", last, (long long)json_int(e, "count", 0), first);
  }
  return xstrdup(first);
}

int kube_cmd_events(kube_t *k, int argc, char **argv)
{
  static const struct option opts[] = { KUBE_COMMON_OPTS,
                                        { "all-namespaces", no_argument, NULL, 'A' },
                                        { "for", required_argument, NULL, OPT_FOR },
                                        { 0 } };
  bool all = false;
  const char *for_obj = NULL;
  int c;
  optind = 0;
  while ((c = getopt_long(argc, argv, ":n:hA", opts, NULL)) != -1) {
    if (kube_common_opt(k, c, optarg))
      continue;
    switch (c) {
    case 'h':
      fputs(events_usage, stdout);
      return 0;
    case 'A':
      all = true;
      break;
    case OPT_FOR:
      for_obj = optarg;
      break;
    default:
      return cli_bad_option("events", c, argv, opts);
    }
  }
  if (optind < argc)
    return cli_usage_error("events", "events takes no arguments (got \"%s\")", argv[optind]);
  if (for_obj && !strchr(for_obj, '/'))
    return cli_usage_error("events", "--for wants TYPE/NAME (got \"%s\")", for_obj);
  if (kube_connect(k) < 0)
    return 1;
  const kube_res_t *ev = kube_resolve(k, "events");
  if (!ev)
    return 1;
  buf_t q = { 0 };
  if (for_obj) {
    cleanup_free char *type = xstrndup(for_obj, strcspn(for_obj, "/"));
    const kube_res_t *res = kube_resolve(k, type);
    if (!res)
      return 1;
    cleanup_free char *gv = kube_res_gv(res);
    cleanup_free char *f
        = xasprintf("involvedObject.kind=%s,involvedObject.apiVersion=%s,involvedObject.name=%s",
                    res->kind, gv, strchr(for_obj, '/') + 1);
    kube_query_add(&q, "fieldSelector", f);
  }
  cleanup_free char *qs = q.data ? buf_steal(&q) : xstrdup("");
  cleanup_free char *path = kube_path(ev, all ? NULL : k->ns, NULL, NULL, qs);
  cleanup_reply kube_reply_t r;
  if (kube_call(k, "GET", path, NULL, "application/json", NULL, &r) < 0)
    return 1;
  if (r.code != 200)
    return kube_reply_fail(&r, NULL);
  json_t *items = json_object_get(r.json, "items");
  size_t n = json_array_size(items);
  if (!n) {
    if (all)
      fputs("No events found.\n", stderr);
    else
      fprintf(stderr, "No events found in %s namespace.\n", k->ns);
    return 0;
  }
  /* Like kubectl events, the cells are made here from the whole events. */
  json_t **v = xcalloc(n, sizeof *v);
  for (size_t i = 0; i < n; i++)
    v[i] = json_array_get(items, i);
  kube_sort_events(v, n);
  kube_tw_t tw;
  kube_tw_init(&tw, 6, 3);
  kube_tw_printf(&tw, "%sLAST SEEN\tTYPE\tREASON\tOBJECT\tMESSAGE\n", all ? "NAMESPACE\t" : "");
  for (size_t i = 0; i < n; i++) {
    json_t *e = v[i];
    cleanup_free char *interval = event_interval(e);
    cleanup_free char *msg = xstrdup(json_str(e, "message") ?: "");
    char *m = msg + strspn(msg, " \t\r\n");
    size_t l = strlen(m);
    while (l && strchr(" \t\r\n", m[l - 1]))
      m[--l] = '\0';
    if (all)
      kube_tw_printf(&tw, "%s\t", kube_str(e, "metadata.namespace") ?: "");
    kube_tw_printf(&tw, "%s\t%s\t%s\t%s/%s\t%s\n", interval, json_str(e, "type") ?: "",
                   json_str(e, "reason") ?: "", kube_str(e, "involvedObject.kind") ?: "",
                   kube_str(e, "involvedObject.name") ?: "", m);
  }
  free(v);
  kube_tw_flush(&tw, stdout);
  return 0;
}
