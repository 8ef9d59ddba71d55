/* sched.c — one scheduling decision (sched_next), kube-scheduler's
 * scheduling cycle without its framework:
 *
 *  1. PreFilter: the pod's view of other pods (affinity.c).
 *  2. A pod nominated by an earlier preemption tries its node first.
 *  3. Filter (filter.c) the nodes round-robin from where the last decision
 *     stopped, until enough feasible ones are found: like kube's
 *     percentageOfNodesToScore, 50 % − nodes/125, at least 5 % and at
 *     least 100 nodes; small clusters are filtered whole. That bounds a
 *     decision's cost on 5,000 nodes to ~500 filtered and scored nodes.
 *  4. Score (score.c) and pick; the pod is assumed on its node at once.
 *  5. When nothing fits: the message, preemption (preempt.c), and the pod
 *     is parked with a back-off (queue.c). */
#include "sched/internal.h"

#include <stdlib.h>
#include <string.h>

#define BACKOFF_INITIAL_NS (1000000000LL)
#define BACKOFF_MAX_NS     (10000000000LL)
#define MIN_FEASIBLE       100
#define MIN_PERCENT        5

sched_t *sched_new(const sched_config_t *cfg)
{
  sched_t *s = xcalloc(1, sizeof *s);
  if (cfg)
    s->cfg = *cfg;
  s->name = xstrdup(cfg && cfg->name && *cfg->name ? cfg->name : "default-scheduler");
  s->cfg.name = s->name;
  s->rng = cfg && cfg->seed ? cfg->seed : 0x9e3779b97f4a7c15ULL;
  s->k_hostname = intern_get(&s->it, "kubernetes.io/hostname");
  s->k_meta_name = intern_get(&s->it, "metadata.name");
  s->k_ns_name = intern_get(&s->it, "kubernetes.io/metadata.name");
  s->k_unschedulable = intern_get(&s->it, "node.kubernetes.io/unschedulable");
  s->k_not_ready = intern_get(&s->it, "node.kubernetes.io/not-ready");
  s->k_unreachable = intern_get(&s->it, "node.kubernetes.io/unreachable");
  s->cy = xcalloc(1, sizeof *s->cy);
  cycle_init(s->cy);
  s->last_event = s->last_flush = INT64_MIN;
  return s;
}

void sched_free(sched_t *s)
{
  if (!s)
    return;
  cache_free(s);
  pvec_free(&s->queue);
  pvec_free(&s->parked);
  cycle_free(s->cy);
  free(s->cy);
  intern_free(&s->it);
  free(s->fail);
  free(s->feasible);
  free(s->scores);
  free(s->raw);
  free(s->name);
  free(s);
}

int sched_strategy_parse(const char *str, sched_strategy_t *out)
{
  if (str && !strcmp(str, "spread"))
    *out = SCHED_SPREAD;
  else if (str && !strcmp(str, "binpack"))
    *out = SCHED_BINPACK;
  else
    return -1;
  return 0;
}

const char *sched_strategy_name(sched_strategy_t st)
{
  return st == SCHED_BINPACK ? "binpack" : "spread";
}

void sched_result_clear(sched_result_t *r)
{
  free(r->ns);
  free(r->name);
  free(r->uid);
  free(r->node);
  free(r->message);
  free(r->nominated_node);
  for (size_t i = 0; i < r->n_victims; i++) {
    free(r->victims[i].ns);
    free(r->victims[i].name);
    free(r->victims[i].uid);
  }
  free(r->victims);
  memset(r, 0, sizeof *r);
}

void sched_stats(sched_t *s, sched_stats_t *out)
{
  *out = (sched_stats_t){ .nodes = s->nodes.n,
                          .pods = s->n_pods,
                          .queued = s->queue.n,
                          .parked = s->parked.n,
                          .assumed = s->n_assumed,
                          .interned = s->it.n ? s->it.n - 1 : 0 };
}

/* kube's numFeasibleNodesToFind with the adaptive percentage. */
static size_t nodes_to_find(size_t n)
{
  if (n < MIN_FEASIBLE)
    return n;
  int64_t pct = 50 - (int64_t)n / 125;
  if (pct < MIN_PERCENT)
    pct = MIN_PERCENT;
  size_t want = n * (size_t)pct / 100;
  return want < MIN_FEASIBLE ? MIN_FEASIBLE : want;
}

