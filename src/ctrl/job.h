/* job.h — what the Job controller's two files share (inside src/ctrl/
 * only): one sync's working state, and the policies that judge a Job's
 * pods.
 *
 * job.c counts the pods, decides whether the Job is finished, and creates
 * and deletes pods; job_policy.c says what a failed pod means
 * (podFailurePolicy), reads and writes the index sets of Indexed Jobs
 * ("1,3-5"), and whether the succeeded indexes meet a successPolicy rule. */
#ifndef BERTH_CTRL_JOB_H
#define BERTH_CTRL_JOB_H

#include "ctrl/ctrl.h"

#define JOB_INDEX_KEY "batch.kubernetes.io/job-completion-index"
/* backoffLimitPerIndex: the failures of the index before the pod (counted,
 * and ignored by podFailurePolicy), on each pod of the index, so that the
 * count survives the failed pods' deletion (Kubernetes' annotations) */
#define JOB_FAILURE_COUNT_KEY "batch.kubernetes.io/job-index-failure-count"
#define JOB_IGNORED_COUNT_KEY "batch.kubernetes.io/job-index-ignored-failure-count"

/* One index of an Indexed Job with backoffLimitPerIndex. */
typedef struct job_index {
  int64_t fails;     /* pod failures counted in the index */
  int64_t ignored;   /* failures a podFailurePolicy rule ignored */
  int64_t last_fail; /* ns, when its newest failed pod finished */
} job_index_t;

typedef struct job {
  ctrl_ctx_t *x;
  json_t *obj, *spec;
  const char *ns, *name;
  bool indexed;
  int64_t completions; /* -1: not set */
  int64_t parallelism;
  int64_t per_index;   /* backoffLimitPerIndex (Indexed only); -1: not set */
  json_t *active;      /* pods not terminated and not being deleted */
  int64_t terminating; /* pods being deleted that have not terminated */
  int64_t nsucc, nfail;
  int64_t last_fail;   /* ns, when the newest failed pod finished */
  unsigned char *done; /* Indexed: completed indexes */
  int64_t ndone;
  unsigned char *failed; /* per_index: failed indexes */
  int64_t nfailed;
  job_index_t *idx; /* per_index: each index's failures */
  int64_t created, deleted, ready_deleted;
  char *fail_job; /* a failed pod matched a FailJob rule: the condition's message */
  json_t *taken;  /* names given to pods in this sync */
} job_t;

/* What the podFailurePolicy says of a failed pod. */
typedef enum { JOB_PFP_COUNT, JOB_PFP_IGNORE, JOB_PFP_FAIL_JOB, JOB_PFP_FAIL_INDEX } job_pfp_t;

/* The first rule of the Job's podFailurePolicy that matches the failed
 * pod; no policy or no rule: Count. A FailJob match sets j->fail_job (the
 * first one's message, Kubernetes' words); FailIndex counts as Count
 * without backoffLimitPerIndex. */
job_pfp_t job_failure_action(job_t *j, json_t *pod);
/* Adds the indexes of s ("1,3-5", as status.completedIndexes) below n to
 * set; a malformed part and what follows are skipped. */
void job_indexes_parse(const char *s, unsigned char *set, int64_t n);
/* The indexes in set (n of them) as Kubernetes writes them: "1,3-5,7";
 * two in a row are "3,4". NULL when none. */
char *job_indexes_format(const unsigned char *set, int64_t n);
/* Kubernetes' message for the first rule of successPolicy that the
 * completed indexes (done, n of them, ndone set) meet, "Matched rules at
 * index 0", or NULL. */
char *job_success_match(json_t *policy, const unsigned char *done, int64_t n, int64_t ndone);

#endif
