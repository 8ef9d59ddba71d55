/* kube_rollout.c — `berth scale` and `berth rollout status|history|undo|
 * pause|resume|restart`, as kubectl does them: scale through the scale
 * subresource; status by following the object until its controller reports
 * the rollout done; history and undo from the ReplicaSets a Deployment owns
 * (their deployment.kubernetes.io/revision annotation); pause, resume and
 * restart as patches of the Deployment. */
#include "cli/kube.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { OPT_REPLICAS = KOPT_FIRST_VERB, OPT_TIMEOUT, OPT_REVISION, OPT_TO_REVISION, OPT_WATCH };

#define REVISION_ANNOTATION "deployment.kubernetes.io/revision"
#define CAUSE_ANNOTATION    "kubernetes.io/change-cause"
#define RESTARTED_AT        "kubectl.kubernetes.io/restartedAt"

/* TYPE/NAME, or TYPE NAME: the resource and the name (borrowed from args;
 * *hold keeps the TYPE of TYPE/NAME, the caller frees it). Prints kubectl's
 * error and returns -1 when neither. */
static int target(kube_t *k, const char *verb, char **args, int n, const kube_res_t **res,
                  const char **name, char **hold)
{
  const char *type;
  *hold = NULL;
  if (n == 1 && strchr(args[0], '/')) {
    const char *slash = strchr(args[0], '/');
    *hold = xstrndup(args[0], (size_t)(slash - args[0]));
    type = *hold;
    *name = slash + 1;
  } else if (n == 2) {
    type = args[0];
    *name = args[1];
  } else {
    cli_usage_error(verb, "%s needs TYPE/NAME or TYPE NAME", verb);
    return -1;
  }
  if (!**name) {
    cli_usage_error(verb, "%s: the name is empty", verb);
    return -1;
  }
  if (kube_connect(k) < 0)
    return -1;
  *res = kube_resolve(k, type);
  return *res ? 0 : -1;
}

static json_t *get_obj(kube_t *k, const kube_res_t *res, const char *name, const char *sub, int *rc)
{
  cleanup_free char *path = kube_path(res, k->ns, name, sub, NULL);
  cleanup_reply kube_reply_t r;
  if (kube_call(k, "GET", path, NULL, "application/json", NULL, &r) < 0) {
    *rc = 1;
    return NULL;
  }
  if (r.code != 200) {
    *rc = kube_reply_fail(&r, NULL);
    return NULL;
  }
  return json_incref(r.json);
}

/* A merge patch of res/name (sub: a subresource or NULL); 0 or kubectl's
 * error. */
static int patch(kube_t *k, const kube_res_t *res, const char *name, const char *sub, json_t *body)
{
  cleanup_free char *path = kube_path(res, k->ns, name, sub, NULL);
  cleanup_reply kube_reply_t r;
  if (kube_call(k, "PATCH", path, "application/merge-patch+json", NULL, body, &r) < 0)
    return 1;
  kube_print_warnings(&r);
  return r.code == 200 ? 0 : kube_reply_fail(&r, NULL);
}

static void sleep_ms(int ms)
{
  struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
  nanosleep(&ts, NULL);
}

/* ---- scale ------------------------------------------------------------------- */

static const char scale_usage[]
    = "Usage: berth scale TYPE/NAME --replicas=N [--current-replicas=N]\n"
      "\n"
      "Set the number of replicas of a deployment or a replicaset (through its scale\n"
      "subresource). With --current-replicas, only if it has that many now.\n"
      "\n"
      "      --kubeconfig FILE, -n NS, --server URL, --token T: see 'berth cluster --help'\n";

