/* kube_node.c — `berth cordon`, `uncordon` and `drain`, as kubectl does
 * them: cordoning sets spec.unschedulable; draining cordons, then evicts
 * every pod on the node through the Eviction API (so PodDisruptionBudgets
 * hold: a 429 is retried until the budget allows it or --timeout), and waits
 * until the pods are gone. Pods no controller would recreate, DaemonSet pods
 * and pods with emptyDir data are refused unless the flag that accepts the
 * loss is given, with kubectl's messages. */
#include "cli/kube.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
  OPT_IGNORE_DS = KOPT_FIRST_VERB,
  OPT_DELETE_EMPTYDIR,
  OPT_FORCE,
  OPT_TIMEOUT,
  OPT_GRACE,
  OPT_DISABLE_EVICTION,
  OPT_SELECTOR,
};

#define EVICT_RETRY_MS 5000

static int set_unschedulable(kube_t *k, const kube_res_t *nodes, const char *name, bool on,
                             bool quiet_same)
{
  cleanup_free char *path = kube_path(nodes, NULL, name, NULL, NULL);
  cleanup_reply kube_reply_t g;
  if (kube_call(k, "GET", path, NULL, "application/json", NULL, &g) < 0)
    return 1;
  if (g.code != 200)
    return kube_reply_fail(&g, NULL);
  bool now = json_is_true(kube_get(g.json, "spec.unschedulable"));
  const char *word = on ? "cordoned" : "uncordoned";
  if (now == on) {
    if (!quiet_same)
      printf("node/%s already %s\n", name, word);
    return 0;
  }
  cleanup_json json_t *body
      = json_pack("{s:{s:O}}", "spec", "unschedulable", on ? json_true() : json_null());
  cleanup_reply kube_reply_t r;
  if (kube_call(k, "PATCH", path, "application/strategic-merge-patch+json", NULL, body, &r) < 0)
    return 1;
  if (r.code != 200)
    return kube_reply_fail(&r, NULL);
  printf("node/%s %s\n", name, word);
  return 0;
}

static const char cordon_usage[]
    = "Usage: berth cordon|uncordon NODE…\n"
      "\n"
      "Mark nodes unschedulable (cordon) or schedulable again (uncordon). Pods already\n"
      "on a cordoned node keep running; 'berth drain' also moves them away.\n"
      "\n"
      "      --kubeconfig FILE, --server URL, --token T: see 'berth cluster --help'\n";

static int cordon(kube_t *k, int argc, char **argv, bool on)
{
  static const struct option opts[] = { KUBE_COMMON_OPTS, { 0 } };
  const char *verb = on ? "cordon" : "uncordon";
  int c;
  optind = 0;
  while ((c = getopt_long(argc, argv, ":n:h", opts, NULL)) != -1) {
    if (kube_common_opt(k, c, optarg))
      continue;
    if (c == 'h') {
      fputs(cordon_usage, stdout);
      return 0;
    }
    return cli_bad_option(verb, c, argv, opts);
  }
  if (optind >= argc)
    return cli_usage_error(verb, "%s needs at least one NODE", verb);
  if (kube_connect(k) < 0)
    return 1;
  const kube_res_t *nodes = kube_resolve(k, "nodes");
  if (!nodes)
    return 1;
  int rc = 0;
  for (int i = optind; i < argc; i++)
    if (set_unschedulable(k, nodes, argv[i], on, false))
      rc = 1;
  return rc;
}

int kube_cmd_cordon(kube_t *k, int argc, char **argv)
{
  return cordon(k, argc, argv, true);
}

int kube_cmd_uncordon(kube_t *k, int argc, char **argv)
{
  return cordon(k, argc, argv, false);
}

/* ---- drain ------------------------------------------------------------------------ */

typedef struct drain_opts {
  bool ignore_ds, delete_emptydir, force, disable_eviction;
  int64_t grace; /* -1: the pods' own */
  int64_t timeout_ns;
  const char *selector;
} drain_opts_t;

static const char drain_usage[]
    = "Usage: berth drain NODE [OPTIONS]\n"
      "\n"
      "Cordon the node, then evict its pods (honouring PodDisruptionBudgets: an eviction\n"
      "the budget refuses is retried every 5s) and wait until they are gone.\n"
      "\n"
      "      --ignore-daemonsets     go on although DaemonSet pods are there (they stay)\n"
      "      --delete-emptydir-data  evict pods whose emptyDir data is then lost\n"
      "      --force                 also evict pods no controller will recreate\n"
      "      --grace-period N        seconds each pod gets to stop (default: its own)\n"
      "      --timeout DURATION      give up after this long (default: never)\n"
      "      --disable-eviction      delete instead of evicting (bypasses budgets)\n"
      "      --pod-selector SEL      only pods with these labels\n"
      "      --kubeconfig FILE, --server URL, --token T: see 'berth cluster --help'\n";