static void scratch(sched_t *s)
{
  size_t n = s->nodes.n;
  if (n > s->cap_fail) {
    s->cap_fail = n * 2;
    s->fail = xrealloc(s->fail, s->cap_fail * sizeof *s->fail);
    s->feasible = xrealloc(s->feasible, s->cap_fail * sizeof *s->feasible);
    s->scores = xrealloc(s->scores, s->cap_fail * sizeof *s->scores);
    s->raw = xrealloc(s->raw, s->cap_fail * sizeof *s->raw);
  }
}

static int64_t backoff(int attempts)
{
  int64_t b = BACKOFF_INITIAL_NS;
  for (int i = 1; i < attempts && b < BACKOFF_MAX_NS; i++)
    b *= 2;
  return b < BACKOFF_MAX_NS ? b : BACKOFF_MAX_NS;
}

static void park(sched_t *s, spod_t *p, int64_t now)
{
  p->attempts++;
  p->due = p->bad ? INT64_MAX : now + backoff(p->attempts);
  park_push(s, p);
}

/* Filters (and scores) the nodes: the chosen node, or NULL with s->fail
 * filled for every node. */
static snode_t *find_node(sched_t *s, spod_t *p)
{
  cycle_t *cy = s->cy;
  cycle_prepare(s, cy, p);
  scratch(s);
  if (p->nominated && node_filter(s, cy, p, p->nominated, NULL) == 0)
    return p->nominated;
  size_t n = s->nodes.n, want = nodes_to_find(n), found = 0, i;
  if (s->next_start >= n)
    s->next_start = 0;
  for (i = 0; i < n && found < want; i++) {
    snode_t *node = s->nodes.v[(s->next_start + i) % n];
    uint32_t f = node_filter(s, cy, p, node, NULL);
    s->fail[node->idx] = f;
    if (!f)
      s->feasible[found++] = node;
  }
  s->next_start = (s->next_start + i) % n;
  if (!found)
    return NULL;
  if (found == 1)
    return s->feasible[0];
  return s->feasible[score_pick(s, cy, p, s->feasible, found)];
}

static void decide(sched_t *s, spod_t *p, sched_result_t *r)
{
  int64_t now = sched_now(s);
  p->last_try = now;
  char *msg = NULL;
  snode_t *chosen = NULL;
  if (p->bad) {
    msg = xasprintf("invalid scheduling constraints: %s", p->bad);
  } else if (!s->nodes.n) {
    msg = xstrdup("no nodes available to schedule pods");
  } else if (!(chosen = find_node(s, p))) {
    char *fit = fit_message(s, p, s->cy), *pm = NULL;
    preempt(s, s->cy, p, r, &pm);
    if (pm) {
      msg = xasprintf("%s %s.", fit, pm);
      free(fit);
      free(pm);
    } else {
      msg = fit;
    }
  }
  if (chosen) {
    unnominate(p);
    pod_place(s, p, chosen);
    p->state = PS_ASSUMED;
    s->n_assumed++;
    p->attempts = 0;
    free(p->node_name);
    p->node_name = xstrdup(chosen->name);
    r->node = xstrdup(chosen->name);
    return;
  }
  if (!r->nominated_node && p->nominated)
    r->nominated_node = xstrdup(p->nominated->name);
  sid_t nom = p->nominated ? p->nominated->name_id : 0;
  r->message_changed = !p->last_msg || strcmp(p->last_msg, msg);
  r->status_changed = r->message_changed || nom != p->last_nom;
  free(p->last_msg);
  p->last_msg = xstrdup(msg);
  p->last_nom = nom;
  r->message = msg;
  park(s, p, now);
}

bool sched_next(sched_t *s, sched_result_t *out)
{
  memset(out, 0, sizeof *out);
  queue_release_due(s, sched_now(s));
  spod_t *p = queue_pop(s);
  if (!p)
    return false;
  int64_t t0 = time_mono_ns();
  out->ns = xstrdup(p->ns);
  out->name = xstrdup(p->name);
  out->uid = xstrdup(p->uid);
  decide(s, p, out);
  out->decision_ns = time_mono_ns() - t0;
  return true;
}

void sched_forget(sched_t *s, const char *ns, const char *name)
{
  spod_t *p = pod_find(s, ns, name);
  if (!p || p->state != PS_ASSUMED)
    return;
  pod_unplace(s, p);
  s->n_assumed--;
  p->state = PS_IDLE;
  free(p->node_name);
  p->node_name = NULL;
  park(s, p, sched_now(s));
  /* Its room is free again. */
  cache_event(s);
}
