/* kube_create.c — the verbs that make or remove objects without a diff:
 * `berth create` (-f, namespace, configmap, secret generic), `berth run`
 * (one pod) and `berth delete` (then waiting until the object is gone, as
 * kubectl does by default: a pod with a deletionTimestamp stays until its
 * node has stopped it). */
#include "api/api.h"
#include "cli/kube.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
  OPT_FROM_LITERAL = KOPT_FIRST_VERB,
  OPT_FROM_FILE,
  OPT_IGNORE_NF,
  OPT_GRACE,
  OPT_NOW,
  OPT_WAIT,
  OPT_FORCE,
  OPT_IMAGE,
  OPT_RESTART,
  OPT_ENV,
  OPT_COMMAND,
  OPT_PORT,
  OPT_TIMEOUT,
  OPT_ALL,
  OPT_FROM
};

/* ---- create --------------------------------------------------------------- */

static const char create_usage[]
    = "Usage: berth create -f FILE|DIR|- [OPTIONS]\n"
      "       berth create namespace NAME\n"
      "       berth create configmap NAME [--from-literal=KEY=VALUE…] [--from-file=[KEY=]PATH…]\n"
      "       berth create secret generic NAME [--from-literal=KEY=VALUE…] "
      "[--from-file=[KEY=]PATH…]\n"
      "       berth create job NAME --from=cronjob/CRONJOB\n"
      "\n"
      "Create objects: those of manifests (an existing one is an error: AlreadyExists),\n"
      "or a namespace, a configmap or an Opaque secret from literals and files, or a job\n"
      "from a cronjob's template (run it now, outside its schedule).\n"
      "\n"
      "  -f, --filename F          the manifests (repeatable)\n"
      "      --from-literal K=V    a data key and its value (repeatable)\n"
      "      --from-file [K=]PATH  a data key (default: the file's name) and the file\n"
      "      --from cronjob/NAME   the cronjob whose job template to use\n"
      "      --kubeconfig FILE, -n NS, --server URL, --token T: see 'berth cluster --help'\n";

/* kubectl refuses a bad data key before sending anything. */
static int check_key(const char *key, bool secret)
{
  cleanup_strv char **why = NULL;
  if (api_is_config_map_key(key, &why))
    return 0;
  buf_t b = { 0 };
  for (size_t i = 0; why && why[i]; i++)
    buf_printf(&b, "%s%s", i ? "; " : "", why[i]);
  kube_fail("\"%s\" is not a valid key name for a %s: %s", key, secret ? "Secret" : "ConfigMap",
            b.data ? b.data : "invalid");
  buf_free(&b);
  return 1;
}

/* data from --from-literal and --from-file; secrets get base64. */
static int build_data(char **literals, char **files, bool secret, json_t **out, json_t **binary)
{
  json_t *data = json_object();
  for (size_t i = 0; literals && literals[i]; i++) {
    const char *eq = strchr(literals[i], '=');
    if (!eq || eq == literals[i]) {
      json_decref(data);
      return cli_usage_error("create", "--from-literal wants KEY=VALUE (got \"%s\")", literals[i]);
    }
    cleanup_free char *key = xstrndup(literals[i], (size_t)(eq - literals[i]));
    if (check_key(key, secret)) {
      json_decref(data);
      return 1;
    }
    if (json_object_get(data, key)) {
      json_decref(data);
      return cli_usage_error("create", "cannot add key %s, another key by that name already exists",
                             key);
    }
    cleanup_free char *b64
        = secret ? api_base64_encode((const unsigned char *)eq + 1, strlen(eq + 1)) : NULL;
    json_object_set_new(data, key, json_string(secret ? b64 : eq + 1));
  }
  for (size_t i = 0; files && files[i]; i++) {
    const char *eq = strchr(files[i], '=');
    const char *path = eq ? eq + 1 : files[i];
    const char *base = strrchr(path, '/');
    cleanup_free char *key
        = eq ? xstrndup(files[i], (size_t)(eq - files[i])) : xstrdup(base ? base + 1 : path);
    cleanup_free char *text = NULL;
    size_t len = 0;
    berr_t err = BERR_INIT;
    if (check_key(key, secret) || fs_read_file(path, 0, &text, &len, &err) < 0) {
      json_decref(data);
      json_decref(*binary);
      *binary = NULL;
      return err.msg ? kube_fail_err(&err) : 1;
    }
    json_t *v = secret ? NULL : json_stringn(text, len);
    if (v) {
      json_object_set_new(data, key, v);
      continue;
    }
    /* Secrets, and files that are not UTF-8 text (a configmap's binaryData). */
    cleanup_free char *b64 = api_base64_encode((unsigned char *)text, len);
    if (!secret && !*binary)
      *binary = json_object();
    json_object_set_new(secret ? data : *binary, key, json_string(b64));
  }
  *out = data;
  return 0;
}