/* Why pod may not be drained with these options, or NULL; *skip when it
 * is a DaemonSet pod to leave in place. */
static const char *drain_refusal(json_t *pod, const drain_opts_t *o, bool *skip)
{
  *skip = false;
  const char *phase = kube_str(pod, "status.phase");
  bool finished = phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
  json_t *refs = kube_get(pod, "metadata.ownerReferences"), *ref, *ctrl = NULL;
  size_t i;
  json_array_foreach(refs, i, ref)
  {
    if (json_is_true(json_object_get(ref, "controller")))
      ctrl = ref;
  }
  if (ctrl && !strcmp(json_str(ctrl, "kind") ?: "", "DaemonSet")) {
    *skip = true;
    return o->ignore_ds ? NULL : "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets)";
  }
  if (!ctrl && !finished && !o->force)
    return "cannot delete Pods that declare no controller (use --force to override)";
  json_t *vols = kube_get(pod, "spec.volumes"), *v;
  json_array_foreach(vols, i, v)
  {
    if (json_object_get(v, "emptyDir") && !o->delete_emptydir && !finished)
      return "cannot delete Pods with local storage (use --delete-emptydir-data to override)";
  }
  return NULL;
}

/* Evicts (or deletes) one pod; 1 when a budget refused it for now (retry),
 * 0 when sent or gone, -1 on an error (printed). */
static int evict(kube_t *k, const kube_res_t *pods, json_t *pod, const drain_opts_t *o)
{
  const char *ns = kube_str(pod, "metadata.namespace"), *name = kube_str(pod, "metadata.name");
  cleanup_json json_t *del = json_pack("{s:s,s:s}", "apiVersion", "v1", "kind", "DeleteOptions");
  if (o->grace >= 0)
    json_object_set_new(del, "gracePeriodSeconds", json_integer(o->grace));
  cleanup_reply kube_reply_t r;
  if (o->disable_eviction) {
    cleanup_free char *path = kube_path(pods, ns, name, NULL, NULL);
    if (kube_call(k, "DELETE", path, NULL, NULL, del, &r) < 0)
      return -1;
  } else {
    cleanup_free char *path = kube_path(pods, ns, name, "eviction", NULL);
    cleanup_json json_t *body
        = json_pack("{s:s,s:s,s:{s:s,s:s},s:O}", "apiVersion", "policy/v1", "kind", "Eviction",
                    "metadata", "name", name, "namespace", ns, "deleteOptions", del);
    if (kube_call(k, "POST", path, NULL, NULL, body, &r) < 0)
      return -1;
  }
  if (r.code == 404 || r.code == 200 || r.code == 201)
    return 0;
  if (r.code == 429) {
    fprintf(stderr, "error when evicting pods/\"%s\" -n \"%s\" (will retry after 5s): %s\n", name,
            ns, json_str(r.json, "message") ?: "Too many requests");
    return 1;
  }
  kube_reply_fail(&r, NULL);
  return -1;
}

static bool pod_gone(kube_t *k, const kube_res_t *pods, json_t *pod)
{
  const char *ns = kube_str(pod, "metadata.namespace"), *name = kube_str(pod, "metadata.name");
  cleanup_free char *path = kube_path(pods, ns, name, NULL, NULL);
  cleanup_reply kube_reply_t r;
  if (kube_call(k, "GET", path, NULL, "application/json", NULL, &r) < 0)
    return false;
  if (r.code == 404)
    return true;
  /* a new pod of the same name (a StatefulSet's) counts as gone */
  return r.code == 200
         && strcmp(kube_str(r.json, "metadata.uid") ?: "", kube_str(pod, "metadata.uid") ?: "");
}

