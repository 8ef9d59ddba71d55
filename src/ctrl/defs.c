/* defs.c — the table of controllers the manager runs, and what they watch. */
#include "ctrl/ctrl.h"

/* Sorted by name. */
const ctrl_def_t ctrl_defs[] = {
  { "cronjob", "cronjobs", ctrl_cronjob_sync, ctrl_cronjob_keys },
  { "daemonset", "daemonsets", ctrl_daemonset_sync, ctrl_daemonset_keys },
  { "deployment", "deployments", ctrl_deploy_sync, ctrl_deploy_keys },
  { "disruption", "poddisruptionbudgets", ctrl_disruption_sync, ctrl_disruption_keys },
  { "job", "jobs", ctrl_job_sync, ctrl_job_keys },
  { "node-lifecycle", "nodes", ctrl_node_lifecycle_sync, ctrl_node_lifecycle_keys },
  { "replicaset", "replicasets", ctrl_rs_sync, ctrl_rs_keys },
};
const size_t ctrl_ndefs = ARRAY_SIZE(ctrl_defs);

const char *const ctrl_watched[] = {
  "/pods",
  "/nodes",
  "apps/replicasets",
  "apps/deployments",
  "apps/daemonsets",
  "batch/jobs",
  "batch/cronjobs",
  "policy/poddisruptionbudgets",
  "coordination.k8s.io/leases",
  NULL,
};