/* POSTs obj; what: kubectl's prefix for the server's error ("failed to
 * create configmap: "), or NULL for its usual "Error from server …". */
static int create_kind(kube_t *k, const char *type, const char *name, json_t *obj, const char *what)
{
  if (kube_connect(k) < 0)
    return 1;
  const kube_res_t *res = kube_resolve(k, type);
  if (!res)
    return 1;
  if (res->namespaced)
    json_object_set_new(json_object_get(obj, "metadata"), "namespace", json_string(k->ns));
  cleanup_free char *path
      = kube_path(res, k->ns, NULL, NULL, "fieldManager=kubectl-create&fieldValidation=Strict");
  cleanup_reply kube_reply_t r;
  if (kube_call(k, "POST", path, NULL, NULL, obj, &r) < 0)
    return 1;
  kube_print_warnings(&r);
  if (r.code != 201 && r.code != 200) {
    const char *m = json_str(r.json, "message");
    if (what && m)
      return kube_fail("%s%s", what, m);
    return kube_reply_fail(&r, NULL);
  }
  cleanup_free char *disp = kube_res_display(res);
  printf("%s/%s created\n", disp, name);
  return 0;
}

/* kubectl create job NAME --from=cronjob/X: the cronjob's job template, run
 * now; annotated as made by hand so the cronjob does not count it. */
static int create_job_from(kube_t *k, const char *name, const char *from)
{
  const char *slash = strchr(from, '/');
  if (!slash || !slash[1])
    return cli_usage_error("create", "--from must be cronjob/NAME (got \"%s\")", from);
  cleanup_free char *type = xstrndup(from, (size_t)(slash - from));
  if (kube_connect(k) < 0)
    return 1;
  const kube_res_t *cj = kube_resolve(k, type);
  if (!cj)
    return 1;
  if (strcmp(cj->kind, "CronJob"))
    return kube_fail("from must be an existing cronjob: %s", from);
  cleanup_free char *path = kube_path(cj, k->ns, slash + 1, NULL, NULL);
  cleanup_reply kube_reply_t r;
  if (kube_call(k, "GET", path, NULL, "application/json", NULL, &r) < 0)
    return 1;
  if (r.code != 200)
    return kube_reply_fail(&r, NULL);
  json_t *tmpl = kube_get(r.json, "spec.jobTemplate");
  json_t *ann = json_deep_copy(kube_get(tmpl, "metadata.annotations"));
  if (!json_is_object(ann)) {
    json_decref(ann);
    ann = json_object();
  }
  json_object_set_new(ann, "cronjob.kubernetes.io/instantiate", json_string("manual"));
  json_t *labels = kube_get(tmpl, "metadata.labels");
  json_t *md = json_pack("{s:s,s:o,s:[{s:s,s:s,s:s,s:s?,s:b}]}", "name", name, "annotations", ann,
                         "ownerReferences", "apiVersion", "batch/v1", "kind", "CronJob", "name",
                         slash + 1, "uid", kube_str(r.json, "metadata.uid"), "controller", 1);
  if (json_is_object(labels))
    json_object_set(md, "labels", labels);
  json_t *spec = kube_get(tmpl, "spec");
  cleanup_json json_t *job = json_pack("{s:s,s:s,s:o,s:O}", "apiVersion", "batch/v1", "kind", "Job",
                                       "metadata", md, "spec", spec ? spec : json_object());
  return create_kind(k, "jobs.batch", name, job, NULL);
}

