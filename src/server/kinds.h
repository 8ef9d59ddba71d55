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

#define SRV_COL_INT(n, d, fn)                                                                      \
  {                                                                                                \
    n, "integer", "", d, 0, fn                                                                     \
  }

/* The cell "<none>" for an empty or absent string, else the string. */
json_t *srv_cell_or_none(const char *s);

/* kinds_pod.c */
#define SRV_POD_COLUMNS  9
#define SRV_NODE_COLUMNS 10
extern const srv_column_t srv_cols_pod[SRV_POD_COLUMNS];
extern const srv_column_t srv_cols_node[SRV_NODE_COLUMNS];
void srv_validate_pod(json_t *o, api_errors_t *errs);
void srv_validate_pod_update(json_t *o, json_t *cur, api_errors_t *errs);
void srv_validate_node(json_t *o, api_errors_t *errs);
/* A pod spec at path ("spec.template.spec"): SetDefaults_PodSpec's defaults
 * (what a pod template gets; not the pod-only ones), then the pod's own
 * validation with the paths under path. */
void srv_validate_pod_spec(json_t *spec, const char *path, api_errors_t *errs);
/* kubectl's STATUS column of a pod ("Running", "Init:0/1", "CrashLoopBackOff",
 * "Terminating", "Completed"…). */
char *srv_pod_status_text(json_t *pod);

/* kinds_apps.c: Deployments, ReplicaSets, DaemonSets, and what the
 * controller kinds share (pod templates, selectors, int-or-percent). */
#define SRV_DEPLOYMENT_COLUMNS 8
#define SRV_REPLICASET_COLUMNS 8
#define SRV_DAEMONSET_COLUMNS  11
extern const srv_column_t srv_cols_deployment[SRV_DEPLOYMENT_COLUMNS];
extern const srv_column_t srv_cols_replicaset[SRV_REPLICASET_COLUMNS];
extern const srv_column_t srv_cols_daemonset[SRV_DAEMONSET_COLUMNS];
void srv_validate_deployment(json_t *o, api_errors_t *errs);
void srv_validate_replicaset(json_t *o, api_errors_t *errs);
void srv_validate_daemonset(json_t *o, api_errors_t *errs);
/* spec.selector may not change (apps/v1). */
void srv_validate_selector_update(json_t *o, json_t *cur, api_errors_t *errs);
/* Kubernetes' PrepareForCreate of the kinds with a status subresource:
 * status starts empty. */
void srv_prepare_clear_status(json_t *o);
/* An optional integer field o[key] at path.key: must be an integer in
 * [min, INT32_MAX]; the message Kubernetes gives for min 0 or 1. */
/* o[key] as an object, created when absent or null; NULL when it is
 * something else, with "PATH: must be an object" added to errs (when
 * errs is not NULL). */
/* An optional string field o[key] (null counts as absent) that must be one
 * of set: Kubernetes' "Unsupported value … supported values: …". */
void srv_check_enum(api_errors_t *errs, json_t *o, const char *key, const char *path,
                    const char *const *set);
json_t *srv_child_object(json_t *o, const char *key, const char *path, api_errors_t *errs);
void srv_check_int_field(api_errors_t *errs, json_t *o, const char *key, const char *path,
                         int64_t min);
void srv_default_int(json_t *o, const char *key, json_int_t v);
/* The pod template at tpath ("spec.template"): its metadata's labels and
 * annotations, its spec with the pod's defaults and validation. Returns the
 * template object (NULL when absent or not an object, after an error). */
json_t *srv_check_pod_template(json_t *tmpl, const char *tpath, api_errors_t *errs);
/* "`selector` does not match template `labels`" at tpath.metadata.labels
 * when sel (a metav1.LabelSelector, NULL selecting nothing) does not select
 * the template's labels. */
void srv_check_selector_matches(api_errors_t *errs, json_t *sel, json_t *tmpl, const char *tpath);
/* One error naming a template's restartPolicy that is not in allowed. */
void srv_check_restart_policy(api_errors_t *errs, json_t *tmpl, const char *tpath,
                              const char *const *allowed);
/* Cells: the names and the images of a pod template's containers, and the
 * selector ("app=web"; empty: "" or, with none, "<none>"). */
json_t *srv_cell_containers_of(json_t *tmpl);
json_t *srv_cell_images_of(json_t *tmpl);
json_t *srv_cell_selector_of(json_t *sel, bool none);
/* An integer cell from o.a.b (0 when absent). */
json_t *srv_cell_int_at(json_t *o, const char *a, const char *b);
/* The string form of a metav1.LabelSelector ("app=web"; "" selects all or
 * nothing); NULL when it does not parse. */
char *srv_selector_string(json_t *sel);
/* An int-or-percent ("25%" or 1) at path: Kubernetes'
 * ValidatePositiveIntOrPercent and, when max100, IsNotMoreThan100Percent.
 * *zero tells whether it is 0 or "0%". */
void srv_check_int_or_percent(api_errors_t *errs, json_t *v, const char *path, bool max100,
                              bool *zero);

/* kinds_batch.c: Jobs and CronJobs. */
#define SRV_JOB_COLUMNS     8
#define SRV_CRONJOB_COLUMNS 10
extern const srv_column_t srv_cols_job[SRV_JOB_COLUMNS];
extern const srv_column_t srv_cols_cronjob[SRV_CRONJOB_COLUMNS];
void srv_prepare_job(json_t *o);
void srv_validate_job(json_t *o, api_errors_t *errs);
void srv_validate_job_update(json_t *o, json_t *cur, api_errors_t *errs);
void srv_validate_cronjob(json_t *o, api_errors_t *errs);

/* kinds_policy.c: PriorityClasses and PodDisruptionBudgets. */
#define SRV_PRIORITYCLASS_COLUMNS 5
#define SRV_PDB_COLUMNS           5
extern const srv_column_t srv_cols_priorityclass[SRV_PRIORITYCLASS_COLUMNS];
extern const srv_column_t srv_cols_pdb[SRV_PDB_COLUMNS];
void srv_validate_priorityclass(json_t *o, api_errors_t *errs);
void srv_validate_priorityclass_update(json_t *o, json_t *cur, api_errors_t *errs);
void srv_validate_pdb(json_t *o, api_errors_t *errs);
/* The priority admission: a pod's priority from its priorityClassName, or
 * the globalDefault class, or 0; PriorityClasses: one globalDefault. */
bool srv_admit_pod(srv_t *s, srv_resp_t *r, json_t *o, json_t *cur);
bool srv_admit_priorityclass(srv_t *s, srv_resp_t *r, json_t *o, json_t *cur);

#endif
