/* kinds.h — what kinds.c and kinds_pod.c share: Table cell helpers and the
 * pod and node rows' pieces. */
#ifndef BERTH_SERVER_KINDS_H
#define BERTH_SERVER_KINDS_H

#include "api/api.h"
#include "server/internal.h"

json_t *srv_cell_str(const char *s);
/* The age since an RFC 3339 time, "<unknown>" without one. */
json_t *srv_cell_age_of(const char *ts, int64_t now);
json_t *srv_cell_age(json_t *o, int64_t now);
json_t *srv_cell_name(json_t *o, int64_t now);

#define SRV_COL(n, d, fn)                                                                          \
  {                                                                                                \
    n, "string", "", d, 0, fn                                                                      \
  }
#define SRV_COL_WIDE(n, d, fn)                                                                     \
  {                                                                                                \
    n, "string", "", d, 1, fn                                                                      \
  }
#define SRV_NAME_COL                                                                               \
  {                                                                                                \
    "Name", "string", "name", "Name of the object", 0, srv_cell_name                               \
  }
#define SRV_AGE_COL SRV_COL("Age", "Time since creation", srv_cell_age)

/* kinds_pod.c */
#define SRV_POD_COLUMNS  9
#define SRV_NODE_COLUMNS 10
extern const srv_column_t srv_cols_pod[SRV_POD_COLUMNS];
extern const srv_column_t srv_cols_node[SRV_NODE_COLUMNS];
void srv_validate_pod(json_t *o, api_errors_t *errs);
void srv_validate_pod_update(json_t *o, json_t *cur, api_errors_t *errs);
void srv_validate_node(json_t *o, api_errors_t *errs);
/* kubectl's STATUS column of a pod ("Running", "Init:0/1", "CrashLoopBackOff",
 * "Terminating", "Completed"…). */
char *srv_pod_status_text(json_t *pod);

#endif
