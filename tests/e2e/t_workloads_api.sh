#!/usr/bin/env bash
# t_workloads_api.sh — the workload kinds in the API server, with its controllers
# running but no agent (pods stay Pending unless a check reports a status for
# them, as an agent would): Deployments, ReplicaSets, DaemonSets, Jobs,
# CronJobs, PriorityClasses and PodDisruptionBudgets through the real kubectl
# (create, apply, get, -o wide, -o yaml, describe, scale, delete, get all,
# drain) and curl: discovery, defaults (on the object as created), every
# validation error with its 422 message and nothing stored, fieldValidation
# Strict, the scale and status subresources, what the controllers make of the
# objects (ReplicaSets, pods, counts, Job completion, CronJob runs, budget
# status, events), priority admission, the eviction subresource against
# disruption budgets, what a node's credential may do, and the berth CLI on
# the same objects.
source "$(dirname "$0")/lib.sh"

source "$(dirname "$0")/cluster.sh"
cluster_server || { not_ok "server starts" "$(tail -5 "$T/server.log")"; exit 1; }

MP=(-H 'Content-Type: application/merge-patch+json')
b() { KUBECONFIG="$DATA/admin.kubeconfig" "$BERTH" "$@"; }
APPS=/apis/apps/v1/namespaces/default
BATCH=/apis/batch/v1/namespaces/default
PDB=/apis/policy/v1/namespaces/default/poddisruptionbudgets
PC=/apis/scheduling.k8s.io/v1/priorityclasses
P=/api/v1/namespaces/default/pods
# A pod template: labels $1, restartPolicy $2.
tpl() { echo "\"template\":{\"metadata\":{\"labels\":{$1}},\"spec\":{\"restartPolicy\":\"$2\",\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}"; }
# jqk EXPR: a Python expression over the JSON d that kubectl printed on stdin.
jqk() { python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(eval(sys.argv[1]))' "$1"; }
# eventually NAME SECONDS REGEX CMD… — CMD's output comes to match REGEX (what a
# controller does takes a moment).
eventually() {
  local n=$1 deadline=$((SECONDS + $2)) re=$3 out
  shift 3
  until out=$("$@" 2>&1) && [[ "$out" =~ $re ]]; do
    [ $SECONDS -ge $deadline ] && { not_ok "$n" "[$out] does not match /$re/"; return 1; }
    sleep 0.2
  done
  ok "$n"
}
# invalid NAME REGEX OUT: a 422 whose message matches REGEX.
invalid() { expect_match "$1" "$2.* 422\$" "$3"; }

# ---- discovery ------------------------------------------------------------------
out=$(req GET /apis)
for g in apps/v1 batch/v1 scheduling.k8s.io/v1 policy/v1; do
  expect_match "/apis lists $g as preferred" "\"preferredVersion\":\\{\"groupVersion\":\"$g\"" "$out"
done
expect_match "apps/v1: deployments (deploy, all), deployments/scale (autoscaling/v1 Scale), replicasets (rs), daemonsets (ds)" \
  '"name":"deployments".*"shortNames":\["deploy"\],"categories":\["all"\].*"name":"deployments/scale".*"kind":"Scale".*"group":"autoscaling","version":"v1".*"name":"replicasets".*"shortNames":\["rs"\].*"name":"replicasets/scale".*"name":"daemonsets".*"shortNames":\["ds"\]' \
  "$(req GET /apis/apps/v1)"
expect_match "batch/v1: jobs and cronjobs (cj), in category all" \
  '"name":"jobs".*"categories":\["all"\].*"name":"jobs/status".*"name":"cronjobs".*"shortNames":\["cj"\],"categories":\["all"\]' "$(req GET /apis/batch/v1)"
expect_match "policy/v1: poddisruptionbudgets (pdb)" '"name":"poddisruptionbudgets".*"shortNames":\["pdb"\].*"name":"poddisruptionbudgets/status"' "$(req GET /apis/policy/v1)"
expect_match "scheduling.k8s.io/v1: priorityclasses (pc), cluster-scoped" '"name":"priorityclasses","singularName":"priorityclass","namespaced":false.*"shortNames":\["pc"\]' \
  "$(req GET /apis/scheduling.k8s.io/v1)"
expect_match "v1: pods in category all, pods/eviction as policy/v1 Eviction" \
  '"name":"pods".*"categories":\["all"\].*"name":"pods/eviction","singularName":"","namespaced":true,"kind":"Eviction","verbs":\["create"\],"group":"policy","version":"v1"' \
  "$(req GET /api/v1)"
out=$(kc get priorityclasses 2>&1)
expect_match "built-in PriorityClasses: NAME VALUE GLOBAL-DEFAULT AGE PREEMPTIONPOLICY" \
  $'NAME +VALUE +GLOBAL-DEFAULT +AGE +PREEMPTIONPOLICY\nsystem-cluster-critical +2000000000 +false +[0-9]+s +PreemptLowerPriority\nsystem-node-critical +2000001000 +false +[0-9]+s +PreemptLowerPriority' "$out"

# ---- Deployments: kubectl create (protobuf), defaults, scale, what the controllers make --------
# The object as created, before any controller acted on it (kubectl prints the server's answer).
out=$(kc create deployment web --image=busybox -o json 2>&1)
expect_eq "defaults: replicas, strategy 25%/25%, revisionHistoryLimit, progressDeadlineSeconds, template pod defaults, generation, status" \
  "1 RollingUpdate 25% 25% 10 600 Always ClusterFirst 30 Always 1 {}" \
  "$(jqk '" ".join(str(x) for x in [d["spec"]["replicas"],d["spec"]["strategy"]["type"],d["spec"]["strategy"]["rollingUpdate"]["maxSurge"],d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"],d["spec"]["revisionHistoryLimit"],d["spec"]["progressDeadlineSeconds"],d["spec"]["template"]["spec"]["restartPolicy"],d["spec"]["template"]["spec"]["dnsPolicy"],d["spec"]["template"]["spec"]["terminationGracePeriodSeconds"],d["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],d["metadata"]["generation"],json.dumps(d["status"])])' <<<"$out")"
expect_eq "... no pod-only defaults in the template (serviceAccountName, priority, status)" "None None None" \
  "$(jqk 'd["spec"]["template"]["spec"].get("serviceAccountName"),d["spec"]["template"]["spec"].get("priority"),d["spec"]["template"].get("status")' <<<"$out" | tr -d "(),'")"
expect_match "kubectl get deploy -o yaml shows the defaults" 'progressDeadlineSeconds: 600.*maxSurge: 25%.*type: RollingUpdate' "$(kc get deploy web -o yaml | tr '\n' ' ')"
# The Deployment controller makes a ReplicaSet web-<pod-template-hash>, which makes the pod.
rs_web() { req GET "$APPS/replicasets?labelSelector=app%3Dweb" | jq_ '" ".join(i["metadata"]["name"] for i in d["items"])'; }
has_rs_web() { [[ "$(rs_web)" =~ ^web-[a-z0-9]+$ ]]; }
wait_for 30 has_rs_web
RS=$(rs_web)
H=${RS#web-}
expect_eq "the Deployment controller made ReplicaSet web-<pod-template-hash>: controlled by web, 1 replica, the hash in its selector and template, revision 1" \
  "Deployment web True 1 $H $H 1" \
  "$(req GET $APPS/replicasets/$RS | jq_ '" ".join(str(x) for x in [d["metadata"]["ownerReferences"][0]["kind"],d["metadata"]["ownerReferences"][0]["name"],d["metadata"]["ownerReferences"][0]["controller"],d["spec"]["replicas"],d["spec"]["selector"]["matchLabels"]["pod-template-hash"],d["spec"]["template"]["metadata"]["labels"]["pod-template-hash"],d["metadata"]["annotations"]["deployment.kubernetes.io/revision"]])')"
eventually "kubectl get deployments: NAME READY UP-TO-DATE AVAILABLE AGE (one pod, up to date, Pending: no node)" 30 \
  $'NAME +READY +UP-TO-DATE +AVAILABLE +AGE\nweb +0/1 +1 +0 +[0-9]+s' kc get deployments
expect_match "kubectl get deploy -o wide: CONTAINERS IMAGES SELECTOR" $'CONTAINERS +IMAGES +SELECTOR\nweb +0/1 +1 +0 +[0-9]+s +busybox +busybox +app=web' "$(kc get deploy -o wide 2>&1)"
expect_match "... its pod: web-<hash>-xxxxx, Pending" $'^NAME +READY +STATUS +RESTARTS +AGE\n'"$RS"'-[a-z0-9]{5} +0/1 +Pending ' "$(kc get pods -l app=web 2>&1)"
eventually "kubectl get events: SuccessfulCreate on the ReplicaSet, ScalingReplicaSet on the Deployment" 30 \
  "SuccessfulCreate +replicaset/$RS +Created pod: $RS-[a-z0-9]{5}.*ScalingReplicaSet +deployment/web +Scaled up replica set $RS " kc get events --sort-by=.metadata.name
check "kubectl scale deploy/web --replicas=3" kc scale deploy/web --replicas=3
out=$(req GET $APPS/deployments/web)
expect_eq "... spec.replicas is 3, generation 2" "3 2" "$(jq_ 'd["spec"]["replicas"],d["metadata"]["generation"]' <<<"$out" | tr -d "(),")"
# settled N: the Deployment's status counts N pods of generation 2.
settled() { req GET $APPS/deployments/web | jq_ 'd["status"].get("observedGeneration")==d["metadata"]["generation"] and d["status"].get("replicas")==d["status"].get("updatedReplicas")=='"$1" | grep -q True; }
wait_for 30 settled 3
dep_rv() { req GET $APPS/deployments/web | jq_ 'd["metadata"]["resourceVersion"]'; }
for _ in $(seq 20); do # the Scale read between two reads of one version of the Deployment
  rv=$(dep_rv); out=$(req GET $APPS/deployments/web/scale); [ "$rv" = "$(dep_rv)" ] && break; sleep 0.2
done
expect_match "GET deployments/web/scale: an autoscaling/v1 Scale, status.replicas from the Deployment's status" \
  '"kind":"Scale","apiVersion":"autoscaling/v1","metadata":\{"name":"web","namespace":"default","uid":"[0-9a-f-]+","resourceVersion":"'"$rv"'".*"spec":\{"replicas":3\},"status":\{"replicas":3,"selector":"app=web"\}.* 200$' "$out"
for _ in $(seq 10); do # a controller's status write may come between the read and the write
  rv=$(dep_rv)
  out=$(req PUT $APPS/deployments/web/scale -d "{\"apiVersion\":\"autoscaling/v1\",\"kind\":\"Scale\",\"metadata\":{\"name\":\"web\",\"resourceVersion\":\"$rv\"},\"spec\":{\"replicas\":5}}")
  [[ "$out" == *' 409' ]] || break
done
expect_match "PUT scale with the current resourceVersion: spec.replicas 5" '"spec":\{"replicas":5\}.* 200$' "$out"
out=$(req PUT $APPS/deployments/web/scale -d "{\"metadata\":{\"name\":\"web\",\"resourceVersion\":\"$rv\"},\"spec\":{\"replicas\":7}}")
expect_match "PUT scale with a stale resourceVersion: 409 Conflict" 'Operation cannot be fulfilled on deployments.apps \\"web\\".* 409$' "$out"
invalid "scale to -1: 422 naming spec.replicas" 'Scale.autoscaling \\"web\\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0' \
  "$(req PATCH $APPS/deployments/web/scale "${MP[@]}" -d '{"spec":{"replicas":-1}}')"
out=$(req GET $APPS/deployments/web)
expect_eq "the deployment has 5 replicas; its template did not change" "5 busybox" "$(jq_ 'd["spec"]["replicas"],d["spec"]["template"]["spec"]["containers"][0]["image"]' <<<"$out" | tr -d "(),'")"
wait_for 30 settled 5
expect_eq "... the ReplicaSet controller made 5 pods" 5 "$(req GET "$P?labelSelector=app%3Dweb" | jq_ 'len(d["items"])')"
# Two of them Ready, as an agent would report: READY and AVAILABLE follow, through the
# ReplicaSet's status into the Deployment's.
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
for p in $(req GET "$P?labelSelector=app%3Dweb" | jq_ '" ".join(sorted(i["metadata"]["name"] for i in d["items"])[:2])'); do
  req PATCH $P/$p/status "${MP[@]}" -d "{\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"lastTransitionTime\":\"$NOW\"}]}}" >/dev/null
done
eventually "two pods Ready: READY 2/5, UP-TO-DATE 5, AVAILABLE 2" 30 'web +2/5 +5 +2 ' kc get deploy web
out=$(req PATCH $APPS/deployments/web/status "${MP[@]}" -d '{"status":{"readyReplicas":4,"updatedReplicas":1,"availableReplicas":4},"spec":{"replicas":1}}')
expect_eq "PATCH deployments/web/status changes only the status" "5 4 1 4 200" \
  "$(jq_ '" ".join(str(x) for x in [d["spec"]["replicas"],d["status"]["readyReplicas"],d["status"]["updatedReplicas"],d["status"]["availableReplicas"]])' <<<"$out") ${out: -3}"
eventually "... a status the Deployment controller owns: it puts its counts back" 30 'web +2/5 +5 +2 ' kc get deploy web
expect_match "kubectl describe deployment" \
  $'Name: +web.*Selector: +app=web.*Replicas: +5 desired \\| 5 updated \\| 5 total \\| 2 available \\| 3 unavailable.*StrategyType: +RollingUpdate.*Available +False +MinimumReplicasUnavailable.*NewReplicaSet: +'"$RS"' \(5/5 replicas created\).*ScalingReplicaSet +.* +deployment-controller +Scaled up replica set '"$RS" \
  "$(kc describe deployment web 2>&1 | tr '\n' ' ')"

# ---- ReplicaSets and DaemonSets: kubectl apply -------------------------------------
cat >"$T/apps.yaml" <<'EOF'
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: front}
spec:
  replicas: 2
  selector: {matchLabels: {tier: front}}
  template:
    metadata: {labels: {tier: front}}
    spec:
      containers: [{name: nginx, image: "nginx:1.25"}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      nodeSelector: {disk: ssd}
      containers: [{name: a, image: busybox}]
EOF
check "kubectl apply a ReplicaSet and a DaemonSet" kc apply -f "$T/apps.yaml"
eventually "kubectl get rs: NAME DESIRED CURRENT READY AGE (front's 2 pods made; web's set with its 2 Ready)" 30 \
  $'NAME +DESIRED +CURRENT +READY +AGE\nfront +2 +2 +0 +[0-9]+s\n'"$RS"' +5 +5 +2 +[0-9]+s' kc get rs
expect_match "kubectl get rs -o wide" 'front +2 +2 +0 +[0-9]+s +nginx +nginx:1.25 +tier=front' "$(kc get rs -o wide 2>&1)"
expect_match "kubectl get ds: DESIRED CURRENT READY UP-TO-DATE AVAILABLE NODE SELECTOR AGE (no node has disk=ssd)" \
  $'NAME +DESIRED +CURRENT +READY +UP-TO-DATE +AVAILABLE +NODE SELECTOR +AGE\nagent +0 +0 +0 +0 +0 +disk=ssd +[0-9]+s' "$(kc get ds 2>&1)"
expect_match "kubectl get ds -o wide" 'agent .* +a +busybox +app=agent' "$(kc get ds -o wide 2>&1)"
out=$(req GET $APPS/daemonsets/agent)
expect_eq "DaemonSet defaults: RollingUpdate maxUnavailable 1 maxSurge 0, revisionHistoryLimit 10" "RollingUpdate 1 0 10" \
  "$(jq_ 'd["spec"]["updateStrategy"]["type"],d["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"],d["spec"]["updateStrategy"]["rollingUpdate"]["maxSurge"],d["spec"]["revisionHistoryLimit"]' <<<"$out" | tr -d "(),'")"
check "kubectl scale rs/front --replicas=4" kc scale rs/front --replicas=4
expect_eq "... spec.replicas 4" 4 "$(req GET $APPS/replicasets/front | jq_ 'd["spec"]["replicas"]')"
eventually "fieldSelector status.replicas=4 on replicasets: front, once its 4 pods exist" 30 '"name":"front"' req GET "$APPS/replicasets?fieldSelector=status.replicas%3D4"
expect_eq "... not web's set (5 replicas)" 0 "$(req GET "$APPS/replicasets?fieldSelector=status.replicas%3D4" | grep -c "\"name\":\"$RS\"")"
expect_match "kubectl describe rs" 'Name: +front.*Replicas: +4 current / 4 desired.*Pods Status: +0 Running / 4 Waiting / 0 Succeeded / 0 Failed' "$(kc describe rs front 2>&1 | tr '\n' ' ')"
expect_match "kubectl describe ds" 'Name: +agent.*Node-Selector: +disk=ssd' "$(kc describe ds agent 2>&1 | tr '\n' ' ')"

# ---- Jobs ---------------------------------------------------------------------------
check "kubectl create job j1 --image=busybox" kc create job j1 --image=busybox -- true
out=$(req GET $BATCH/jobs/j1)
uid=$(jq_ 'd["metadata"]["uid"]' <<<"$out")
expect_eq "Job defaults: completions parallelism backoffLimit completionMode suspend manualSelector" "1 1 6 NonIndexed False False" \
  "$(jq_ 'd["spec"]["completions"],d["spec"]["parallelism"],d["spec"]["backoffLimit"],d["spec"]["completionMode"],d["spec"]["suspend"],d["spec"]["manualSelector"]' <<<"$out" | tr -d "(),'")"
expect_eq "the generated selector: batch.kubernetes.io/controller-uid = the Job's uid" "{'batch.kubernetes.io/controller-uid': '$uid'}" \
  "$(jq_ 'd["spec"]["selector"]["matchLabels"]' <<<"$out")"
expect_eq "the generated template labels" "batch.kubernetes.io/controller-uid=$uid batch.kubernetes.io/job-name=j1 controller-uid=$uid job-name=j1" \
  "$(jq_ '" ".join(k+"="+v for k,v in sorted(d["spec"]["template"]["metadata"]["labels"].items()))' <<<"$out")"
expect_eq "... also the Job's own labels" "job-name=j1" "$(jq_ '"job-name="+d["metadata"]["labels"]["job-name"]' <<<"$out")"
job_pods() { req GET "$P?labelSelector=job-name%3D$1" | jq_ '" ".join(sorted(i["metadata"]["name"] for i in d["items"]))'; }
has_job_pods() { [ "$(job_pods "$1" | wc -w)" -eq "$2" ]; }
wait_for 30 has_job_pods j1 1
eventually "kubectl get jobs: NAME STATUS COMPLETIONS DURATION AGE (its pod made, Pending)" 30 $'NAME +STATUS +COMPLETIONS +DURATION +AGE\nj1 +Running +0/1 +[0-9]+s' kc get jobs
expect_match "kubectl get jobs -o wide: CONTAINERS IMAGES SELECTOR" "j1 +Running +0/1 .* +j1 +busybox +batch.kubernetes.io/controller-uid=$uid" "$(kc get jobs -o wide 2>&1)"
job_active() { req GET $BATCH/jobs/$1 | jq_ 'd["status"].get("active"),"startTime" in d["status"]' | tr -d '(),'; }
eventually "the Job controller counts the pod: active 1, a startTime" 30 '^1 True$' job_active j1
# Its pod succeeds, as an agent would report: the Job completes.
req PATCH $P/$(job_pods j1)/status "${MP[@]}" -d '{"status":{"phase":"Succeeded"}}' >/dev/null
eventually "its pod succeeded: STATUS Complete, COMPLETIONS 1/1, a DURATION" 30 'j1 +Complete +1/1 +[0-9]+s' kc get jobs
expect_eq "... status: succeeded 1, no active, a completionTime, condition Complete" "1 None True True" \
  "$(req GET $BATCH/jobs/j1 | jq_ 'd["status"].get("succeeded"),d["status"].get("active"),"completionTime" in d["status"],any(c["type"]=="Complete" and c["status"]=="True" for c in d["status"]["conditions"])' | tr -d '(),')"
req POST $BATCH/jobs -d "{\"metadata\":{\"name\":\"par\"},\"spec\":{\"parallelism\":3,$(tpl '"a":"b"' Never)}}" >/dev/null
expect_eq "parallelism set, completions unset: completions stays unset" "None 3" "$(req GET $BATCH/jobs/par | jq_ 'd["spec"].get("completions"),d["spec"]["parallelism"]' | tr -d '(),')"
expect_match "... COMPLETIONS 0/1 of 3" 'par +Running +0/1 of 3' "$(kc get jobs 2>&1)"
out=$(req GET "$BATCH/jobs?fieldSelector=status.successful%3D1")
expect_match "fieldSelector status.successful=1 lists the finished Job" '"name":"j1"' "$out"
expect_eq "... not the other" 0 "$(grep -c '"name":"par"' <<<"$out")"
expect_match "fieldSelector status.successful=0 counts an absent count as 0" '"name":"par"' "$(req GET "$BATCH/jobs?fieldSelector=status.successful%3D0")"
expect_match "other field selectors on jobs: 400" 'field label not supported: spec.parallelism.* 400$' "$(req GET "$BATCH/jobs?fieldSelector=spec.parallelism%3D1")"
invalid "a Job's template is immutable" 'Job.batch \\"j1\\" is invalid: spec.template: Invalid value: .*field is immutable' \
  "$(req PATCH $BATCH/jobs/j1 "${MP[@]}" -d '{"spec":{"template":{"spec":{"containers":[{"name":"j1","image":"busybox:1.36"}]}}}}')"
invalid "... and its selector" 'Job.batch \\"j1\\" is invalid: spec.selector: Invalid value: .*field is immutable' \
  "$(req PATCH $BATCH/jobs/j1 -H 'Content-Type: application/json-patch+json' -d '[{"op":"replace","path":"/spec/selector","value":{"matchLabels":{"job-name":"j1"}}}]')"
wait_for 30 has_job_pods par 3
started() { req GET $BATCH/jobs/$1 | jq_ '"startTime" in d["status"]' | grep -q True; }
wait_for 30 started par
expect_match "suspend may change" '"suspend":true.* 200$' "$(req PATCH $BATCH/jobs/par "${MP[@]}" -d '{"spec":{"suspend":true}}')"
par_state() { echo "$(job_pods par | wc -w) $(req GET $BATCH/jobs/par | jq_ '"startTime" in d["status"],any(c["type"]=="Suspended" and c["status"]=="True" for c in d["status"].get("conditions",[]))' | tr -d '(),')"; }
eventually "... the Job controller deletes its pods, keeps its startTime, says Suspended" 30 '^0 True True$' par_state
invalid "... but a Job that started keeps its template even when suspended" 'Job.batch \\"par\\" is invalid: spec.template: Invalid value: .*field is immutable' \
  "$(req PATCH $BATCH/jobs/par "${MP[@]}" -d '{"spec":{"template":{"spec":{"nodeSelector":{"disk":"ssd"}}}}}')"
req POST $BATCH/jobs -d "{\"metadata\":{\"name\":\"later\"},\"spec\":{\"suspend\":true,$(tpl '"a":"b"' Never)}}" >/dev/null
suspended() { req GET $BATCH/jobs/$1 | jq_ 'any(c["type"]=="Suspended" and c["status"]=="True" for c in d["status"].get("conditions",[]))' | grep -q True; }
wait_for 30 suspended later
expect_eq "a Job created suspended: Suspended, no pod, no startTime" "0 False" "$(job_pods later | wc -w) $(req GET $BATCH/jobs/later | jq_ '"startTime" in d["status"]')"
expect_match "... so its template's node selector may change (suspended, never started)" '"nodeSelector":\{"disk":"ssd"\}.* 200$' \
  "$(req PATCH $BATCH/jobs/later "${MP[@]}" -d '{"spec":{"template":{"spec":{"nodeSelector":{"disk":"ssd"}}}}}')"
out=$(req POST $BATCH/jobs -d "{\"metadata\":{\"name\":\"manual\"},\"spec\":{\"manualSelector\":true,\"selector\":{\"matchLabels\":{\"mine\":\"yes\"}},$(tpl '"mine":"yes"' OnFailure)}}")
expect_match "manualSelector: the selector and labels are the user's" '"selector":\{"matchLabels":\{"mine":"yes"\}\}.* 201$' "$out"
expect_eq "... nothing generated" "{'mine': 'yes'}" "$(jq_ 'd["spec"]["template"]["metadata"]["labels"]' <<<"$out")"
expect_match "kubectl describe job" 'Name: +j1.*Parallelism: +1.*Completions: +1.*Pods Statuses: +0 Active .* / 1 Succeeded / 0 Failed' "$(kc describe job j1 2>&1 | tr '\n' ' ')"

# ---- CronJobs ------------------------------------------------------------------------
# c1 runs on New Year only: no run of it comes during the test.
check "kubectl create cronjob" kc create cronjob c1 --image=busybox --schedule='0 0 1 1 *' -- true
out=$(req GET $BATCH/cronjobs/c1)
expect_eq "CronJob defaults: concurrencyPolicy suspend successfulJobsHistoryLimit failedJobsHistoryLimit" "Allow False 3 1" \
  "$(jq_ 'd["spec"]["concurrencyPolicy"],d["spec"]["suspend"],d["spec"]["successfulJobsHistoryLimit"],d["spec"]["failedJobsHistoryLimit"]' <<<"$out" | tr -d "(),'")"
expect_eq "... the jobTemplate gets the pod defaults, not the Job's" "None ClusterFirst" \
  "$(jq_ 'd["spec"]["jobTemplate"]["spec"].get("backoffLimit"),d["spec"]["jobTemplate"]["spec"]["template"]["spec"]["dnsPolicy"]' <<<"$out" | tr -d "(),'")"
req POST $BATCH/cronjobs -d "{\"metadata\":{\"name\":\"berlin\"},\"spec\":{\"schedule\":\"0-30/15 9-17 * jan-jun mon-fri\",\"timeZone\":\"Europe/Berlin\",\"jobTemplate\":{\"spec\":{$(tpl '"a":"b"' Never)}}}}" >/dev/null
# nightly last ran two days ago (as its status says): resumed, the CronJob controller runs
# the latest missed time at once (its Jobs are created suspended: no pod), then it is
# suspended again with that Job active.
req POST $BATCH/cronjobs -d "{\"metadata\":{\"name\":\"nightly\"},\"spec\":{\"schedule\":\"@daily\",\"suspend\":true,\"jobTemplate\":{\"spec\":{\"suspend\":true,$(tpl '"a":"b"' Never)}}}}" >/dev/null
req PATCH $BATCH/cronjobs/nightly/status "${MP[@]}" -d "{\"status\":{\"lastScheduleTime\":\"$(date -u -d '2 days ago' +%Y-%m-%dT%H:%M:%SZ)\"}}" >/dev/null
req PATCH $BATCH/cronjobs/nightly "${MP[@]}" -d '{"spec":{"suspend":false}}' >/dev/null
nightly_job() { req GET $BATCH/jobs | jq_ '" ".join(i["metadata"]["name"] for i in d["items"] if i["metadata"]["name"].startswith("nightly-"))'; }
has_nightly_job() { [[ "$(nightly_job)" =~ ^nightly-[0-9]+$ ]]; }
if wait_for 30 has_nightly_job; then ok "resumed after a missed run: the CronJob controller starts Job nightly-<minutes>"; else not_ok "resumed after a missed run: the CronJob controller starts Job nightly-<minutes>" "jobs: $(nightly_job)"; fi
cj_status() { req GET $BATCH/cronjobs/$1 | jq_ '" ".join([d["status"].get("lastScheduleTime","-")]+[a["name"] for a in d["status"].get("active",[])])'; }
TODAY=$(date -u +%Y-%m-%dT00:00:00Z)
eventually "... the latest missed time, today 00:00 UTC: lastScheduleTime, the Job in status.active" 30 "^$TODAY $(nightly_job)\$" cj_status nightly
expect_eq "... the Job's scheduled-timestamp annotation" "$TODAY" \
  "$(req GET $BATCH/jobs/$(nightly_job) | jq_ 'd["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"]')"
req PATCH $BATCH/cronjobs/nightly "${MP[@]}" -d '{"spec":{"suspend":true}}' >/dev/null
out=$(kc get cronjobs 2>&1)
expect_match "kubectl get cronjobs: NAME SCHEDULE TIMEZONE SUSPEND ACTIVE LAST SCHEDULE AGE" \
  $'NAME +SCHEDULE +TIMEZONE +SUSPEND +ACTIVE +LAST SCHEDULE +AGE\nberlin +0-30/15 9-17 \\* jan-jun mon-fri +Europe/Berlin +False +0 +<none> +[0-9]+s\nc1 +0 0 1 1 \\* +<none> +False +0 +<none>' "$out"
expect_match "... a suspended one with an active Job and a last schedule" 'nightly +@daily +<none> +True +1 +[0-9]+[smhd]' "$out"
expect_match "kubectl get cj -o wide" 'c1 .* +c1 +busybox +<none>' "$(kc get cj -o wide 2>&1)"
expect_match "kubectl describe cronjob" 'Name: +c1.*Schedule: +0 0 1 1 \*.*Concurrency Policy: +Allow' "$(kc describe cronjob c1 2>&1 | tr '\n' ' ')"

# ---- PriorityClasses and PodDisruptionBudgets -----------------------------------------------
check "kubectl create priorityclass" kc create priorityclass high --value=1000 --description='for tests'
expect_match "kubectl get pc high" 'high +1000 +false +[0-9]+s +PreemptLowerPriority' "$(kc get pc high 2>&1)"
expect_match "kubectl describe pc" 'Name: +high.*Value: +1000.*PreemptionPolicy: +PreemptLowerPriority.*Description: +for tests' "$(kc describe pc high 2>&1 | tr '\n' ' ')"
out=$(kc create poddisruptionbudget web-pdb --selector=app=web --min-available=1 -o json 2>&1)
expect_eq "kubectl create poddisruptionbudget: a new PDB's status, the counters at 0" '{"currentHealthy": 0, "desiredHealthy": 0, "disruptionsAllowed": 0, "expectedPods": 0}' \
  "$(jqk 'json.dumps(d["status"],sort_keys=True)' <<<"$out")"
check "kubectl create pdb with a percentage" kc create pdb pct --selector=app=other --max-unavailable=25%
eventually "kubectl get pdb: NAME MIN AVAILABLE MAX UNAVAILABLE ALLOWED DISRUPTIONS AGE (web-pdb: 2 of web's pods Ready, 1 needed)" 30 \
  $'NAME +MIN AVAILABLE +MAX UNAVAILABLE +ALLOWED DISRUPTIONS +AGE\npct +N/A +25% +0 +[0-9]+s\nweb-pdb +1 +N/A +1 +[0-9]+s' kc get pdb
pdbst() { req GET $PDB/$1 | jq_ '" ".join(str(x) for x in [d["status"].get("expectedPods"),d["status"].get("currentHealthy"),d["status"].get("desiredHealthy"),d["status"].get("disruptionsAllowed"),d["status"].get("observedGeneration")]+[c["status"]+" "+c["reason"] for c in d["status"].get("conditions",[]) if c["type"]=="DisruptionAllowed"]+[" ".join(sorted(d["status"].get("disruptedPods",{})))or"-"])'; }
expect_eq "web-pdb's status from the disruption controller: expected healthy desired allowed observedGeneration, condition" \
  "5 2 1 1 1 True SufficientPods -" "$(pdbst web-pdb)"
eventually "pct matches no pod: nothing expected, nothing allowed (Kubernetes' safe start)" 30 '^0 0 0 0 1 False InsufficientPods -$' pdbst pct
expect_match "kubectl describe pdb" 'Name: +web-pdb.*Min available: +1.*Selector: +app=web.*Allowed disruptions: +1.*Current: +2.*Desired: +1.*Total: +5' "$(kc describe pdb web-pdb 2>&1 | tr '\n' ' ')"
expect_match "metadata.generation counts spec changes (PDB)" '"generation":2.* 200$' "$(req PATCH $PDB/pct "${MP[@]}" -d '{"spec":{"maxUnavailable":"50%"}}')"

# ---- kubectl get all, the berth CLI ------------------------------------------------------
req POST $P -d '{"metadata":{"name":"lonely"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}' >/dev/null
out=$(kc get all 2>&1 | tr '\n' ' ')
for w in pod/lonely deployment.apps/web replicaset.apps/front daemonset.apps/agent job.batch/j1 cronjob.batch/c1; do
  expect_match "kubectl get all lists $w" "(^| )$w " "$out"
done
expect_eq "... but not PDBs or PriorityClasses" 0 "$(grep -c 'pdb\|priorityclass' <<<"$out")"
for t in deployments deploy rs ds jobs cronjobs cj pc pdb; do
  expect_match "berth get $t" '^NAME ' "$(b get $t 2>&1)"
done
expect_match "berth get deploy -o wide" 'web +2/5 +5 +2 +[0-9]+s +busybox +busybox +app=web' "$(b get deploy -o wide 2>&1)"
expect_match "berth get all" 'deployment.apps/web .*job.batch/j1 .*cronjob.batch/c1 ' "$(b get all 2>&1 | tr '\n' ' ')"
expect_match "berth describe deploy web" 'Name: +web.*Kind: +Deployment.*Replicas: +5' "$(b describe deploy web 2>&1 | tr '\n' ' ')"
expect_match "berth describe pdb web-pdb" 'Name: +web-pdb.*Min Available: +1' "$(b describe pdb web-pdb 2>&1 | tr '\n' ' ')"

# ---- validation: 422 naming the field, nothing stored --------------------------------------
D=$APPS/deployments
invalid "deployment without selector" 'Deployment.apps \\"bad\\" is invalid: \[spec.selector: Required value, spec.template.metadata.labels: Invalid value: map\[string\]string\{\\"app\\":\\"x\\"\}: `selector` does not match template `labels`\]' \
  "$(req POST $D -d "{\"metadata\":{\"name\":\"bad\"},\"spec\":{$(tpl '"app":"x"' Always)}}")"
invalid "selector that does not match the template" 'spec.template.metadata.labels: Invalid value: map\[string\]string\{\\"app\\":\\"x\\"\}: `selector` does not match template `labels`' \
  "$(req POST $D -d "{\"metadata\":{\"name\":\"bad\"},\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"y\"}},$(tpl '"app":"x"' Always)}}")"
invalid "replicas -1" 'spec.replicas: Invalid value: -1: must be greater than or equal to 0' \
  "$(req POST $D -d "{\"metadata\":{\"name\":\"bad\"},\"spec\":{\"replicas\":-1,\"selector\":{\"matchLabels\":{\"app\":\"x\"}},$(tpl '"app":"x"' Always)}}")"
invalid "maxSurge and maxUnavailable both 0" 'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: \\"0%\\": may not be 0 when `maxSurge` is 0' \
  "$(req POST $D -d "{\"metadata\":{\"name\":\"bad\"},\"spec\":{\"strategy\":{\"rollingUpdate\":{\"maxSurge\":0,\"maxUnavailable\":\"0%\"}},\"selector\":{\"matchLabels\":{\"app\":\"x\"}},$(tpl '"app":"x"' Always)}}")"
invalid "maxSurge not an int or percent" "spec.strategy.rollingUpdate.maxSurge: Invalid value: \\\\\"abc\\\\\": a valid percent string must be a numeric string followed by an ending '%'" \
  "$(req POST $D -d "{\"metadata\":{\"name\":\"bad\"},\"spec\":{\"strategy\":{\"rollingUpdate\":{\"maxSurge\":\"abc\"}},\"selector\":{\"matchLabels\":{\"app\":\"x\"}},$(tpl '"app":"x"' Always)}}")"
invalid "maxUnavailable over 100%" 'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: \\"150%\\": must not be greater than 100%' \
  "$(req POST $D -d "{\"metadata\":{\"name\":\"bad\"},\"spec\":{\"strategy\":{\"rollingUpdate\":{\"maxUnavailable\":\"150%\"}},\"selector\":{\"matchLabels\":{\"app\":\"x\"}},$(tpl '"app":"x"' Always)}}")"
invalid "Recreate with rollingUpdate" "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy \`type\` is 'Recreate'" \
  "$(req POST $D -d "{\"metadata\":{\"name\":\"bad\"},\"spec\":{\"strategy\":{\"type\":\"Recreate\",\"rollingUpdate\":{}},\"selector\":{\"matchLabels\":{\"app\":\"x\"}},$(tpl '"app":"x"' Always)}}")"
invalid "unknown strategy type" 'spec.strategy.type: Unsupported value: \\"BlueGreen\\": supported values: \\"Recreate\\", \\"RollingUpdate\\"' \
  "$(req POST $D -d "{\"metadata\":{\"name\":\"bad\"},\"spec\":{\"strategy\":{\"type\":\"BlueGreen\"},\"selector\":{\"matchLabels\":{\"app\":\"x\"}},$(tpl '"app":"x"' Always)}}")"
invalid "template restartPolicy Never" 'spec.template.spec.restartPolicy: Unsupported value: \\"Never\\": supported values: \\"Always\\"' \
  "$(req POST $D -d "{\"metadata\":{\"name\":\"bad\"},\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"x\"}},$(tpl '"app":"x"' Never)}}")"
invalid "the template is checked as a pod (image required, bad quantity)" 'spec.template.spec.containers\[0\].image: Required value, spec.template.spec.containers\[0\].resources.limits\[cpu\]: Invalid value: \\"lots\\"' \
  "$(req POST $D -d '{"metadata":{"name":"bad"},"spec":{"selector":{"matchLabels":{"app":"x"}},"template":{"metadata":{"labels":{"app":"x"}},"spec":{"containers":[{"name":"c","resources":{"limits":{"cpu":"lots"}}}]}}}}')"
invalid "progressDeadlineSeconds not above minReadySeconds" 'spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds' \
  "$(req POST $D -d "{\"metadata\":{\"name\":\"bad\"},\"spec\":{\"minReadySeconds\":600,\"selector\":{\"matchLabels\":{\"app\":\"x\"}},$(tpl '"app":"x"' Always)}}")"
invalid "empty selector" 'spec.selector: Invalid value: \{\}: empty selector is invalid for deployment' \
  "$(req POST $D -d "{\"metadata\":{\"name\":\"bad\"},\"spec\":{\"selector\":{},$(tpl '"app":"x"' Always)}}")"
invalid "a deployment's selector is immutable" 'Deployment.apps \\"web\\" is invalid: spec.selector: Invalid value: .*field is immutable' \
  "$(req PATCH $D/web "${MP[@]}" -d '{"spec":{"selector":{"matchLabels":{"app":"web","x":"y"}},"template":{"metadata":{"labels":{"x":"y"}}}}}')"
invalid "replicaset selector mismatch" 'ReplicaSet.apps \\"bad\\" is invalid: spec.template.metadata.labels: Invalid value: .*`selector` does not match template `labels`' \
  "$(req POST $APPS/replicasets -d "{\"metadata\":{\"name\":\"bad\"},\"spec\":{\"selector\":{\"matchLabels\":{\"a\":\"b\"}},$(tpl '"a":"c"' Always)}}")"
invalid "daemonset with maxUnavailable and maxSurge 0" 'DaemonSet.apps \\"bad\\" is invalid: spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0' \
  "$(req POST $APPS/daemonsets -d "{\"metadata\":{\"name\":\"bad\"},\"spec\":{\"updateStrategy\":{\"rollingUpdate\":{\"maxUnavailable\":0,\"maxSurge\":0}},\"selector\":{\"matchLabels\":{\"a\":\"b\"}},$(tpl '"a":"b"' Always)}}")"
invalid "daemonset updateStrategy type" 'spec.updateStrategy.type: Unsupported value: \\"Sometimes\\": supported values: \\"RollingUpdate\\", \\"OnDelete\\"' \
  "$(req POST $APPS/daemonsets -d "{\"metadata\":{\"name\":\"bad\"},\"spec\":{\"updateStrategy\":{\"type\":\"Sometimes\"},\"selector\":{\"matchLabels\":{\"a\":\"b\"}},$(tpl '"a":"b"' OnFailure)}}")"
J=$BATCH/jobs
invalid "job with restartPolicy Always" 'Job.batch \\"bad\\" is invalid: spec.template.spec.restartPolicy: Unsupported value: \\"Always\\": supported values: \\"OnFailure\\", \\"Never\\"' \
  "$(req POST $J -d "{\"metadata\":{\"name\":\"bad\"},\"spec\":{$(tpl '"a":"b"' Always)}}")"
invalid "Indexed job without completions" 'spec.completions: Required value: when completion mode is Indexed' \
  "$(req POST $J -d "{\"metadata\":{\"name\":\"bad\"},\"spec\":{\"completionMode\":\"Indexed\",\"parallelism\":2,$(tpl '"a":"b"' Never)}}")"
invalid "job numbers and completionMode" '\[spec.activeDeadlineSeconds: Invalid value: 0: must be greater than 0, spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0, spec.ttlSecondsAfterFinished: Invalid value: -1: must be greater than or equal to 0, spec.completionMode: Unsupported value: \\"Sometimes\\": supported values: \\"NonIndexed\\", \\"Indexed\\"\]' \
  "$(req POST $J -d "{\"metadata\":{\"name\":\"bad\"},\"spec\":{\"activeDeadlineSeconds\":0,\"backoffLimit\":-1,\"ttlSecondsAfterFinished\":-1,\"completionMode\":\"Sometimes\",$(tpl '"a":"b"' Never)}}")"
invalid "a job's own selector without manualSelector" 'spec.selector: Invalid value: .*`selector` not auto-generated' \
  "$(req POST $J -d "{\"metadata\":{\"name\":\"bad\"},\"spec\":{\"selector\":{\"matchLabels\":{\"a\":\"b\"}},$(tpl '"a":"b"' Never)}}")"
CJ=$BATCH/cronjobs
invalid "cronjob without schedule" 'CronJob.batch \\"bad\\" is invalid: spec.schedule: Required value' \
  "$(req POST $CJ -d "{\"metadata\":{\"name\":\"bad\"},\"spec\":{\"jobTemplate\":{\"spec\":{$(tpl '"a":"b"' Never)}}}}")"
invalid "cronjob schedule with the wrong field count" 'spec.schedule: Invalid value: \\"every day\\": expected exactly 5 fields, found 2: \[every day\]' \
  "$(req POST $CJ -d "{\"metadata\":{\"name\":\"bad\"},\"spec\":{\"schedule\":\"every day\",\"jobTemplate\":{\"spec\":{$(tpl '"a":"b"' Never)}}}}")"
invalid "cronjob schedule out of range" 'spec.schedule: Invalid value: \\"0 25 \* \* \*\\": end of range \(25\) above maximum \(23\): 25' \
  "$(req POST $CJ -d "{\"metadata\":{\"name\":\"bad\"},\"spec\":{\"schedule\":\"0 25 * * *\",\"jobTemplate\":{\"spec\":{$(tpl '"a":"b"' Never)}}}}")"
invalid "cronjob with an unknown time zone, policy, negative deadline" '\[spec.concurrencyPolicy: Unsupported value: \\"Sometimes\\": supported values: \\"Allow\\", \\"Forbid\\", \\"Replace\\", spec.startingDeadlineSeconds: Invalid value: -1: must be greater than or equal to 0, spec.timeZone: Invalid value: \\"Mars/Olympus\\": unknown time zone Mars/Olympus\]' \
  "$(req POST $CJ -d "{\"metadata\":{\"name\":\"bad\"},\"spec\":{\"schedule\":\"@hourly\",\"timeZone\":\"Mars/Olympus\",\"concurrencyPolicy\":\"Sometimes\",\"startingDeadlineSeconds\":-1,\"jobTemplate\":{\"spec\":{$(tpl '"a":"b"' Never)}}}}")"
invalid "cronjob jobTemplate validated like a Job's spec" 'spec.jobTemplate.spec.template.spec.restartPolicy: Unsupported value: \\"Always\\"' \
  "$(req POST $CJ -d "{\"metadata\":{\"name\":\"bad\"},\"spec\":{\"schedule\":\"@hourly\",\"jobTemplate\":{\"spec\":{$(tpl '"a":"b"' Always)}}}}")"
invalid "priorityclass without value" 'PriorityClass.scheduling.k8s.io \\"bad\\" is invalid: value: Required value' "$(req POST $PC -d '{"metadata":{"name":"bad"}}')"
invalid "priorityclass value above 1000000000, bad preemptionPolicy" '\[value: Forbidden: maximum allowed value of a user defined priority is 1000000000, preemptionPolicy: Unsupported value: \\"Sometimes\\"' \
  "$(req POST $PC -d '{"metadata":{"name":"bad"},"value":1000000001,"preemptionPolicy":"Sometimes"}')"
invalid "priorityclass names system-… are reserved" "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-bad is not a known system priority class" \
  "$(req POST $PC -d '{"metadata":{"name":"system-bad"},"value":1}')"
invalid "a priorityclass's value is immutable" 'value: Forbidden: may not be changed in an update.' "$(req PATCH $PC/high "${MP[@]}" -d '{"value":2000}')"
invalid "... and its preemptionPolicy" 'preemptionPolicy: Invalid value: \\"Never\\": field is immutable' "$(req PATCH $PC/high "${MP[@]}" -d '{"preemptionPolicy":"Never"}')"
expect_match "a built-in priorityclass cannot be deleted: 403" 'priorityclasses.scheduling.k8s.io \\"system-node-critical\\" is forbidden: this is a system priority class and cannot be deleted.* 403$' \
  "$(req DELETE $PC/system-node-critical)"
invalid "pdb with minAvailable and maxUnavailable" 'PodDisruptionBudget.policy \\"bad\\" is invalid: spec: Invalid value: minAvailable and maxUnavailable cannot be both set' \
  "$(req POST $PDB -d '{"metadata":{"name":"bad"},"spec":{"minAvailable":1,"maxUnavailable":1}}')"
invalid "pdb with neither" 'spec.minAvailable: Required value: one of minAvailable or maxUnavailable must be set' "$(req POST $PDB -d '{"metadata":{"name":"bad"},"spec":{}}')"
invalid "pdb minAvailable 200%" 'spec.minAvailable: Invalid value: \\"200%\\": must not be greater than 100%' "$(req POST $PDB -d '{"metadata":{"name":"bad"},"spec":{"minAvailable":"200%"}}')"
for u in $D $APPS/replicasets $APPS/daemonsets $J $CJ $PDB $PC; do
  expect_eq "nothing named bad was stored under $u" 0 "$(req GET $u | grep -c '"name":"bad"')"
done

# ---- fieldValidation Strict ---------------------------------------------------------------
out=$(req POST "$D?fieldValidation=Strict" -d "{\"metadata\":{\"name\":\"strict\"},\"spec\":{\"replicaz\":2,\"selector\":{\"matchLabels\":{\"a\":\"b\"}},\"template\":{\"metadata\":{\"labels\":{\"a\":\"b\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\",\"imagePullPolicyy\":\"x\"}]}}}}")
expect_match "Strict on a Deployment names each unknown field: 400" 'strict decoding error: unknown field \\"spec.replicaz\\", unknown field \\"spec.template.spec.containers\[0\].imagePullPolicyy\\".* 400$' "$out"
expect_match "Strict on a CronJob's jobTemplate" 'unknown field \\"spec.jobTemplate.spec.template.spec.bogus\\".* 400$' \
  "$(req POST "$CJ?fieldValidation=Strict" -d '{"metadata":{"name":"strict"},"spec":{"schedule":"@daily","jobTemplate":{"spec":{"template":{"spec":{"bogus":1,"restartPolicy":"Never","containers":[{"name":"c","image":"busybox"}]}}}}}}')"
expect_match "Strict on a PriorityClass" 'unknown field \\"valeu\\".* 400$' "$(req POST "$PC?fieldValidation=Strict" -d '{"metadata":{"name":"strict"},"value":1,"valeu":2}')"
printf 'apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: strict}\nspec: {minAvailable: 1, minAvailabel: 2}\n' >"$T/strict.yaml"
expect_fail "kubectl apply of a PDB with an unknown field fails (Strict)" 'unknown field "spec.minAvailabel"' kc apply -f "$T/strict.yaml"
expect_eq "... nothing stored" 0 "$(req GET $PDB | grep -c '"name":"strict"')"

# ---- priority admission -------------------------------------------------------------------------
pod() { req POST $P -d "{\"metadata\":{\"name\":\"$1\",\"labels\":{${3:-}}},\"spec\":{$2\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}"; }
out=$(pod prio '"priorityClassName":"high",')
expect_eq "priorityClassName high: spec.priority 1000, preemptionPolicy from the class" "1000 PreemptLowerPriority 201" \
  "$(jq_ 'd["spec"]["priority"],d["spec"]["preemptionPolicy"]' <<<"$out" | tr -d "(),'") ${out: -3}"
expect_match "an unknown class: 403" 'pods \\"nope\\" is forbidden: no PriorityClass with name foo was found.*"reason":"Forbidden".* 403$' "$(pod nope '"priorityClassName":"foo",')"
expect_match "a priority that disagrees with the class: 403" 'the integer value of priority \(5\) must not be provided in pod spec; priority admission controller computed 1000 from the given PriorityClass name.* 403$' \
  "$(pod nope '"priorityClassName":"high","priority":5,')"
expect_eq "no class and no default: priority 0" "0 None" "$(pod plain '' | jq_ 'd["spec"]["priority"],d["spec"].get("priorityClassName")' | tr -d '(),')"
check "kubectl create priorityclass --global-default" kc create priorityclass dflt --value=50 --global-default --preemption-policy=Never
expect_eq "no class, a globalDefault: its value, name and preemptionPolicy" "50 dflt Never" \
  "$(pod defaulted '' | jq_ 'd["spec"]["priority"],d["spec"]["priorityClassName"],d["spec"]["preemptionPolicy"]' | tr -d "(),'")"
expect_match "a second globalDefault: 403" 'priorityclasses.scheduling.k8s.io \\"dflt2\\" is forbidden: PriorityClass dflt is already marked as default. Only one default can exist.* 403$' \
  "$(req POST $PC -d '{"metadata":{"name":"dflt2"},"value":60,"globalDefault":true}')"
expect_match "... also by update" 'PriorityClass dflt is already marked as default.* 403$' "$(req PATCH $PC/high "${MP[@]}" -d '{"globalDefault":true}')"
body=$(req GET $P/prio | python3 -c 'import json,sys; d=json.loads(sys.stdin.read().rsplit(" ",1)[0]); del d["spec"]["priority"]; d["metadata"]["labels"]={"x":"y"}; print(json.dumps(d))')
out=$(req PUT $P/prio -d "$body")
expect_eq "a pod PUT without spec.priority keeps it" "1000 200" "$(jq_ 'd["spec"]["priority"]' <<<"$out") ${out: -3}"

# ---- eviction ---------------------------------------------------------------------------------------
EV() { echo "{\"apiVersion\":\"${2:-policy/v1}\",\"kind\":\"Eviction\",\"metadata\":{\"name\":\"$1\"}${3:-}}"; }
expect_match "evicting a pod without a PDB: 201 Success" '"kind":"Status".*"status":"Success".* 201$' "$(req POST $P/plain/eviction -d "$(EV plain)")"
expect_match "... it is gone" ' 404$' "$(req GET $P/plain)"
expect_match "a policy/v1beta1 Eviction is accepted" ' 201$' "$(req POST $P/lonely/eviction -d "$(EV lonely policy/v1beta1)")"
expect_match "an Eviction naming another pod: 400" 'name in URL does not match name in Eviction object.* 400$' "$(req POST $P/defaulted/eviction -d "$(EV other)")"
expect_match "evicting a missing pod: 404" 'pods \\"ghost\\" not found.* 404$' "$(req POST $P/ghost/eviction -d "$(EV ghost)")"
# running READY: the pod's status as an agent reports it.
running() { req PATCH $P/$1/status "${MP[@]}" -d "{\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"$2\"}]}}" >/dev/null; }
# Two pods without a controller, guarded by a budget that needs both.
for n in g1 g2; do
  pod $n '' '"app":"guarded"' >/dev/null
  running $n True
done
req POST $PDB -d '{"metadata":{"name":"guard"},"spec":{"minAvailable":2,"selector":{"matchLabels":{"app":"guarded"}}}}' >/dev/null
eventually "the disruption controller counts guard: 2 expected, 2 healthy, 2 desired, 0 allowed (generation 1)" 30 '^2 2 2 0 1 False InsufficientPods -$' pdbst guard
out=$(req POST $P/g1/eviction -d "$(EV g1)")
expect_match "an exhausted PDB: 429 TooManyRequests, cause DisruptionBudget" \
  '"message":"Cannot evict pod as it would violate the pod'"'"'s disruption budget.","reason":"TooManyRequests","code":429,"details":\{"causes":\[\{"reason":"DisruptionBudget","message":"The disruption budget guard needs 2 healthy pods and has 2 currently"\}\]\}\} 429$' "$out"
expect_match "... the pod stays" ' 200$' "$(req GET $P/g1)"
req PATCH $PDB/guard "${MP[@]}" -d '{"spec":{"minAvailable":1}}' >/dev/null
eventually "minAvailable 1: the controller observes generation 2, one disruption allowed" 30 '^2 2 1 1 2 True SufficientPods -$' pdbst guard
# What the eviction writes to the budget, seen on a watch: the controller rewrites it after.
rv=$(req GET $PDB/guard | jq_ 'd["metadata"]["resourceVersion"]')
"${C[@]}" -N "$URL$PDB?watch=1&resourceVersion=$rv" >"$T/pdb.watch" 2>/dev/null &
WATCH_PID=$!
sleep 0.5
expect_match "a PDB that allows one disruption: 201" ' 201$' "$(req POST $P/g1/eviction -d "$(EV g1 policy/v1 ',"deleteOptions":{"gracePeriodSeconds":0}')")"
expect_match "... the pod is gone" ' 404$' "$(req GET $P/g1)"
wait_for 10 grep -q disruptedPods "$T/pdb.watch"
kill $WATCH_PID 2>/dev/null; wait $WATCH_PID 2>/dev/null
expect_eq "... the eviction's write to the PDB: disruptionsAllowed 0, g1 in disruptedPods, DisruptionAllowed False" "0 g1 False InsufficientPods" \
  "$(python3 -c '
import json,sys
for l in open(sys.argv[1]):
    o=json.loads(l)["object"]
    if o["metadata"]["name"]=="guard" and o["status"].get("disruptedPods"):
        s=o["status"]; print(" ".join([str(s["disruptionsAllowed"])]+list(s["disruptedPods"])+[c["status"]+" "+c["reason"] for c in s["conditions"] if c["type"]=="DisruptionAllowed"])); break' "$T/pdb.watch")"
eventually "... then the controller counts again: 1 expected, 1 healthy, 1 desired, 0 allowed, g1 forgotten (gone)" 30 '^1 1 1 0 2 False InsufficientPods -$' pdbst guard
expect_match "the next eviction: 429 again" 'The disruption budget guard needs 1 healthy pods and has 1 currently.* 429$' "$(req POST $P/g2/eviction -d "$(EV g2)")"
running g2 False
eventually "g2 not Ready: no healthy pod" 30 '^1 0 1 0 2 False InsufficientPods -$' pdbst guard
expect_match "... an unready pod still may not go while the budget lacks healthy pods: 429" ' 429$' "$(req POST $P/g2/eviction -d "$(EV g2)")"
req PATCH $P/g2/status "${MP[@]}" -d '{"status":{"phase":"Succeeded"}}' >/dev/null
expect_match "a pod that is not running may always be evicted" ' 201$' "$(req POST $P/g2/eviction -d "$(EV g2)")"
# A budget its controller cannot compute is never observed: maxUnavailable counts the scale
# of the pods' controllers, and a Job has none (as in Kubernetes).
req POST $BATCH/jobs -d "{\"metadata\":{\"name\":\"batchy\"},\"spec\":{$(tpl '"app":"batchy"' Never)}}" >/dev/null
wait_for 30 has_job_pods batchy 1
running "$(job_pods batchy)" True
pod solo '' '"app":"batchy"' >/dev/null
running solo True
req POST $PDB -d '{"metadata":{"name":"stuck"},"spec":{"maxUnavailable":1,"selector":{"matchLabels":{"app":"batchy"}}}}' >/dev/null
stuck() { req GET $PDB/stuck | jq_ '" ".join(str(x) for x in [d["status"].get("disruptionsAllowed"),d["status"].get("observedGeneration")]+[c["status"]+" "+c["reason"]+": "+c.get("message","") for c in d["status"].get("conditions",[]) if c["type"]=="DisruptionAllowed"])'; }
eventually "a budget over a Job's pods with maxUnavailable: SyncFailed, observedGeneration never set" 30 '^0 None False SyncFailed: jobs.batch does not implement the scale subresource$' stuck
expect_match "... evicting a pod it covers: 429, the budget is still being processed" \
  '"reason":"TooManyRequests","code":429,"details":\{"causes":\[\{"reason":"DisruptionBudget","message":"The disruption budget stuck is still being processed by the server."\}\]\}\} 429$' \
  "$(req POST $P/solo/eviction -d "$(EV solo)")"
eventually "... a Warning event CalculateExpectedPodCountFailed on the budget" 30 \
  'Warning +CalculateExpectedPodCountFailed +poddisruptionbudget/stuck +Failed to calculate the number of expected pods: jobs.batch does not implement the scale subresource' kc get events
req PATCH $PDB/stuck "${MP[@]}" -d '{"spec":{"maxUnavailable":null,"minAvailable":1}}' >/dev/null
eventually "minAvailable as a number needs no scale: generation 2 observed, 2 expected, 1 allowed" 30 '^2 2 1 1 2 True SufficientPods -$' pdbst stuck
expect_match "... the eviction goes through" ' 201$' "$(req POST $P/solo/eviction -d "$(EV solo policy/v1 ',"deleteOptions":{"gracePeriodSeconds":0}')")"
expect_match "an eviction with a stale resourceVersion precondition: 409" 'Precondition failed.* 409$' \
  "$(req POST $P/defaulted/eviction -d "$(EV defaulted policy/v1 ',"deleteOptions":{"preconditions":{"resourceVersion":"1"}}')")"
expect_match "a dry run evicts nothing" ' 201$' "$(req POST $P/defaulted/eviction -d "$(EV defaulted policy/v1 ',"deleteOptions":{"dryRun":["All"]}')")"
expect_match "... the pod is still there" ' 200$' "$(req GET $P/defaulted)"

# kubectl drain: cordons the node, then evicts its pods through the API (protobuf Eviction).
# The node's Lease is fresh (as an agent keeps it): the node lifecycle controller leaves it Ready.
req POST /api/v1/nodes -d "{\"metadata\":{\"name\":\"n-drain\"},\"spec\":{\"taints\":[{\"key\":\"only\",\"value\":\"drain\",\"effect\":\"NoSchedule\"}]},\"status\":{\"capacity\":{\"cpu\":\"4\",\"memory\":\"8Gi\",\"pods\":\"110\"},\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"lastHeartbeatTime\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}]}}" >/dev/null
req POST /apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases -d "{\"metadata\":{\"name\":\"n-drain\"},\"spec\":{\"holderIdentity\":\"n-drain\",\"leaseDurationSeconds\":40,\"renewTime\":\"$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)\"}}" >/dev/null
pod on-node '"nodeName":"n-drain",' '"app":"drained"' >/dev/null
running on-node True
out=$(timeout 60 kubectl --kubeconfig "$DATA/admin.kubeconfig" --cache-dir "$T/kc-drain" drain n-drain --force --grace-period=0 --timeout=30s 2>&1)
expect_match "kubectl drain evicts the node's pod" 'node/n-drain cordoned.*evicting pod default/on-node.*pod/on-node evicted.*node/n-drain drained' "$(tr '\n' ' ' <<<"$out")"
expect_match "... gone" ' 404$' "$(req GET $P/on-node)"
out=$(req GET /api/v1/nodes/n-drain)
expect_match "... the node is unschedulable" '"unschedulable":true' "$out"
expect_eq "... and still Ready, untainted by the node lifecycle controller (its Lease is fresh)" "True only" \
  "$(jq_ '" ".join([c["status"] for c in d["status"]["conditions"] if c["type"]=="Ready"]+[t["key"] for t in d["spec"].get("taints",[]) if t["effect"]!="NoSchedule" or t["key"]=="only"])' <<<"$out")"