int kube_cmd_scale(kube_t *k, int argc, char **argv)
{
  static const struct option opts[] = { KUBE_COMMON_OPTS,
                                        { "replicas", required_argument, NULL, OPT_REPLICAS },
                                        { "current-replicas", required_argument, NULL, 'c' },
                                        { 0 } };
  int64_t replicas = -1, current = -1;
  int c;
  optind = 0;
  while ((c = getopt_long(argc, argv, ":n:h", opts, NULL)) != -1) {
    if (kube_common_opt(k, c, optarg))
      continue;
    switch (c) {
    case 'h':
      fputs(scale_usage, stdout);
      return 0;
    case OPT_REPLICAS:
    case 'c':
      if (parse_int64(optarg, c == 'c' ? &current : &replicas, NULL) < 0
          || (c == 'c' ? current : replicas) < 0)
        return cli_usage_error("scale", "invalid --%s \"%s\": want a whole number >= 0",
                               c == 'c' ? "current-replicas" : "replicas", optarg);
      break;
    default:
      return cli_bad_option("scale", c, argv, opts);
    }
  }
  if (replicas < 0)
    return cli_usage_error("scale", "scale needs --replicas=N");
  const kube_res_t *res;
  const char *name;
  cleanup_free char *hold = NULL;
  if (target(k, "scale", argv + optind, argc - optind, &res, &name, &hold) < 0)
    return 1;
  int rc = 0;
  if (current >= 0) {
    cleanup_json json_t *sc = get_obj(k, res, name, "scale", &rc);
    if (!sc)
      return rc;
    json_int_t have = json_integer_value(kube_get(sc, "spec.replicas"));
    if (have != current)
      return kube_fail("Expected replicas to be %lld, was %lld", (long long)current,
                       (long long)have);
  }
  cleanup_json json_t *body = json_pack("{s:{s:I}}", "spec", "replicas", (json_int_t)replicas);
  if ((rc = patch(k, res, name, "scale", body)))
    return rc;
  cleanup_free char *disp = kube_res_display(res);
  printf("%s/%s scaled\n", disp, name);
  return 0;
}

/* ---- rollout status ------------------------------------------------------------ */

static json_t *condition(json_t *obj, const char *type)
{
  json_t *conds = kube_get(obj, "status.conditions"), *c;
  size_t i;
  json_array_foreach(conds, i, c)
  {
    const char *t = json_str(c, "type");
    if (t && !strcmp(t, type))
      return c;
  }
  return NULL;
}

static int64_t num(json_t *obj, const char *path)
{
  return json_integer_value(kube_get(obj, path));
}

/* kubectl's status line for obj; *done when the rollout is complete, -1
 * with the error printed when it cannot complete. */
static int rollout_line(const kube_res_t *res, json_t *d, char **line, bool *done)
{
  const char *name = kube_str(d, "metadata.name");
  *done = false;
  *line = NULL;
  if (num(d, "metadata.generation") > num(d, "status.observedGeneration")) {
    *line = xstrdup(res->kind && !strcmp(res->kind, "DaemonSet")
                        ? "Waiting for daemon set spec update to be observed..."
                        : "Waiting for deployment spec update to be observed...");
    return 0;
  }
  if (!strcmp(res->kind, "DaemonSet")) {
    int64_t want = num(d, "status.desiredNumberScheduled");
    int64_t updated = num(d, "status.updatedNumberScheduled");
    int64_t avail = num(d, "status.numberAvailable");
    if (updated < want)
      *line = xasprintf("Waiting for daemon set \"%s\" rollout to finish: %lld out of %lld new "
                        "pods have been updated...",
                        name, (long long)updated, (long long)want);
    else if (avail < want)
      *line = xasprintf("Waiting for daemon set \"%s\" rollout to finish: %lld of %lld updated "
                        "pods are available...",
                        name, (long long)avail, (long long)want);
    else {
      *line = xasprintf("daemon set \"%s\" successfully rolled out", name);
      *done = true;
    }
    return 0;
  }
  json_t *prog = condition(d, "Progressing");
  if (prog && !strcmp(json_str(prog, "reason") ?: "", "ProgressDeadlineExceeded")) {
    kube_fail("deployment \"%s\" exceeded its progress deadline", name);
    return -1;
  }
  int64_t want = kube_get(d, "spec.replicas") ? num(d, "spec.replicas") : 1;
  int64_t updated = num(d, "status.updatedReplicas"), total = num(d, "status.replicas");
  int64_t avail = num(d, "status.availableReplicas");
  if (updated < want)
    *line = xasprintf("Waiting for deployment \"%s\" rollout to finish: %lld out of %lld new "
                      "replicas have been updated...",
                      name, (long long)updated, (long long)want);
  else if (total > updated)
    *line = xasprintf("Waiting for deployment \"%s\" rollout to finish: %lld old replicas are "
                      "pending termination...",
                      name, (long long)(total - updated));
  else if (avail < updated)
    *line = xasprintf("Waiting for deployment \"%s\" rollout to finish: %lld of %lld updated "
                      "replicas are available...",
                      name, (long long)avail, (long long)updated);
  else {
    *line = xasprintf("deployment \"%s\" successfully rolled out", name);
    *done = true;
  }
  return 0;
}

