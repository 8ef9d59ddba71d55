#!/usr/bin/env bash
# t_jobs_index.sh — Indexed Jobs' per-index retries and success policy on a
# real server and agent, through kubectl: backoffLimitPerIndex (an index
# that keeps failing is given up and listed in status.failedIndexes, the
# other indexes run to the end, and the Job fails with reason
# FailedIndexes; the retried pod carries the index's failure count), a
# successPolicy met by index 0 while the other indexes still run (condition
# SuccessCriteriaMet, their pods are stopped, then Complete with reason
# SuccessPolicy), and the API's 422 for bad specs of those fields, naming
# the field and storing nothing.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster.sh"

[ "$(id -u)" = 0 ] || { echo "  skipped: needs root"; ok "t_jobs_index skipped (not root)"; exit 0; }

P=/api/v1/namespaces/default/pods
BATCH=/apis/batch/v1/namespaces/default/jobs

cluster_start
cluster_agent jobs-node bjob0 10.231.0.0/24 || exit 1

# job NAME SPEC-LINES SCRIPT — an Indexed Job of 3 indexes running SCRIPT
# (sh -c) in busybox; SPEC-LINES are more spec fields (two-space indented).
job() {
  cat <<Y
apiVersion: batch/v1
kind: Job
metadata: {name: $1}
spec:
  completionMode: Indexed
  completions: 3
  parallelism: 3
$2
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 3
      containers:
      - name: c
        image: busybox
        command: ["sh", "-c", '$3']
Y
}
jsonpath() { kc get job "$1" -o jsonpath="$2" 2>&1; }
cond() { jsonpath "$1" "{.status.conditions[?(@.type==\"$2\")].$3}"; }

# ---- bad specs: 422 naming the field, nothing stored ------------------------------
expect_fail "backoffLimitPerIndex on a NonIndexed Job: refused" \
  'spec.backoffLimitPerIndex: Invalid value: 1: requires indexed completion mode' \
  kc apply -f - < <(job bad1 '  backoffLimitPerIndex: 1' 'exit 0' | sed 's/completionMode: Indexed/completionMode: NonIndexed/')
expect_fail "successPolicy naming an index past completions: refused" \
  'spec.successPolicy.rules\[0\].succeededIndexes: Invalid value: "0-7": error parsing succeededIndexes: too large index: "7"' \
  kc apply -f - < <(job bad2 $'  successPolicy:\n    rules: [{succeededIndexes: "0-7"}]' 'exit 0')
expect_fail "successPolicy succeededCount above completions: refused" \
  'spec.successPolicy.rules\[0\].succeededCount: Invalid value: 4: must be less than or equal to 3 \(the number of specified completions\)' \
  kc apply -f - < <(job bad3 $'  successPolicy:\n    rules: [{succeededCount: 4}]' 'exit 0')
expect_fail "maxFailedIndexes above completions: refused" \
  'spec.maxFailedIndexes: Invalid value: 5: must be less than or equal to completions' \
  kc apply -f - < <(job bad4 $'  backoffLimitPerIndex: 1\n  maxFailedIndexes: 5' 'exit 0')
expect_fail "FailIndex without backoffLimitPerIndex: refused" \
  'spec.podFailurePolicy.rules\[0\].action: Invalid value: "FailIndex": requires the backoffLimitPerIndex to be set' \
  kc apply -f - < <(job bad5 $'  podFailurePolicy:\n    rules: [{action: FailIndex, onExitCodes: {operator: In, values: [42]}}]' 'exit 0')
out=$(req POST $BATCH -H 'Content-Type: application/json' -d '{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"bad6"},"spec":{"completionMode":"Indexed","completions":2,"maxFailedIndexes":1,"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"busybox"}]}}}}')
expect_match "POST: maxFailedIndexes without backoffLimitPerIndex is a 422 naming the field" \
  '"reason":"Invalid".*"message":"Required value: when maxFailedIndexes is specified","field":"spec.backoffLimitPerIndex".* 422$' "$out"
expect_eq "... no refused Job was stored, no pod made" "0 0" \
  "$(req GET $BATCH | python3 -c 'import json,sys; print(len(json.loads(sys.stdin.read().rsplit(" ",1)[0])["items"]))') $(req GET $P | python3 -c 'import json,sys; print(len(json.loads(sys.stdin.read().rsplit(" ",1)[0])["items"]))')"

# ---- backoffLimitPerIndex: index 1 always fails, 0 and 2 succeed --------------------
job perindex '  backoffLimitPerIndex: 1' '[ "$JOB_COMPLETION_INDEX" = 1 ] && exit 1; exit 0' >"$T/perindex.yaml"
expect_eq "kubectl apply: an Indexed Job with backoffLimitPerIndex 1" "job.batch/perindex created" \
  "$(kc apply -f "$T/perindex.yaml" 2>&1)"
