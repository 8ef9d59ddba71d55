/* kube_apply.c — manifests and `berth apply`: kubectl's client-side apply.
 * Each object remembers what was last applied to it in the annotation
 * kubectl.kubernetes.io/last-applied-configuration; a new apply sends a
 * strategic merge patch computed three ways, as kubectl does: from the
 * last-applied (original) to the manifest (modified) for what to delete,
 * and from the live object (current) to the manifest for what to set. Lists
 * the server merges by key (containers by name…, api_smp_merge_key) are
 * diffed element by element, with "$patch": "delete" for the elements the
 * manifest dropped; every other list is sent whole when it differs.
 *
 * All files are read and parsed before the first request, so a typo in the
 * third document creates nothing. */
#include "api/api.h"
#include "cli/kube.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

static const char apply_usage[]
    = "Usage: berth apply -f FILE|DIR|- [-f …] [OPTIONS]\n"
      "\n"
      "Create or update the objects of YAML or JSON manifests (several documents per\n"
      "file, \"kind: List\" expanded; a directory takes its *.yaml, *.yml and *.json in\n"
      "name order; \"-\" reads stdin). An object that exists is patched with what\n"
      "changed since the last apply (client-side apply, as kubectl): prints\n"
      "\"configmap/app created\", \"configured\" or \"unchanged\".\n"
      "\n"
      "  -f, --filename F   the manifests (repeatable)\n"
      "      --kubeconfig FILE, -n NS, --server URL, --token T: see 'berth cluster --help'\n";

/* ---- reading manifests --------------------------------------------------- */

/* Adds one parsed document (or the items of a List) to out. */
static int add_doc(json_t *out, const char *src, json_t *doc)
{
  if (!json_is_object(doc)) {
    kube_fail("error validating \"%s\": error validating data: the document is not an object", src);
    return -1;
  }
  const char *av = json_str(doc, "apiVersion"), *kind = json_str(doc, "kind");
  if (!av || !*av || !kind || !*kind) {
    bool both = (!av || !*av) && (!kind || !*kind);
    kube_fail("error validating \"%s\": error validating data: %s%s%s%s%s", src, both ? "[" : "",
              !av || !*av ? "apiVersion not set" : "", both ? ", " : "",
              !kind || !*kind ? "kind not set" : "", both ? "]" : "");
    return -1;
  }
  if (!strcmp(kind, "List") || (str_has_suffix(kind, "List") && json_object_get(doc, "items"))) {
    json_t *it;
    size_t i;
    json_array_foreach(json_object_get(doc, "items"), i, it)
    {
      if (add_doc(out, src, it) < 0)
        return -1;
    }
    return 0;
  }
  json_array_append_new(out, json_pack("{s:s, s:O}", "source", src, "object", doc));
  return 0;
}

static int read_text(const char *path, char **text, size_t *len)
{
  berr_t err = BERR_INIT;
  if (strcmp(path, "-")) {
    if (fs_read_file(path, 0, text, len, &err) < 0) {
      if (err.code == ENOENT) {
        berr_clear(&err);
        kube_fail("the path \"%s\" does not exist", path);
        return -1;
      }
      kube_fail_err(&err);
      return -1;
    }
    return 0;
  }
  buf_t b = { 0 };
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
    buf_append(&b, chunk, n);
  *len = b.len;
  *text = b.data ? buf_steal(&b) : xstrdup("");
  return 0;
}

static int read_file(json_t *out, const char *path)
{
  cleanup_free char *text = NULL;
  size_t len = 0;
  if (read_text(path, &text, &len) < 0)
    return -1;
  const char *src = strcmp(path, "-") ? path : "STDIN";
  berr_t err = BERR_INIT;
  cleanup_json json_t *docs = api_yaml_load_all(text, len, &err);
  if (!docs) {
    kube_fail("error parsing %s: %s", src, err.msg ? err.msg : "invalid YAML");
    berr_clear(&err);
    return -1;
  }
  json_t *d;
  size_t i;
  json_array_foreach(docs, i, d)
  {
    if (add_doc(out, src, d) < 0)
      return -1;
  }
  return 0;
}

static int read_path(json_t *out, const char *path)
{
  cleanup_dir DIR *d = strcmp(path, "-") ? opendir(path) : NULL;
  if (!d)
    return read_file(out, path);
  cleanup_strv char **names = NULL;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    if (str_has_suffix(e->d_name, ".yaml") || str_has_suffix(e->d_name, ".yml")
        || str_has_suffix(e->d_name, ".json"))
      strv_push(&names, e->d_name);
  }
  if (!names)
    return 0;
  strv_sort(names);
  for (size_t i = 0; names[i]; i++) {
    cleanup_free char *p = path_join(path, names[i]);
    if (read_file(out, p) < 0)
      return -1;
  }
  return 0;
}