static int rollout_status(kube_t *k, const kube_res_t *res, const char *name, bool watch,
                          int64_t timeout_ns)
{
  if (strcmp(res->kind, "Deployment") && strcmp(res->kind, "DaemonSet"))
    return kube_fail("no status viewer has been implemented for %s", res->kind);
  int64_t deadline = timeout_ns ? time_mono_ns() + timeout_ns : 0;
  cleanup_free char *last = NULL;
  /* Polls the object: the lines kubectl prints come from the same status
   * fields its watch reads, and a poll every 250 ms never misses the end. */
  for (;;) {
    int rc = 0;
    cleanup_json json_t *d = get_obj(k, res, name, NULL, &rc);
    if (!d)
      return rc;
    char *line;
    bool done;
    if (rollout_line(res, d, &line, &done) < 0)
      return 1;
    if (!last || strcmp(last, line)) {
      printf("%s\n", line);
      fflush(stdout);
      free(last);
      last = line;
    } else {
      free(line);
    }
    if (done || !watch)
      return 0;
    if (deadline && time_mono_ns() >= deadline)
      return kube_fail("timed out waiting for the condition");
    sleep_ms(250);
  }
}

/* ---- history and undo ------------------------------------------------------------ */

/* The ReplicaSets the deployment d controls, sorted by revision. */
static json_t *owned_rs(kube_t *k, json_t *d, int *rc)
{
  const kube_res_t *rs = kube_resolve(k, "replicasets.apps");
  if (!rs) {
    *rc = 1;
    return NULL;
  }
  cleanup_free char *path = kube_path(rs, k->ns, NULL, NULL, NULL);
  cleanup_reply kube_reply_t r;
  if (kube_call(k, "GET", path, NULL, "application/json", NULL, &r) < 0) {
    *rc = 1;
    return NULL;
  }
  if (r.code != 200) {
    *rc = kube_reply_fail(&r, NULL);
    return NULL;
  }
  const char *uid = kube_str(d, "metadata.uid");
  json_t *out = json_array(), *item;
  size_t i;
  json_array_foreach(json_object_get(r.json, "items"), i, item)
  {
    json_t *refs = kube_get(item, "metadata.ownerReferences"), *ref;
    size_t j;
    json_array_foreach(refs, j, ref)
    {
      if (json_is_true(json_object_get(ref, "controller")) && uid
          && !strcmp(json_str(ref, "uid") ?: "", uid)) {
        json_array_append(out, item);
        break;
      }
    }
  }
  /* insertion sort by revision: a handful of items */
  size_t n = json_array_size(out);
  for (size_t a = 1; a < n; a++)
    for (size_t b = a; b > 0; b--) {
      json_t *x = json_array_get(out, b - 1), *y = json_array_get(out, b);
      const char *rx = json_str(kube_get(x, "metadata.annotations"), REVISION_ANNOTATION);
      const char *ry = json_str(kube_get(y, "metadata.annotations"), REVISION_ANNOTATION);
      if (strtoll(rx ? rx : "0", NULL, 10) <= strtoll(ry ? ry : "0", NULL, 10))
        break;
      json_incref(x);
      json_array_set(out, b - 1, y);
      json_array_set_new(out, b, x);
    }
  return out;
}

static int64_t revision_of(json_t *rs)
{
  const char *r = json_str(kube_get(rs, "metadata.annotations"), REVISION_ANNOTATION);
  return r ? strtoll(r, NULL, 10) : 0;
}

static int rollout_history(kube_t *k, const kube_res_t *res, const char *name, int64_t revision)
{
  if (strcmp(res->kind, "Deployment"))
    return kube_fail("no history viewer has been implemented for %s", res->kind);
  int rc = 0;
  cleanup_json json_t *d = get_obj(k, res, name, NULL, &rc);
  if (!d)
    return rc;
  cleanup_json json_t *sets = owned_rs(k, d, &rc);
  if (!sets)
    return rc;
  cleanup_free char *disp = kube_res_display(res);
  json_t *rs;
  size_t i;
  if (revision > 0) {
    json_array_foreach(sets, i, rs)
    {
      if (revision_of(rs) != revision)
        continue;
      printf("%s/%s with revision #%lld\n", disp, name, (long long)revision);
      json_t *tmpl = json_deep_copy(kube_get(rs, "spec.template"));
      json_object_del(json_object_get(json_object_get(tmpl, "metadata"), "labels"),
                      "pod-template-hash");
      printf("Pod Template:\n");
      kube_print_yaml(tmpl, stdout);
      json_decref(tmpl);
      return 0;
    }
    return kube_fail("unable to find the specified revision");
  }
  printf("%s/%s \n", disp, name);
  kube_tw_t tw;
  kube_tw_init(&tw, 0, 2);
  kube_tw_puts(&tw, "REVISION\tCHANGE-CAUSE\n");
  json_array_foreach(sets, i, rs)
  {
    if (!revision_of(rs))
      continue;
    const char *cause = json_str(kube_get(rs, "metadata.annotations"), CAUSE_ANNOTATION);
    kube_tw_printf(&tw, "%lld\t%s\n", (long long)revision_of(rs), cause ? cause : "<none>");
  }
  kube_tw_flush(&tw, stdout);
  kube_tw_free(&tw);
  printf("\n");
  return 0;
}