int kube_cmd_drain(kube_t *k, int argc, char **argv)
{
  static const struct option opts[]
      = { KUBE_COMMON_OPTS,
          { "ignore-daemonsets", no_argument, NULL, OPT_IGNORE_DS },
          { "delete-emptydir-data", no_argument, NULL, OPT_DELETE_EMPTYDIR },
          { "delete-local-data", no_argument, NULL, OPT_DELETE_EMPTYDIR },
          { "force", no_argument, NULL, OPT_FORCE },
          { "timeout", required_argument, NULL, OPT_TIMEOUT },
          { "grace-period", required_argument, NULL, OPT_GRACE },
          { "disable-eviction", no_argument, NULL, OPT_DISABLE_EVICTION },
          { "pod-selector", required_argument, NULL, OPT_SELECTOR },
          { 0 } };
  drain_opts_t o = { .grace = -1 };
  int c;
  optind = 0;
  while ((c = getopt_long(argc, argv, ":n:h", opts, NULL)) != -1) {
    if (kube_common_opt(k, c, optarg))
      continue;
    switch (c) {
    case 'h':
      fputs(drain_usage, stdout);
      return 0;
    case OPT_IGNORE_DS:
      o.ignore_ds = true;
      break;
    case OPT_DELETE_EMPTYDIR:
      o.delete_emptydir = true;
      break;
    case OPT_FORCE:
      o.force = true;
      break;
    case OPT_DISABLE_EVICTION:
      o.disable_eviction = true;
      break;
    case OPT_SELECTOR:
      o.selector = optarg;
      break;
    case OPT_TIMEOUT:
      if (cli_parse_duration("drain", "--timeout", optarg, &o.timeout_ns) < 0)
        return 2;
      break;
    case OPT_GRACE:
      if (parse_int64(optarg, &o.grace, NULL) < 0 || o.grace < -1)
        return cli_usage_error("drain", "invalid --grace-period \"%s\"", optarg);
      break;
    default:
      return cli_bad_option("drain", c, argv, opts);
    }
  }
  if (argc - optind != 1)
    return cli_usage_error("drain", "drain needs exactly one NODE");
  const char *node = argv[optind];
  if (kube_connect(k) < 0)
    return 1;
  const kube_res_t *nodes = kube_resolve(k, "nodes"), *pods = kube_resolve(k, "pods");
  if (!nodes || !pods)
    return 1;
  int rc = set_unschedulable(k, nodes, node, true, false);
  if (rc)
    return rc;
  buf_t q = { 0 };
  cleanup_free char *fs = xasprintf("spec.nodeName=%s", node);
  kube_query_add(&q, "fieldSelector", fs);
  if (o.selector)
    kube_query_add(&q, "labelSelector", o.selector);
  cleanup_free char *qs = buf_steal(&q);
  cleanup_free char *path = kube_path(pods, NULL, NULL, NULL, qs);
  cleanup_reply kube_reply_t l;
  if (kube_call(k, "GET", path, NULL, "application/json", NULL, &l) < 0)
    return 1;
  if (l.code != 200)
    return kube_reply_fail(&l, NULL);
  json_t *items = json_object_get(l.json, "items"), *pod;
  cleanup_json json_t *todo = json_array();
  buf_t errors = { 0 }, ignored = { 0 };
  size_t i;
  json_array_foreach(items, i, pod)
  {
    bool skip;
    const char *why = drain_refusal(pod, &o, &skip);
    const char *ns = kube_str(pod, "metadata.namespace"), *name = kube_str(pod, "metadata.name");
    if (why)
      buf_printf(&errors, "%s%s/%s: %s", errors.len ? ", " : "", ns, name, why);
    else if (skip)
      buf_printf(&ignored, "%s%s/%s", ignored.len ? ", " : "", ns, name);
    else
      json_array_append(todo, pod);
  }
  if (errors.len) {
    fprintf(stderr, "error: unable to drain node \"%s\" due to error: %s, continuing command...\n",
            node, errors.data);
    fprintf(stderr, "There are pending nodes to be drained:\n %s\n", node);
    buf_free(&errors);
    buf_free(&ignored);
    return 1;
  }
  if (ignored.len)
    fprintf(stderr, "Warning: ignoring DaemonSet-managed Pods: %s\n", ignored.data);
  buf_free(&ignored);
  int64_t deadline = o.timeout_ns ? time_mono_ns() + o.timeout_ns : 0;
  size_t n = json_array_size(todo);
  bool *sent = xcalloc(n + 1, sizeof *sent);
  size_t left = n;
  while (left > 0) {
    json_array_foreach(todo, i, pod)
    {
      if (sent[i])
        continue;
      printf("evicting pod %s/%s\n", kube_str(pod, "metadata.namespace"),
             kube_str(pod, "metadata.name"));
      fflush(stdout);
      int e = evict(k, pods, pod, &o);
      if (e < 0) {
        free(sent);
        return 1;
      }
      if (e == 0) {
        sent[i] = true;
        left--;
      }
    }
    if (left == 0)
      break;
    if (deadline && time_mono_ns() >= deadline) {
      free(sent);
      return kube_fail("unable to drain node \"%s\": global timeout reached", node);
    }
    struct timespec ts = { EVICT_RETRY_MS / 1000, 0 };
    nanosleep(&ts, NULL);
  }
  /* wait until every evicted pod is gone */
  json_array_foreach(todo, i, pod)
  {
    while (!pod_gone(k, pods, pod)) {
      if (deadline && time_mono_ns() >= deadline) {
        free(sent);
        return kube_fail("error when waiting for pod \"%s\" in namespace \"%s\" to terminate: "
                         "global timeout reached",
                         kube_str(pod, "metadata.name"), kube_str(pod, "metadata.namespace"));
      }
      struct timespec ts = { 0, 200 * 1000000L };
      nanosleep(&ts, NULL);
    }
    printf("pod/%s evicted\n", kube_str(pod, "metadata.name"));
    fflush(stdout);
  }
  free(sent);
  printf("node/%s drained\n", node);
  return 0;
}