json_t *kube_read_manifests(char **files)
{
  json_t *out = json_array();
  for (size_t i = 0; files && files[i]; i++) {
    if (read_path(out, files[i]) < 0) {
      json_decref(out);
      return NULL;
    }
  }
  return out;
}

/* ---- the three-way patch -------------------------------------------------- */

static json_t *diff_map(json_t *orig, json_t *mod, json_t *cur, const char *kind, const char *path);

static char *child_path(const char *path, const char *key)
{
  return *path ? xasprintf("%s.%s", path, key) : xstrdup(key);
}

static json_t *find_keyed(json_t *list, const char *key, json_t *value)
{
  json_t *e;
  size_t i;
  json_array_foreach(list, i, e)
  {
    json_t *v = json_object_get(e, key);
    if (v && json_equal(v, value))
      return e;
  }
  return NULL;
}

static bool in_list(json_t *list, json_t *v)
{
  json_t *e;
  size_t i;
  json_array_foreach(list, i, e) if (json_equal(e, v)) return true;
  return false;
}

/* The patch entries for the list field key of a map (mod and cur lists). */
static void diff_list(json_t *patch, const char *key, json_t *orig, json_t *mod, json_t *cur,
                      const char *kind, const char *path)
{
  const char *mk = api_smp_merge_key(kind, path);
  if (!mk) {
    if (!json_equal(mod, cur))
      json_object_set_new(patch, key, json_deep_copy(mod));
    return;
  }
  if (!json_is_array(orig))
    orig = NULL;
  if (!*mk) {
    /* A set of scalars: the server takes the union, so removals are said. */
    if (!json_equal(mod, cur))
      json_object_set_new(patch, key, json_deep_copy(mod));
    json_t *gone = json_array(), *e;
    size_t i;
    json_array_foreach(orig, i, e) if (!in_list(mod, e) && in_list(cur, e))
        json_array_append(gone, e);
    if (json_array_size(gone)) {
      cleanup_free char *dk = xasprintf("$deleteFromPrimitiveList/%s", key);
      json_object_set_new(patch, dk, gone);
    } else {
      json_decref(gone);
    }
    return;
  }
  json_t *plist = json_array(), *e;
  size_t i;
  bool keyed = true;
  json_array_foreach(mod, i, e) keyed = keyed && json_object_get(e, mk);
  if (!keyed) {
    /* The server will say what is wrong with it. */
    json_decref(plist);
    if (!json_equal(mod, cur))
      json_object_set_new(patch, key, json_deep_copy(mod));
    return;
  }
  /* Deletions first: the server checks the other elements against
   * $setElementOrder and must not meet a directive after them. */
  json_array_foreach(orig, i, e)
  {
    json_t *kv = json_object_get(e, mk);
    if (kv && !find_keyed(mod, mk, kv) && find_keyed(cur, mk, kv))
      json_array_append_new(plist, json_pack("{s:O, s:s}", mk, kv, "$patch", "delete"));
  }
  json_array_foreach(mod, i, e)
  {
    json_t *kv = json_object_get(e, mk);
    json_t *ce = find_keyed(cur, mk, kv), *oe = find_keyed(orig, mk, kv);
    if (!ce) {
      json_array_append_new(plist, json_deep_copy(e));
      continue;
    }
    json_t *sub = diff_map(oe, e, ce, kind, path);
    if (json_object_size(sub)) {
      json_object_set(sub, mk, kv);
      json_array_append(plist, sub);
    }
    json_decref(sub);
  }
  if (!json_array_size(plist)) {
    json_decref(plist);
    return;
  }
  /* The manifest's order, as kubectl says it (not for an emptied list:
   * there is no order to keep, and the server checks against it). */
  if (json_array_size(mod)) {
    json_t *order = json_array();
    json_array_foreach(mod, i, e)
        json_array_append_new(order, json_pack("{s:O}", mk, json_object_get(e, mk)));
    cleanup_free char *ok = xasprintf("$setElementOrder/%s", key);
    json_object_set_new(patch, ok, order);
  }
  json_object_set_new(patch, key, plist);
}