int kube_cmd_create(kube_t *k, int argc, char **argv)
{
  static const struct option opts[]
      = { KUBE_COMMON_OPTS,
          { "filename", required_argument, NULL, 'f' },
          { "from-literal", required_argument, NULL, OPT_FROM_LITERAL },
          { "from-file", required_argument, NULL, OPT_FROM_FILE },
          { "from", required_argument, NULL, OPT_FROM },
          { 0 } };
  cleanup_strv char **files = NULL, **literals = NULL, **from_files = NULL;
  const char *from = NULL;
  int c;
  optind = 0;
  while ((c = getopt_long(argc, argv, ":n:hf:", opts, NULL)) != -1) {
    if (kube_common_opt(k, c, optarg))
      continue;
    switch (c) {
    case 'h':
      fputs(create_usage, stdout);
      return 0;
    case 'f':
      strv_push(&files, optarg);
      break;
    case OPT_FROM_LITERAL:
      strv_push(&literals, optarg);
      break;
    case OPT_FROM_FILE:
      strv_push(&from_files, optarg);
      break;
    case OPT_FROM:
      from = optarg;
      break;
    default:
      return cli_bad_option("create", c, argv, opts);
    }
  }
  char **args = argv + optind;
  int n = argc - optind;
  if (files) {
    if (n > 0)
      return cli_usage_error("create", "create -f takes no arguments (got \"%s\")", args[0]);
    if (kube_connect(k) < 0)
      return 1;
    return kube_create_files(k, files);
  }
  if (n == 0)
    return cli_usage_error("create", "create needs -f FILE or what to create (namespace, "
                                     "configmap, secret generic)");
  const char *what = args[0];
  bool secret = !strcmp(what, "secret");
  if (secret) {
    if (n < 2 || strcmp(args[1], "generic"))
      return cli_usage_error("create", "berth creates generic secrets only: create secret "
                                       "generic NAME");
    args++;
    n--;
  }
  if (n != 2)
    return cli_usage_error("create", "create %s needs exactly one NAME", what);
  const char *name = args[1];
  if (!strcmp(what, "namespace") || !strcmp(what, "ns")) {
    if (literals || from_files)
      return cli_usage_error("create", "a namespace takes no data");
    cleanup_json json_t *obj
        = json_pack("{s:s, s:s, s:{s:s}, s:{}, s:{}}", "apiVersion", "v1", "kind", "Namespace",
                    "metadata", "name", name, "spec", "status");
    return create_kind(k, "namespaces", name, obj, NULL);
  }
  if (!strcmp(what, "job")) {
    if (!from)
      return cli_usage_error("create", "berth creates a job only from a cronjob: create job NAME "
                                       "--from=cronjob/CRONJOB");
    return create_job_from(k, name, from);
  }
  if (from)
    return cli_usage_error("create", "--from is for create job");
  if (!strcmp(what, "configmap") || !strcmp(what, "cm") || secret) {
    json_t *data = NULL, *binary = NULL;
    int rc = build_data(literals, from_files, secret, &data, &binary);
    if (rc)
      return rc;
    cleanup_json json_t *obj
        = json_pack("{s:s, s:s, s:{s:s}, s:o}", "apiVersion", "v1", "kind",
                    secret ? "Secret" : "ConfigMap", "metadata", "name", name, "data", data);
    if (secret)
      json_object_set_new(obj, "type", json_string("Opaque"));
    if (binary)
      json_object_set_new(obj, "binaryData", binary);
    return create_kind(k, secret ? "secrets" : "configmaps", name, obj,
                       secret ? "failed to create secret " : "failed to create configmap: ");
  }
  return cli_usage_error("create",
                         "berth cannot create \"%s\" from the command line "
                         "(namespace, configmap, secret generic; or use -f)",
                         what);
}

/* ---- run ------------------------------------------------------------------- */