static int rollout_undo(kube_t *k, const kube_res_t *res, const char *name, int64_t to)
{
  if (strcmp(res->kind, "Deployment"))
    return kube_fail("no rollbacker has been implemented for %s", res->kind);
  int rc = 0;
  cleanup_json json_t *d = get_obj(k, res, name, NULL, &rc);
  if (!d)
    return rc;
  if (json_is_true(kube_get(d, "spec.paused")))
    return kube_fail("you cannot rollback a paused deployment; resume it first with 'berth "
                     "rollout resume' and try again");
  cleanup_json json_t *sets = owned_rs(k, d, &rc);
  if (!sets)
    return rc;
  /* The wanted revision: --to-revision, or the one before the newest. */
  json_t *pick = NULL, *rs;
  size_t i, n = json_array_size(sets);
  if (to > 0) {
    json_array_foreach(sets, i, rs)
    {
      if (revision_of(rs) == to)
        pick = rs;
    }
    if (!pick)
      return kube_fail("unable to find specified revision %lld in history", (long long)to);
  } else {
    if (n < 2)
      return kube_fail("no rollout history found for deployment \"%s\"", name);
    pick = json_array_get(sets, n - 2);
  }
  json_t *tmpl = json_deep_copy(kube_get(pick, "spec.template"));
  json_object_del(json_object_get(json_object_get(tmpl, "metadata"), "labels"),
                  "pod-template-hash");
  cleanup_free char *disp = kube_res_display(res);
  if (json_equal(tmpl, kube_get(d, "spec.template"))) {
    printf("%s/%s skipped rollback (current template already matches revision %lld)\n", disp, name,
           (long long)revision_of(pick));
    json_decref(tmpl);
    return 0;
  }
  /* The whole template replaced: a JSON merge patch would keep fields the
   * old template lacks, so a JSON patch with a resourceVersion test. */
  cleanup_json json_t *ops
      = json_pack("[{s:s,s:s,s:s?},{s:s,s:s,s:o}]", "op", "test", "path",
                  "/metadata/resourceVersion", "value", kube_str(d, "metadata.resourceVersion"),
                  "op", "replace", "path", "/spec/template", "value", tmpl);
  cleanup_free char *path = kube_path(res, k->ns, name, NULL, NULL);
  cleanup_reply kube_reply_t r;
  if (kube_call(k, "PATCH", path, "application/json-patch+json", NULL, ops, &r) < 0)
    return 1;
  if (r.code != 200)
    return kube_reply_fail(&r, NULL);
  printf("%s/%s rolled back\n", disp, name);
  return 0;
}

/* ---- pause, resume, restart ------------------------------------------------------ */

static int rollout_patch(kube_t *k, const kube_res_t *res, const char *name, const char *what)
{
  bool pause = !strcmp(what, "pause"), resume = !strcmp(what, "resume");
  if ((pause || resume) && strcmp(res->kind, "Deployment"))
    return kube_fail("%s is not supported for %s", what, res->kind);
  if (strcmp(res->kind, "Deployment") && strcmp(res->kind, "DaemonSet"))
    return kube_fail("restarting is not supported for %s", res->kind);
  int rc = 0;
  cleanup_json json_t *d = get_obj(k, res, name, NULL, &rc);
  if (!d)
    return rc;
  cleanup_free char *disp = kube_res_display(res);
  bool paused = json_is_true(kube_get(d, "spec.paused"));
  if (pause && paused)
    return kube_fail("%ss \"%s\" is already paused", res->resource, name);
  if (resume && !paused)
    return kube_fail("%ss \"%s\" is not paused", res->resource, name);
  if (!pause && !resume && paused)
    return kube_fail("can't restart paused deployment (run rollout resume first)");
  cleanup_json json_t *body = NULL;
  if (pause || resume) {
    body = json_pack("{s:{s:b}}", "spec", "paused", pause);
  } else {
    cleanup_free char *now = time_rfc3339_sec(time_now_ns());
    body = json_pack("{s:{s:{s:{s:{s:s}}}}}", "spec", "template", "metadata", "annotations",
                     RESTARTED_AT, now);
  }
  if ((rc = patch(k, res, name, NULL, body)))
    return rc;
  printf("%s/%s %s\n", disp, name, pause ? "paused" : resume ? "resumed" : "restarted");
  return 0;
}