static json_t *diff_map(json_t *orig, json_t *mod, json_t *cur, const char *kind, const char *path)
{
  json_t *patch = json_object();
  if (!json_is_object(orig))
    orig = NULL;
  if (!json_is_object(cur))
    cur = NULL;
  const char *key;
  json_t *m;
  json_object_foreach(mod, key, m)
  {
    json_t *c = cur ? json_object_get(cur, key) : NULL;
    json_t *o = orig ? json_object_get(orig, key) : NULL;
    cleanup_free char *p = child_path(path, key);
    if (json_is_object(m) && json_is_object(c)) {
      json_t *sub = diff_map(o, m, c, kind, p);
      if (json_object_size(sub))
        json_object_set_new(patch, key, sub);
      else
        json_decref(sub);
    } else if (json_is_array(m) && json_is_array(c)) {
      diff_list(patch, key, o, m, c, kind, p);
    } else if (json_is_null(m)) {
      if (c)
        json_object_set_new(patch, key, json_null());
    } else if (!c || !json_equal(m, c)) {
      json_object_set_new(patch, key, json_deep_copy(m));
    }
  }
  json_t *o;
  json_object_foreach(orig, key, o)
  {
    if (!json_object_get(mod, key) && (!cur || json_object_get(cur, key)))
      json_object_set_new(patch, key, json_null());
  }
  return patch;
}

/* ---- apply and create ------------------------------------------------------ */

int kube_target_of(kube_t *k, json_t *entry, bool need_name, kube_target_t *t)
{
  const char *src = json_str(entry, "source");
  json_t *obj = json_object_get(entry, "object");
  json_t *meta = json_object_get(obj, "metadata");
  if (!json_is_object(meta)) {
    meta = json_object();
    json_object_set_new(obj, "metadata", meta);
  }
  const char *name = json_str(meta, "name"), *ns = json_str(meta, "namespace");
  cleanup_free char *why = NULL;
  t->res = kube_resolve_kind(k, json_str(obj, "apiVersion"), json_str(obj, "kind"), &why);
  if (!t->res) {
    kube_fail("resource mapping not found for name: \"%s\" namespace: \"%s\" from \"%s\": %s\n"
              "ensure CRDs are installed first",
              name ? name : "", ns ? ns : "", src, why);
    return -1;
  }
  if (need_name && (!name || !*name)) {
    if (json_str(meta, "generateName"))
      kube_fail("from %s: cannot use generate name with apply", src);
    else
      kube_fail("from %s: resource name may not be empty", src);
    return -1;
  }
  t->name = name && *name ? name : NULL;
  t->ns = NULL;
  if (t->res->namespaced) {
    if (ns && *ns && k->ns_flag && strcmp(ns, k->ns_flag)) {
      kube_fail("the namespace from the provided object \"%s\" does not match the namespace "
                "\"%s\". You must pass '--namespace=%s' to perform this operation.",
                ns, k->ns_flag, ns);
      return -1;
    }
    t->ns = xstrdup(ns && *ns ? ns : k->ns);
    json_object_set_new(meta, "namespace", json_string(t->ns));
  }
  return 0;
}

static int create_one(kube_t *k, kube_target_t *t, json_t *obj, const char *src,
                      const char *manager, const char *verb_done)
{
  cleanup_free char *query = xasprintf("fieldManager=%s&fieldValidation=Strict", manager);
  cleanup_free char *path = kube_path(t->res, t->ns, NULL, NULL, query);
  cleanup_reply kube_reply_t r;
  if (kube_call(k, "POST", path, NULL, NULL, obj, &r) < 0)
    return -1;
  kube_print_warnings(&r);
  if (r.code != 201 && r.code != 200) {
    cleanup_free char *what = xasprintf("error when creating \"%s\": ", src);
    kube_reply_fail(&r, what);
    return -1;
  }
  const char *name = kube_str(r.json, "metadata.name");
  cleanup_free char *disp = kube_res_display(t->res);
  printf("%s/%s %s\n", disp, name ? name : t->name ? t->name : "", verb_done);
  return 0;
}