# ---- what a node's credential may do ---------------------------------------------------------------
reg=$(curl -s --cacert "$DATA/ca.crt" -H "Authorization: Bearer $(cat "$DATA/node-token")" \
  -X POST "$URL/berth/v1/register" -d '{"node":"n-auth","password":"pw","addresses":["127.0.0.1"]}')
NT=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["token"])' "$reg" 2>/dev/null)
NC=(curl -s --cacert "$DATA/ca.crt" -H "Authorization: Bearer $NT")
nreq() { local m=$1 p=$2; shift 2; "${NC[@]}" -X "$m" -w ' %{http_code}' "$@" "$URL$p"; }
expect_match "node: reading a deployment is 403" 'deployments.apps \\"web\\" is forbidden: User \\"system:node:n-auth\\" cannot get resource \\"deployments\\" in API group \\"apps\\" in the namespace \\"default\\".* 403$' \
  "$(nreq GET $D/web)"
expect_match "node: listing jobs is 403" ' 403$' "$(nreq GET $J)"
expect_match "node: listing priorityclasses is 403" ' 403$' "$(nreq GET $PC)"
expect_match "node: creating a PDB is 403" ' 403$' "$(nreq POST $PDB -d '{"metadata":{"name":"n"},"spec":{"minAvailable":1}}')"
expect_match "node: scaling a deployment is 403" ' 403$' "$(nreq PATCH $D/web/scale "${MP[@]}" -d '{"spec":{"replicas":0}}')"
expect_match "node: evicting a pod is 403" ' 403$' "$(nreq POST $P/defaulted/eviction -d "$(EV defaulted)")"
expect_eq "... nothing changed" "5 200" "$(req GET $D/web | jq_ 'd["spec"]["replicas"]') $(req GET $P/defaulted | tail -c 3)"

# ---- deletion ------------------------------------------------------------------------------------------
check "kubectl delete deploy/web rs/front ds/agent job/j1 cj/c1 pdb/web-pdb pc/high" \
  kc delete deploy/web rs/front ds/agent job/j1 cj/c1 pdb/web-pdb pc/high
for u in $D/web $APPS/replicasets/front $APPS/daemonsets/agent $J/j1 $CJ/c1 $PDB/web-pdb $PC/high; do
  expect_match "... $u is gone" ' 404$' "$(req GET $u)"
done
expect_match "NotFound names the group: deployments.apps" 'deployments.apps \\"web\\" not found.*"group":"apps".* 404$' "$(req GET $D/web)"

cluster_server_stop; rc=$?
expect_eq "server stops cleanly" 0 "$rc"
if grep -q 'ERROR: \(Address\|Leak\)Sanitizer\|runtime error' "$T/server.log"; then
  not_ok "server log has no sanitizer reports" "$(grep -m3 -A5 Sanitizer "$T/server.log")"
else
  ok "server log has no sanitizer reports"
fi
