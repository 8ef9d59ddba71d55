/* defs.c — the table of controllers the manager runs, and what they watch. */
#include "ctrl/ctrl.h"

const ctrl_def_t ctrl_defs[] = {
  { NULL, NULL, NULL, NULL },
};
const size_t ctrl_ndefs = 0;

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
