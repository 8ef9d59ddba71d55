/* deployment.h — what the Deployment controller's two files share (inside
 * src/ctrl/ only): one sync's working state and the steps of a rollout.
 *
 * deployment.c reads the Deployment, claims its ReplicaSets, finds or
 * creates the new one, computes the status and conditions, and writes what
 * changed; deployment_rollout.c decides the sizes (rolling update,
 * recreate, proportional scaling) and deletes old history. Every step
 * changes working copies (dp_rs_t.obj, dp_t.d), the way Kubernetes' steps
 * change the objects their API calls return; dp_flush turns the
 * differences into actions once, at the end. */
#ifndef BERTH_CTRL_DEPLOYMENT_H
#define BERTH_CTRL_DEPLOYMENT_H

#include "ctrl/ctrl.h"

#define DP_HASH_LABEL       "pod-template-hash"
#define DP_REVISION         "deployment.kubernetes.io/revision"
#define DP_REVISION_HIST    "deployment.kubernetes.io/revision-history"
#define DP_DESIRED          "deployment.kubernetes.io/desired-replicas"
#define DP_MAX              "deployment.kubernetes.io/max-replicas"
#define DP_NO_DEADLINE      INT32_MAX /* progressDeadlineSeconds that means none */
#define DP_NO_HISTORY_LIMIT INT32_MAX

/* One ReplicaSet the Deployment controls. */
typedef struct dp_rs {
  json_t *obj;  /* what it is to become (owned) */
  json_t *orig; /* as cached (a reference); NULL: created by this sync */
  bool deleted; /* a delete was asked for */
} dp_rs_t;

typedef struct dp {
  ctrl_ctx_t *x;
  json_t *orig; /* the Deployment as cached (borrowed) */
  json_t *d;    /* its working copy: metadata.annotations and status change */
  const char *name;
  int64_t replicas, min_ready, history_limit, deadline_s;
  bool paused, recreate;
  int64_t surge, unavailable; /* maxSurge, maxUnavailable resolved against replicas */
  api_label_selector_t *sel;
  json_t *tmpl; /* spec.template (borrowed from d) */
  dp_rs_t *rs;  /* every set it controls, oldest first, with room for one more */
  size_t nrs;
  dp_rs_t *new_rs; /* the set running spec.template, or NULL */
  ctrl_actions_t events;
} dp_t;

/* ---- ReplicaSet fields (deployment.c) ---- */
int64_t dp_rs_replicas(const dp_rs_t *rs); /* spec.replicas */
int64_t dp_rs_status(const dp_rs_t *rs, const char *field);
/* The pods of the set that will still be available once its own
 * controller has brought it to spec.replicas: status.availableReplicas, at
 * most spec.replicas. A set just scaled down reports, until its controller
 * acts, the pods it is about to delete as available; counting them let a
 * second step of a rolling update go below maxUnavailable. */
int64_t dp_rs_available(const dp_rs_t *rs);
int64_t dp_rs_revision(const dp_rs_t *rs);
int64_t dp_rs_created(const dp_rs_t *rs);
/* An int annotation; false when missing or not a number. */
bool dp_rs_annotation_int(const dp_rs_t *rs, const char *key, int64_t *out);
/* The sets other than the new one (pointers into dp->rs, oldest first);
 * active_only: those with spec.replicas > 0. Returns how many. */
size_t dp_old_sets(dp_t *dp, dp_rs_t **out, bool active_only);
/* Sum of spec.replicas (field NULL) or of a status field over sets. */
int64_t dp_sum(dp_rs_t **sets, size_t n, const char *field);
/* Sum of dp_rs_available over sets. */
int64_t dp_sum_available(dp_rs_t **sets, size_t n);

/* Kubernetes' MaxSurge / MaxUnavailable of the Deployment. */
int64_t dp_max_surge(const dp_t *dp);
int64_t dp_max_unavailable(const dp_t *dp);

/* ---- steps (deployment.c) ---- */
/* Sets rs's size and, when it changes or always is set, its desired/max-
 * replicas annotations (Kubernetes' scaleReplicaSetAndRecordEvent and, with
 * always, scaleReplicaSet); a "Scaled up/down replica set" event when the
 * size changed. true when it did. */
bool dp_scale_rs(dp_t *dp, dp_rs_t *rs, int64_t n, bool always);
/* The new set for spec.template, created (in the working state) when
 * missing with the size NewRSNewReplicas gives; NULL on a name collision
 * (status.collisionCount goes up, the next sync hashes again). */
dp_rs_t *dp_create_new_rs(dp_t *dp);
/* The size the new set may have now (Kubernetes' NewRSNewReplicas). */
int64_t dp_new_rs_replicas(dp_t *dp, dp_rs_t *new_rs);
/* status from the sets (Kubernetes' syncDeploymentStatus). */
void dp_sync_status(dp_t *dp);
/* The same plus the Progressing condition and the deadline (syncRolloutStatus). */
void dp_sync_rollout_status(dp_t *dp);
/* Whether status shows spec.replicas updated, available and nothing else. */
bool dp_complete(const dp_t *dp, json_t *status);

/* ---- decisions (deployment_rollout.c) ---- */
void dp_rollout_rolling(dp_t *dp);
void dp_rollout_recreate(dp_t *dp);
/* Whether spec.replicas changed since the active sets were sized. */
bool dp_is_scaling_event(dp_t *dp);
/* Sizes the sets to spec.replicas, proportionally mid-rollout (Kubernetes'
 * scale), without rollout progress: the paused and scaling path. */
void dp_scale(dp_t *dp);
/* Deletes old sets at 0 beyond revisionHistoryLimit, oldest revision first. */
void dp_cleanup(dp_t *dp);

#endif