static const char run_usage[]
    = "Usage: berth run NAME --image IMAGE [OPTIONS] [-- ARGS…]\n"
      "\n"
      "Create a pod with one container called NAME (label run=NAME); ARGS are the\n"
      "container's arguments, or with --command its command.\n"
      "\n"
      "      --image IMAGE      the image (required)\n"
      "      --restart POLICY   Always (default), OnFailure or Never\n"
      "      --env K=V          an environment variable (repeatable)\n"
      "  -l, --labels K=V,…     the pod's labels instead of run=NAME\n"
      "      --port N           the container port to declare\n"
      "      --command          ARGS are the command, not arguments to the image's\n"
      "      --kubeconfig FILE, -n NS, --server URL, --token T: see 'berth cluster --help'\n";

int kube_cmd_run(kube_t *k, int argc, char **argv)
{
  static const struct option opts[] = { KUBE_COMMON_OPTS,
                                        { "image", required_argument, NULL, OPT_IMAGE },
                                        { "restart", required_argument, NULL, OPT_RESTART },
                                        { "env", required_argument, NULL, OPT_ENV },
                                        { "labels", required_argument, NULL, 'l' },
                                        { "port", required_argument, NULL, OPT_PORT },
                                        { "command", no_argument, NULL, OPT_COMMAND },
                                        { 0 } };
  int dash_argc, n_rest;
  char **rest;
  kube_split_dash(argc, argv, &dash_argc, &rest, &n_rest);
  const char *image = NULL, *restart = "Always", *labels = NULL, *port = NULL;
  cleanup_strv char **envs = NULL;
  bool command = false;
  int c;
  optind = 0;
  while ((c = getopt_long(dash_argc, argv, ":n:hl:", opts, NULL)) != -1) {
    if (kube_common_opt(k, c, optarg))
      continue;
    switch (c) {
    case 'h':
      fputs(run_usage, stdout);
      return 0;
    case OPT_IMAGE:
      image = optarg;
      break;
    case OPT_RESTART:
      restart = optarg;
      break;
    case OPT_ENV:
      strv_push(&envs, optarg);
      break;
    case 'l':
      labels = optarg;
      break;
    case OPT_PORT:
      port = optarg;
      break;
    case OPT_COMMAND:
      command = true;
      break;
    default:
      return cli_bad_option("run", c, argv, opts);
    }
  }
  if (optind >= dash_argc)
    return cli_usage_error("run", "run needs a NAME");
  const char *name = argv[optind];
  /* kubectl takes arguments before "--" too: run web --image x sleep 10 */
  cleanup_strv char **args = NULL;
  for (int i = optind + 1; i < dash_argc; i++)
    strv_push(&args, argv[i]);
  for (int i = 0; i < n_rest; i++)
    strv_push(&args, rest[i]);
  if (!image)
    return cli_usage_error("run", "run needs --image IMAGE");
  if (strcmp(restart, "Always") && strcmp(restart, "OnFailure") && strcmp(restart, "Never"))
    return cli_usage_error("run", "invalid --restart \"%s\" (Always, OnFailure, Never)", restart);
  if (command && !args)
    return cli_usage_error("run", "--command needs a command after --");
  json_t *lab = json_object();
  if (labels) {
    cleanup_free char *l = xstrdup(labels);
    char *save = NULL;
    for (char *kv = strtok_r(l, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
      char *eq = strchr(kv, '=');
      if (!eq || eq == kv) {
        json_decref(lab);
        return cli_usage_error("run", "invalid label \"%s\": want KEY=VALUE", kv);
      }
      *eq = '\0';
      json_object_set_new(lab, kv, json_string(eq + 1));
    }
  } else {
    json_object_set_new(lab, "run", json_string(name));
  }
  json_t *ctr = json_pack("{s:s, s:s, s:{}}", "name", name, "image", image, "resources");
  if (args)
    json_object_set_new(ctr, command ? "command" : "args", strv_to_json(args));
  if (envs) {
    json_t *env = json_array();
    for (size_t i = 0; envs[i]; i++) {
      const char *eq = strchr(envs[i], '=');
      if (!eq || eq == envs[i]) {
        json_decref(env);
        json_decref(ctr);
        json_decref(lab);
        return cli_usage_error("run", "invalid --env \"%s\": want KEY=VALUE", envs[i]);
      }
      json_array_append_new(
          env, json_pack("{s:s%, s:s}", "name", envs[i], (size_t)(eq - envs[i]), "value", eq + 1));
    }
    json_object_set_new(ctr, "env", env);
  }
  if (port) {
    int64_t p;
    if (parse_int64(port, &p, NULL) < 0 || p < 1 || p > 65535) {
      json_decref(ctr);
      json_decref(lab);
      return cli_usage_error("run", "invalid --port \"%s\"", port);
    }
    json_object_set_new(ctr, "ports", json_pack("[{s:I}]", "containerPort", (json_int_t)p));
  }
  cleanup_json json_t *pod
      = json_pack("{s:s, s:s, s:{s:s, s:o}, s:{s:[o], s:s, s:s}, s:{}}", "apiVersion", "v1", "kind",
                  "Pod", "metadata", "name", name, "labels", lab, "spec", "containers", ctr,
                  "restartPolicy", restart, "dnsPolicy", "ClusterFirst", "status");
  return create_kind(k, "pods", name, pod, NULL);
}

/* ---- delete ---------------------------------------------------------------- */

static const char delete_usage[]
    = "Usage: berth delete TYPE NAME… | TYPE/NAME… | -f FILE [OPTIONS]\n"
      "\n"
      "Delete objects (dependents in the background), then wait until they are gone.\n"
      "\n"
      "  -f, --filename F           the objects of manifests (repeatable)\n"
      "  -l, --selector SEL         every object of TYPE matching a label selector\n"
      "      --all                  every object of TYPE in the namespace\n"
      "      --ignore-not-found     a missing object is not an error\n"
      "      --grace-period N       seconds the pod gets to stop (default: its own)\n"
      "      --now                  --grace-period=1\n"
      "      --force                with --grace-period=0: do not wait for the node\n"
      "      --wait=true|false      wait until the objects are gone (default true)\n"
      "      --timeout DURATION     give up waiting after this long (default: never)\n"
      "      --kubeconfig FILE, -n NS, --server URL, --token T: see 'berth cluster --help'\n";

typedef struct del_item {
  const kube_res_t *res;
  char *ns, *name;
} del_item_t;

typedef struct del_opts {
  bool ignore_nf, wait, force;
  int64_t grace; /* -1: not given */
  int64_t timeout_ns;
} del_opts_t;

static void add_item(del_item_t **v, size_t *n, const kube_res_t *res, const char *ns,
                     const char *name)
{
  *v = xrealloc(*v, (*n + 1) * sizeof **v);
  (*v)[(*n)++] = (del_item_t){ .res = res, .ns = ns ? xstrdup(ns) : NULL, .name = xstrdup(name) };
}

/* Polls the object until a 404 (or the timeout). */
static int wait_gone(kube_t *k, del_item_t *it, int64_t deadline)
{
  cleanup_free char *path = kube_path(it->res, it->ns, it->name, NULL, NULL);
  int64_t delay = 100000000LL;
  for (;;) {
    cleanup_reply kube_reply_t r;
    if (kube_call(k, "GET", path, NULL, "application/json", NULL, &r) < 0)
      return 1;
    if (r.code == 404)
      return 0;
    if (r.code != 200)
      return kube_reply_fail(&r, NULL);
    int64_t now = time_mono_ns();
    if (deadline && now >= deadline)
      return kube_fail("timed out waiting for the condition on %s/%s", it->res->resource, it->name);
    if (deadline && now + delay > deadline)
      delay = deadline - now;
    struct timespec ts = { (time_t)(delay / 1000000000LL), (long)(delay % 1000000000LL) };
    nanosleep(&ts, NULL);
    if (delay < 1000000000LL)
      delay *= 2;
  }
}

static int delete_items(kube_t *k, del_item_t *items, size_t n, del_opts_t *o)
{
  int rc = 0;
  bool *sent = xcalloc(n + 1, sizeof *sent);
  cleanup_json json_t *body = json_pack("{s:s, s:s, s:s}", "kind", "DeleteOptions", "apiVersion",
                                        "v1", "propagationPolicy", "Background");
  if (o->grace >= 0)
    json_object_set_new(body, "gracePeriodSeconds", json_integer(o->grace));
  for (size_t i = 0; i < n; i++) {
    cleanup_free char *path = kube_path(items[i].res, items[i].ns, items[i].name, NULL, NULL);
    cleanup_reply kube_reply_t r;
    if (kube_call(k, "DELETE", path, NULL, NULL, body, &r) < 0) {
      rc = 1;
      continue;
    }
    kube_print_warnings(&r);
    if (r.code == 404 && o->ignore_nf)
      continue;
    if (r.code != 200 && r.code != 202) {
      rc = kube_reply_fail(&r, NULL);
      continue;
    }
    cleanup_free char *disp = kube_res_display(items[i].res);
    printf("%s \"%s\" deleted\n", disp, items[i].name);
    fflush(stdout);
    sent[i] = true;
  }
  int64_t deadline = o->timeout_ns ? time_mono_ns() + o->timeout_ns : 0;
  for (size_t i = 0; i < n && o->wait; i++)
    if (sent[i] && wait_gone(k, &items[i], deadline))
      rc = 1;
  free(sent);
  return rc;
}

/* Every object of res (matching sel) in the namespace, for -l and --all. */
static int list_names(kube_t *k, const kube_res_t *res, const char *sel, del_item_t **v, size_t *n)
{
  buf_t q = { 0 };
  if (sel)
    kube_query_add(&q, "labelSelector", sel);
  cleanup_free char *qs = q.data ? buf_steal(&q) : xstrdup("");
  cleanup_free char *path = kube_path(res, k->ns, NULL, NULL, qs);
  cleanup_reply kube_reply_t r;
  if (kube_call(k, "GET", path, NULL, "application/json", NULL, &r) < 0)
    return 1;
  if (r.code != 200)
    return kube_reply_fail(&r, NULL);
  json_t *it;
  size_t i;
  json_array_foreach(json_object_get(r.json, "items"), i, it)
  {
    const char *name = kube_str(it, "metadata.name");
    const char *ns = kube_str(it, "metadata.namespace");
    if (name)
      add_item(v, n, res, res->namespaced ? (ns ? ns : k->ns) : NULL, name);
  }
  return 0;
}

static int parse_bool_flag(const char *s, bool *out)
{
  if (!s || !strcmp(s, "true") || !strcmp(s, "1"))
    *out = true;
  else if (!strcmp(s, "false") || !strcmp(s, "0"))
    *out = false;
  else
    return -1;
  return 0;
}

int kube_cmd_delete(kube_t *k, int argc, char **argv)
{
  static const struct option opts[]
      = { KUBE_COMMON_OPTS,
          { "filename", required_argument, NULL, 'f' },
          { "selector", required_argument, NULL, 'l' },
          { "all", no_argument, NULL, OPT_ALL },
          { "ignore-not-found", optional_argument, NULL, OPT_IGNORE_NF },
          { "grace-period", required_argument, NULL, OPT_GRACE },
          { "now", no_argument, NULL, OPT_NOW },
          { "force", no_argument, NULL, OPT_FORCE },
          { "wait", optional_argument, NULL, OPT_WAIT },
          { "timeout", required_argument, NULL, OPT_TIMEOUT },
          { 0 } };
  del_opts_t o = { .wait = true, .grace = -1 };
  cleanup_strv char **files = NULL;
  const char *sel = NULL;
  bool all = false, now = false;
  int c;
  optind = 0;
  while ((c = getopt_long(argc, argv, ":n:hf:l:", opts, NULL)) != -1) {
    if (kube_common_opt(k, c, optarg))
      continue;
    switch (c) {
    case 'h':
      fputs(delete_usage, stdout);
      return 0;
    case 'f':
      strv_push(&files, optarg);
      break;
    case 'l':
      sel = optarg;
      break;
    case OPT_ALL:
      all = true;
      break;
    case OPT_IGNORE_NF:
      if (parse_bool_flag(optarg, &o.ignore_nf) < 0)
        return cli_usage_error("delete", "invalid --ignore-not-found \"%s\" (true, false)", optarg);
      break;
    case OPT_GRACE:
      if (parse_int64(optarg, &o.grace, NULL) < 0 || o.grace < -1)
        return cli_usage_error("delete", "invalid --grace-period \"%s\"", optarg);
      break;
    case OPT_NOW:
      now = true;
      break;
    case OPT_FORCE:
      o.force = true;
      break;
    case OPT_WAIT:
      if (parse_bool_flag(optarg, &o.wait) < 0)
        return cli_usage_error("delete", "invalid --wait \"%s\" (true, false)", optarg);
      break;
    case OPT_TIMEOUT:
      if (cli_parse_duration("delete", "--timeout", optarg, &o.timeout_ns) < 0)
        return 2;
      break;
    default:
      return cli_bad_option("delete", c, argv, opts);
    }
  }
  if (now) {
    if (o.grace >= 0)
      return cli_usage_error("delete", "--now and --grace-period cannot be specified together");
    o.grace = 1;
  }
  if (o.grace == 0) {
    if (o.force)
      fputs("Warning: Immediate deletion does not wait for confirmation that the running "
            "resource has been terminated. The resource may continue to run on the cluster "
            "indefinitely.\n",
            stderr);
    else
      o.grace = 1; /* as kubectl: 0 without --force means "as fast as it can stop" */
  }
  char **args = argv + optind;
  int n = argc - optind;
  if (files && n > 0)
    return cli_usage_error("delete", "delete -f takes no other arguments (got \"%s\")", args[0]);
  if (!files && n == 0)
    return cli_usage_error("delete", "delete needs TYPE NAME…, TYPE/NAME… or -f FILE");
  cleanup_json json_t *docs = files ? kube_read_manifests(files) : NULL;
  if (files && !docs)
    return 1;
  if (kube_connect(k) < 0)
    return 1;
  del_item_t *items = NULL;
  size_t ni = 0;
  int rc = 0;
  if (docs) {
    json_t *e;
    size_t i;
    json_array_foreach(docs, i, e)
    {
      kube_target_t t;
      if (kube_target_of(k, e, true, &t) < 0) {
        rc = 1;
        continue;
      }
      add_item(&items, &ni, t.res, t.ns, t.name);
      free(t.ns);
    }
  } else if (strchr(args[0], '/')) {
    for (int i = 0; i < n; i++) {
      const char *s = strchr(args[i], '/');
      if (!s) {
        rc = cli_usage_error("delete", "there is no need to specify a resource type as a "
                                       "separate argument when passing arguments in "
                                       "resource/name form");
        goto out;
      }
      cleanup_free char *type = xstrndup(args[i], (size_t)(s - args[i]));
      const kube_res_t *res = kube_resolve(k, type);
      if (!res) {
        rc = 1;
        goto out;
      }
      add_item(&items, &ni, res, res->namespaced ? k->ns : NULL, s + 1);
    }
  } else {
    const kube_res_t *res = kube_resolve(k, args[0]);
    if (!res) {
      rc = 1;
      goto out;
    }
    if (n == 1 && !sel && !all) {
      rc = cli_usage_error("delete", "resource(s) were provided, but no name was specified");
      goto out;
    }
    if ((sel || all) && n > 1) {
      rc = cli_usage_error("delete", "names cannot be given with --all or -l");
      goto out;
    }
    if (sel || all) {
      if ((rc = list_names(k, res, sel, &items, &ni)))
        goto out;
      if (!ni) {
        if (res->namespaced)
          fprintf(stderr, "No resources found in %s namespace.\n", k->ns);
        else
          fputs("No resources found\n", stderr);
      }
    }
    for (int i = 1; i < n; i++)
      add_item(&items, &ni, res, res->namespaced ? k->ns : NULL, args[i]);
  }
  rc |= delete_items(k, items, ni, &o);
out:
  for (size_t i = 0; i < ni; i++) {
    free(items[i].ns);
    free(items[i].name);
  }
  free(items);
  return rc;
}