expect_eq "the API defaults backoffLimit to no limit for it" 2147483647 "$(jsonpath perindex '{.spec.backoffLimit}')"
failed_idx() { [ "$(cond perindex Failed reason)" = FailedIndexes ]; }
if wait_for 90 failed_idx; then ok "the Job fails with reason FailedIndexes once every index finished"
else not_ok "FailedIndexes" "$(kc get job perindex -o yaml 2>&1 | tail -30)"; fi
expect_eq "... message" "Job has failed indexes" "$(cond perindex Failed message)"
expect_eq "status.failedIndexes, completedIndexes, succeeded, failed" "1 0,2 2 2" \
  "$(jsonpath perindex '{.status.failedIndexes} {.status.completedIndexes} {.status.succeeded} {.status.failed}')"
expect_match "kubectl get job: Failed 2/3" 'perindex +Failed +2/3 ' "$(kc get job perindex 2>&1)"
expect_eq "index 1 ran twice; its pods carry failure counts 0 and 1" "0 1" \
  "$(kc get pods -l batch.kubernetes.io/job-completion-index=1,job-name=perindex \
    -o jsonpath='{range .items[*]}{.metadata.annotations.batch\.kubernetes\.io/job-index-failure-count}{"\n"}{end}' 2>&1 | sort | xargs)"
expect_eq "indexes 0 and 2 ran once each" "1 1" \
  "$(for i in 0 2; do kc get pods -l batch.kubernetes.io/job-completion-index=$i,job-name=perindex -o name 2>/dev/null | wc -l; done | xargs)"
expect_eq "backoffLimitPerIndex is immutable" 1 \
  "$(kc patch job perindex --type=merge -p '{"spec":{"backoffLimitPerIndex":2}}' 2>&1 | grep -c 'spec.backoffLimitPerIndex: Invalid value: 2: field is immutable')"

# ---- successPolicy: index 0 is enough; 1 and 2 would run for minutes ----------------
job leader $'  successPolicy:\n    rules: [{succeededIndexes: "0"}]' \
  'trap "exit 143" TERM; [ "$JOB_COMPLETION_INDEX" = 0 ] && sleep 2 && exit 0; sleep 300 & wait' >"$T/leader.yaml"
t0=$SECONDS
expect_eq "kubectl apply: an Indexed Job with a successPolicy" "job.batch/leader created" \
  "$(kc apply -f "$T/leader.yaml" 2>&1)"
complete() { [ "$(cond leader Complete status)" = True ]; }
if wait_for 90 complete; then ok "the Job completes once index 0 succeeded ($((SECONDS - t0)) s, not 300)"
else not_ok "successPolicy completes" "$(kc get job leader -o yaml 2>&1 | tail -30)"; fi
expect_eq "conditions: SuccessCriteriaMet, then Complete" "SuccessCriteriaMet Complete" \
  "$(jsonpath leader '{.status.conditions[*].type}')"
expect_eq "... both with reason SuccessPolicy and Kubernetes' message" \
  "SuccessPolicy SuccessPolicy|Matched rules at index 0 Matched rules at index 0" \
  "$(jsonpath leader '{.status.conditions[*].reason}')|$(jsonpath leader '{.status.conditions[*].message}')"
expect_eq "completedIndexes 0, succeeded 1, no active pod, completionTime set" "0 1  set" \
  "$(jsonpath leader '{.status.completedIndexes} {.status.succeeded} {.status.active}') $(jsonpath leader '{.status.completionTime}' | sed 's/^.\+$/set/')"
expect_match "kubectl get job: Complete 1/3" 'leader +Complete +1/3 ' "$(kc get job leader 2>&1)"
still_running() { kc get pods -l job-name=leader -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}' 2>/dev/null | grep -c -E 'Running|Pending'; }
expect_eq "the pods of indexes 1 and 2 were stopped" 0 "$(still_running)"
expect_match "events: the deletions and Completed" 'SuccessfulDelete.*Completed|Completed.*SuccessfulDelete' \
  "$(kc get events --field-selector involvedObject.name=leader -o jsonpath='{range .items[*]}{.reason} {end}' 2>&1)"
expect_fail "successPolicy is immutable" 'spec.successPolicy: Invalid value: field is immutable' \
  kc patch job leader --type=merge -p '{"spec":{"successPolicy":{"rules":[{"succeededCount":2}]}}}'

for f in "$T/server.log" "$T/agent.log"; do
  if grep -q "ERROR: AddressSanitizer\|runtime error:" "$f"; then not_ok "$(basename "$f") has sanitizer reports" "$(grep -m3 'ERROR\|runtime error' "$f")"
  else ok "$(basename "$f"): no sanitizer reports"; fi
done