static int apply_one(kube_t *k, json_t *entry)
{
  const char *src = json_str(entry, "source");
  json_t *obj = json_object_get(entry, "object");
  kube_target_t t;
  if (kube_target_of(k, entry, true, &t) < 0)
    return -1;
  cleanup_free char *ns = t.ns;
  /* modified: the manifest with the annotation it will be remembered by. */
  cleanup_json json_t *mod = json_deep_copy(obj);
  json_t *meta = json_object_get(mod, "metadata");
  json_t *ann = json_object_get(meta, "annotations");
  if (!json_is_object(ann)) {
    ann = json_object();
    json_object_set_new(meta, "annotations", ann);
  }
  json_object_del(ann, LAST_APPLIED);
  cleanup_free char *compact = kube_json_compact(mod);
  json_object_set_new(ann, LAST_APPLIED, json_sprintf("%s\n", compact));

  cleanup_free char *path = kube_path(t.res, t.ns, t.name, NULL, NULL);
  cleanup_reply kube_reply_t r;
  if (kube_call(k, "GET", path, NULL, "application/json", NULL, &r) < 0)
    return -1;
  if (r.code == 404)
    return create_one(k, &t, mod, src, "kubectl-client-side-apply", "created");
  if (r.code != 200) {
    cleanup_free char *what
        = xasprintf("error when retrieving current configuration of \"%s\": ", src);
    kube_reply_fail(&r, what);
    return -1;
  }
  cleanup_free char *disp = kube_res_display(t.res);
  const char *orig_s = json_str(kube_get(r.json, "metadata.annotations"), LAST_APPLIED);
  cleanup_json json_t *orig = orig_s ? json_loads(orig_s, 0, NULL) : NULL;
  if (!orig_s)
    fprintf(stderr,
            "Warning: resource %s/%s is missing the " LAST_APPLIED " annotation which is "
            "required by berth apply. berth apply should only be used on resources created "
            "declaratively by either berth create --save-config or berth apply. The missing "
            "annotation will be patched automatically.\n",
            t.res->resource, t.name);
  cleanup_json json_t *patch = diff_map(orig, mod, r.json, t.res->kind, "");
  if (!json_object_size(patch)) {
    printf("%s/%s unchanged\n", disp, t.name);
    return 0;
  }
  cleanup_free char *ppath = kube_path(t.res, t.ns, t.name, NULL,
                                       "fieldManager=kubectl-client-side-apply&fieldValidation="
                                       "Strict");
  cleanup_reply kube_reply_t p;
  if (kube_call(k, "PATCH", ppath, "application/strategic-merge-patch+json", NULL, patch, &p) < 0)
    return -1;
  kube_print_warnings(&p);
  if (p.code != 200) {
    cleanup_free char *what = xasprintf("error when patching \"%s\": ", src);
    kube_reply_fail(&p, what);
    return -1;
  }
  printf("%s/%s configured\n", disp, t.name);
  return 0;
}

int kube_create_files(kube_t *k, char **files)
{
  cleanup_json json_t *docs = kube_read_manifests(files);
  if (!docs)
    return 1;
  if (!json_array_size(docs))
    return kube_fail("no objects passed to create");
  int rc = 0;
  json_t *e;
  size_t i;
  json_array_foreach(docs, i, e)
  {
    kube_target_t t;
    if (kube_target_of(k, e, false, &t) < 0) {
      rc = 1;
      continue;
    }
    if (create_one(k, &t, json_object_get(e, "object"), json_str(e, "source"), "kubectl-create",
                   "created")
        < 0)
      rc = 1;
    free(t.ns);
    fflush(stdout);
  }
  return rc;
}

int kube_cmd_apply(kube_t *k, int argc, char **argv)
{
  static const struct option opts[]
      = { KUBE_COMMON_OPTS, { "filename", required_argument, NULL, 'f' }, { 0 } };
  cleanup_strv char **files = NULL;
  int c;
  optind = 0;
  while ((c = getopt_long(argc, argv, ":n:hf:", opts, NULL)) != -1) {
    if (kube_common_opt(k, c, optarg))
      continue;
    switch (c) {
    case 'h':
      fputs(apply_usage, stdout);
      return 0;
    case 'f':
      strv_push(&files, optarg);
      break;
    default:
      return cli_bad_option("apply", c, argv, opts);
    }
  }
  if (optind < argc)
    return cli_usage_error("apply", "apply takes no arguments (got \"%s\"); use -f FILE",
                           argv[optind]);
  if (!files)
    return cli_usage_error("apply", "apply needs -f FILE|DIR|-");
  cleanup_json json_t *docs = kube_read_manifests(files);
  if (!docs)
    return 1;
  if (!json_array_size(docs))
    return kube_fail("no objects passed to apply");
  if (kube_connect(k) < 0)
    return 1;
  int rc = 0;
  json_t *e;
  size_t i;
  json_array_foreach(docs, i, e)
  {
    if (apply_one(k, e) < 0)
      rc = 1;
    fflush(stdout);
  }
  return rc;
}