static const char rollout_usage[]
    = "Usage: berth rollout status TYPE/NAME [--watch=false] [--timeout DURATION]\n"
      "       berth rollout history TYPE/NAME [--revision N]\n"
      "       berth rollout undo TYPE/NAME [--to-revision N]\n"
      "       berth rollout pause|resume|restart TYPE/NAME\n"
      "\n"
      "Manage the rollout of a deployment (status and restart also of a daemonset):\n"
      "  status    follow it until it is done (or only print where it is, --watch=false)\n"
      "  history   the revisions, or one revision's pod template (--revision)\n"
      "  undo      go back to the previous revision (or --to-revision)\n"
      "  pause     stop rolling out template changes (scaling still applies)\n"
      "  resume    roll out again\n"
      "  restart   replace every pod (a new revision with the same template)\n"
      "\n"
      "      --kubeconfig FILE, -n NS, --server URL, --token T: see 'berth cluster --help'\n";

int kube_cmd_rollout(kube_t *k, int argc, char **argv)
{
  static const struct option opts[] = { KUBE_COMMON_OPTS,
                                        { "timeout", required_argument, NULL, OPT_TIMEOUT },
                                        { "revision", required_argument, NULL, OPT_REVISION },
                                        { "to-revision", required_argument, NULL, OPT_TO_REVISION },
                                        { "watch", required_argument, NULL, OPT_WATCH },
                                        { "w", required_argument, NULL, OPT_WATCH },
                                        { 0 } };
  int64_t timeout = 0, revision = 0;
  bool watch = true;
  int c;
  optind = 0;
  while ((c = getopt_long(argc, argv, ":n:h", opts, NULL)) != -1) {
    if (kube_common_opt(k, c, optarg))
      continue;
    switch (c) {
    case 'h':
      fputs(rollout_usage, stdout);
      return 0;
    case OPT_TIMEOUT:
      if (cli_parse_duration("rollout", "--timeout", optarg, &timeout) < 0)
        return 2;
      break;
    case OPT_REVISION:
    case OPT_TO_REVISION:
      if (parse_int64(optarg, &revision, NULL) < 0 || revision < 0)
        return cli_usage_error("rollout", "invalid revision \"%s\"", optarg);
      break;
    case OPT_WATCH:
      if (strcmp(optarg, "true") && strcmp(optarg, "false"))
        return cli_usage_error("rollout", "invalid --watch \"%s\": true or false", optarg);
      watch = !strcmp(optarg, "true");
      break;
    default:
      return cli_bad_option("rollout", c, argv, opts);
    }
  }
  char **args = argv + optind;
  int n = argc - optind;
  if (n < 1)
    return cli_usage_error("rollout",
                           "rollout needs a subcommand: status, history, undo, pause, resume, "
                           "restart");
  const char *sub = args[0];
  static const char *const subs[] = { "status", "history", "undo", "pause", "resume", "restart" };
  bool known = false;
  for (size_t i = 0; i < ARRAY_SIZE(subs); i++)
    known |= !strcmp(sub, subs[i]);
  if (!known)
    return cli_usage_error("rollout", "unknown rollout subcommand \"%s\"", sub);
  const kube_res_t *res;
  const char *name;
  cleanup_free char *hold = NULL;
  if (target(k, "rollout", args + 1, n - 1, &res, &name, &hold) < 0)
    return 1;
  if (!strcmp(sub, "status"))
    return rollout_status(k, res, name, watch, timeout);
  if (!strcmp(sub, "history"))
    return rollout_history(k, res, name, revision);
  if (!strcmp(sub, "undo"))
    return rollout_undo(k, res, name, revision);
  return rollout_patch(k, res, name, sub);
}
