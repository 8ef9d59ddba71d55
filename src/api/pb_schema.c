/* pb_schema.c — protobuf schemas of the kinds berth decodes, as tables.
 *
 * Field numbers and names are those of Kubernetes' generated.proto files
 * (k8s.io/api core/v1, k8s.io/apimachinery meta/v1 and runtime); JSON names
 * are the Go types' json tags. A field missing from a table is skipped by the
 * decoder, so a table may cover only what berth serves. To add a kind, write
 * its message tables (reusing object_meta and friends) and add a row to
 * api_pb_kinds[].
 *
 * Coverage: Namespace, ConfigMap, Secret, PriorityClass, PodDisruptionBudget
 * and Eviction completely; for Deployment, Job, CronJob and Service what
 * `kubectl create deployment|job|cronjob|service` can set plus the common
 * scalar fields of their specs. Not yet here (dropped if sent): pod
 * volumes, probes, lifecycle, security contexts, affinity, tolerations,
 * topology constraints, envFrom, status conditions, load balancer ingress.
 */
#include "api/internal.h"
#include "api/pb.h"

/* clang-format off */
#define F(num, name, type)    {num, name, type, 0, 0, NULL}
#define FK(num, name, type)   {num, name, type, PB_KEEP, 0, NULL}
#define FR(num, name, type)   {num, name, type, PB_REPEATED, 0, NULL}
#define FM(num, name, msg)    {num, name, PB_MESSAGE, 0, 0, &msg}
#define FRM(num, name, msg)   {num, name, PB_MESSAGE, PB_REPEATED, 0, &msg}
#define FMAP(num, name, vt)   {num, name, PB_MAP, 0, vt, NULL}
#define FIN(num, msg)         {num, "", PB_MESSAGE, PB_INLINE, 0, &msg}
#define MESSAGE(var, name, fields) \
  static const pb_message_t var = {name, fields, sizeof(fields) / sizeof((fields)[0])}

/* ---- meta/v1 ------------------------------------------------------------ */

static const pb_field_t owner_reference_fields[] = {
    F(5, "apiVersion", PB_STRING),
    F(1, "kind", PB_STRING),
    F(3, "name", PB_STRING),
    F(4, "uid", PB_STRING),
    FK(6, "controller", PB_BOOL),
    FK(7, "blockOwnerDeletion", PB_BOOL),
};
MESSAGE(owner_reference, "OwnerReference", owner_reference_fields);

static const pb_field_t object_meta_fields[] = {
    F(1, "name", PB_STRING),
    F(2, "generateName", PB_STRING),
    F(3, "namespace", PB_STRING),
    F(4, "selfLink", PB_STRING),
    F(5, "uid", PB_STRING),
    F(6, "resourceVersion", PB_STRING),
    F(7, "generation", PB_INT64),
    F(8, "creationTimestamp", PB_TIME),
    F(9, "deletionTimestamp", PB_TIME),
    FK(10, "deletionGracePeriodSeconds", PB_INT64),
    FMAP(11, "labels", PB_STRING),
    FMAP(12, "annotations", PB_STRING),
    FRM(13, "ownerReferences", owner_reference),
    FR(14, "finalizers", PB_STRING),
    /* 17 managedFields: server-maintained, skipped */
};
MESSAGE(object_meta, "ObjectMeta", object_meta_fields);

static const pb_field_t label_selector_requirement_fields[] = {
    F(1, "key", PB_STRING),
    F(2, "operator", PB_STRING),
    FR(3, "values", PB_STRING),
};
MESSAGE(label_selector_requirement, "LabelSelectorRequirement", label_selector_requirement_fields);

static const pb_field_t label_selector_fields[] = {
    FMAP(1, "matchLabels", PB_STRING),
    FRM(2, "matchExpressions", label_selector_requirement),
};
MESSAGE(label_selector, "LabelSelector", label_selector_fields);

/* ---- core/v1 Namespace -------------------------------------------------- */

static const pb_field_t namespace_spec_fields[] = {
    FR(1, "finalizers", PB_STRING),
};
MESSAGE(namespace_spec, "NamespaceSpec", namespace_spec_fields);

static const pb_field_t namespace_condition_fields[] = {
    F(1, "type", PB_STRING),
    F(2, "status", PB_STRING),
    F(4, "lastTransitionTime", PB_TIME),
    F(5, "reason", PB_STRING),
    F(6, "message", PB_STRING),
};
MESSAGE(namespace_condition, "NamespaceCondition", namespace_condition_fields);

static const pb_field_t namespace_status_fields[] = {
    F(1, "phase", PB_STRING),
    FRM(2, "conditions", namespace_condition),
};
MESSAGE(namespace_status, "NamespaceStatus", namespace_status_fields);

static const pb_field_t namespace_fields[] = {
    FM(1, "metadata", object_meta),
    FM(2, "spec", namespace_spec),
    FM(3, "status", namespace_status),
};
MESSAGE(namespace_msg, "Namespace", namespace_fields);

/* ---- core/v1 ConfigMap and Secret -------------------------------------- */

static const pb_field_t config_map_fields[] = {
    FM(1, "metadata", object_meta),
    FK(4, "immutable", PB_BOOL),
    FMAP(2, "data", PB_STRING),
    FMAP(3, "binaryData", PB_BYTES),
};
MESSAGE(config_map, "ConfigMap", config_map_fields);

static const pb_field_t secret_fields[] = {
    FM(1, "metadata", object_meta),
    FK(5, "immutable", PB_BOOL),
    FMAP(2, "data", PB_BYTES),
    FMAP(4, "stringData", PB_STRING),
    F(3, "type", PB_STRING),
};
MESSAGE(secret, "Secret", secret_fields);
/* ---- core/v1 pod templates -------------------------------------------- */

static const pb_field_t local_object_reference_fields[] = {
    F(1, "name", PB_STRING),
};
MESSAGE(local_object_reference, "LocalObjectReference", local_object_reference_fields);

static const pb_field_t object_field_selector_fields[] = {
    F(1, "apiVersion", PB_STRING),
    FK(2, "fieldPath", PB_STRING),
};
MESSAGE(object_field_selector, "ObjectFieldSelector", object_field_selector_fields);

static const pb_field_t resource_field_selector_fields[] = {
    F(1, "containerName", PB_STRING),
    FK(2, "resource", PB_STRING),
    F(3, "divisor", PB_QUANTITY),
};
MESSAGE(resource_field_selector, "ResourceFieldSelector", resource_field_selector_fields);

static const pb_field_t key_selector_fields[] = {
    FIN(1, local_object_reference),
    FK(2, "key", PB_STRING),
    FK(3, "optional", PB_BOOL),
};
MESSAGE(key_selector, "KeySelector", key_selector_fields);

static const pb_field_t env_var_source_fields[] = {
    FM(1, "fieldRef", object_field_selector),
    FM(2, "resourceFieldRef", resource_field_selector),
    FM(3, "configMapKeyRef", key_selector),
    FM(4, "secretKeyRef", key_selector),
};
MESSAGE(env_var_source, "EnvVarSource", env_var_source_fields);

static const pb_field_t env_var_fields[] = {
    FK(1, "name", PB_STRING),
    F(2, "value", PB_STRING),
    FM(3, "valueFrom", env_var_source),
};
MESSAGE(env_var, "EnvVar", env_var_fields);

static const pb_field_t container_port_fields[] = {
    F(1, "name", PB_STRING),
    F(2, "hostPort", PB_INT32),
    FK(3, "containerPort", PB_INT32),
    F(4, "protocol", PB_STRING),
    F(5, "hostIP", PB_STRING),
};
MESSAGE(container_port, "ContainerPort", container_port_fields);

static const pb_field_t resource_requirements_fields[] = {
    {1, "limits", PB_MAP, 0, PB_QUANTITY, NULL},
    {2, "requests", PB_MAP, 0, PB_QUANTITY, NULL},
};
MESSAGE(resource_requirements, "ResourceRequirements", resource_requirements_fields);

static const pb_field_t volume_mount_fields[] = {
    FK(1, "name", PB_STRING),
    F(2, "readOnly", PB_BOOL),
    FK(3, "mountPath", PB_STRING),
    F(4, "subPath", PB_STRING),
    F(5, "mountPropagation", PB_STRING),
    F(6, "subPathExpr", PB_STRING),
};
MESSAGE(volume_mount, "VolumeMount", volume_mount_fields);

static const pb_field_t container_fields[] = {
    FK(1, "name", PB_STRING),
    F(2, "image", PB_STRING),
    FR(3, "command", PB_STRING),
    FR(4, "args", PB_STRING),
    F(5, "workingDir", PB_STRING),
    FRM(6, "ports", container_port),
    FRM(7, "env", env_var),
    FM(8, "resources", resource_requirements),
    FRM(9, "volumeMounts", volume_mount),
    F(13, "terminationMessagePath", PB_STRING),
    F(20, "terminationMessagePolicy", PB_STRING),
    F(14, "imagePullPolicy", PB_STRING),
    F(16, "stdin", PB_BOOL),
    F(17, "stdinOnce", PB_BOOL),
    F(18, "tty", PB_BOOL),
};
MESSAGE(container, "Container", container_fields);

static const pb_field_t pod_spec_fields[] = {
    FRM(20, "initContainers", container),
    FRM(2, "containers", container),
    F(3, "restartPolicy", PB_STRING),
    FK(4, "terminationGracePeriodSeconds", PB_INT64),
    FK(5, "activeDeadlineSeconds", PB_INT64),
    F(6, "dnsPolicy", PB_STRING),
    FMAP(7, "nodeSelector", PB_STRING),
    F(8, "serviceAccountName", PB_STRING),
    F(9, "serviceAccount", PB_STRING),
    FK(21, "automountServiceAccountToken", PB_BOOL),
    F(10, "nodeName", PB_STRING),
    F(11, "hostNetwork", PB_BOOL),
    F(12, "hostPID", PB_BOOL),
    F(13, "hostIPC", PB_BOOL),
    FRM(15, "imagePullSecrets", local_object_reference),
    F(16, "hostname", PB_STRING),
    F(17, "subdomain", PB_STRING),
    F(19, "schedulerName", PB_STRING),
    F(24, "priorityClassName", PB_STRING),
    FK(25, "priority", PB_INT32),
    F(29, "runtimeClassName", PB_STRING),
    FK(30, "enableServiceLinks", PB_BOOL),
};
MESSAGE(pod_spec, "PodSpec", pod_spec_fields);

static const pb_field_t pod_template_spec_fields[] = {
    FM(1, "metadata", object_meta),
    FM(2, "spec", pod_spec),
};
MESSAGE(pod_template_spec, "PodTemplateSpec", pod_template_spec_fields);

/* ---- apps/v1 Deployment -------------------------------------------------- */

static const pb_field_t rolling_update_deployment_fields[] = {
    {1, "maxUnavailable", PB_INTORSTRING, PB_KEEP, 0, NULL},
    {2, "maxSurge", PB_INTORSTRING, PB_KEEP, 0, NULL},
};
MESSAGE(rolling_update_deployment, "RollingUpdateDeployment", rolling_update_deployment_fields);

static const pb_field_t deployment_strategy_fields[] = {
    F(1, "type", PB_STRING),
    FM(2, "rollingUpdate", rolling_update_deployment),
};
MESSAGE(deployment_strategy, "DeploymentStrategy", deployment_strategy_fields);

static const pb_field_t deployment_spec_fields[] = {
    FK(1, "replicas", PB_INT32),
    FM(2, "selector", label_selector),
    FM(3, "template", pod_template_spec),
    FM(4, "strategy", deployment_strategy),
    F(5, "minReadySeconds", PB_INT32),
    FK(6, "revisionHistoryLimit", PB_INT32),
    F(7, "paused", PB_BOOL),
    FK(9, "progressDeadlineSeconds", PB_INT32),
};
MESSAGE(deployment_spec, "DeploymentSpec", deployment_spec_fields);

static const pb_field_t deployment_status_fields[] = {
    F(1, "observedGeneration", PB_INT64),
    F(2, "replicas", PB_INT32),
    F(3, "updatedReplicas", PB_INT32),
    F(7, "readyReplicas", PB_INT32),
    F(4, "availableReplicas", PB_INT32),
    F(5, "unavailableReplicas", PB_INT32),
    FK(9, "terminatingReplicas", PB_INT32),
    FK(8, "collisionCount", PB_INT32),
};
MESSAGE(deployment_status, "DeploymentStatus", deployment_status_fields);

static const pb_field_t deployment_fields[] = {
    FM(1, "metadata", object_meta),
    FM(2, "spec", deployment_spec),
    FM(3, "status", deployment_status),
};
MESSAGE(deployment, "Deployment", deployment_fields);

/* ---- batch/v1 Job ---------------------------------------------------------- */

static const pb_field_t job_spec_fields[] = {
    FK(1, "parallelism", PB_INT32),
    FK(2, "completions", PB_INT32),
    FK(3, "activeDeadlineSeconds", PB_INT64),
    FK(7, "backoffLimit", PB_INT32),
    FK(12, "backoffLimitPerIndex", PB_INT32),
    FK(13, "maxFailedIndexes", PB_INT32),
    FM(4, "selector", label_selector),
    FK(5, "manualSelector", PB_BOOL),
    FM(6, "template", pod_template_spec),
    FK(8, "ttlSecondsAfterFinished", PB_INT32),
    F(9, "completionMode", PB_STRING),
    FK(10, "suspend", PB_BOOL),
    F(14, "podReplacementPolicy", PB_STRING),
    F(15, "managedBy", PB_STRING),
};
MESSAGE(job_spec, "JobSpec", job_spec_fields);

static const pb_field_t job_status_fields[] = {
    F(2, "startTime", PB_TIME),
    F(3, "completionTime", PB_TIME),
    F(4, "active", PB_INT32),
    F(5, "succeeded", PB_INT32),
    F(6, "failed", PB_INT32),
    FK(11, "terminating", PB_INT32),
    F(7, "completedIndexes", PB_STRING),
    F(10, "failedIndexes", PB_STRING),
    FK(9, "ready", PB_INT32),
};
MESSAGE(job_status, "JobStatus", job_status_fields);

static const pb_field_t job_fields[] = {
    FM(1, "metadata", object_meta),
    FM(2, "spec", job_spec),
    FM(3, "status", job_status),
};
MESSAGE(job, "Job", job_fields);

/* ---- batch/v1 CronJob ------------------------------------------------------ */

static const pb_field_t job_template_spec_fields[] = {
    FM(1, "metadata", object_meta),
    FM(2, "spec", job_spec),
};
MESSAGE(job_template_spec, "JobTemplateSpec", job_template_spec_fields);

static const pb_field_t cron_job_spec_fields[] = {
    F(1, "schedule", PB_STRING),
    FK(8, "timeZone", PB_STRING),
    FK(2, "startingDeadlineSeconds", PB_INT64),
    F(3, "concurrencyPolicy", PB_STRING),
    FK(4, "suspend", PB_BOOL),
    FM(5, "jobTemplate", job_template_spec),
    FK(6, "successfulJobsHistoryLimit", PB_INT32),
    FK(7, "failedJobsHistoryLimit", PB_INT32),
};
MESSAGE(cron_job_spec, "CronJobSpec", cron_job_spec_fields);

static const pb_field_t object_reference_fields[] = {
    F(1, "kind", PB_STRING),
    F(2, "namespace", PB_STRING),
    F(3, "name", PB_STRING),
    F(4, "uid", PB_STRING),
    F(5, "apiVersion", PB_STRING),
    F(6, "resourceVersion", PB_STRING),
    F(7, "fieldPath", PB_STRING),
};
MESSAGE(object_reference, "ObjectReference", object_reference_fields);

static const pb_field_t cron_job_status_fields[] = {
    FRM(1, "active", object_reference),
    F(4, "lastScheduleTime", PB_TIME),
    F(5, "lastSuccessfulTime", PB_TIME),
};
MESSAGE(cron_job_status, "CronJobStatus", cron_job_status_fields);

static const pb_field_t cron_job_fields[] = {
    FM(1, "metadata", object_meta),
    FM(2, "spec", cron_job_spec),
    FM(3, "status", cron_job_status),
};
MESSAGE(cron_job, "CronJob", cron_job_fields);

/* ---- scheduling.k8s.io/v1 PriorityClass -------------------------------------- */

static const pb_field_t priority_class_fields[] = {
    FM(1, "metadata", object_meta),
    FK(2, "value", PB_INT32),
    F(3, "globalDefault", PB_BOOL),
    F(4, "description", PB_STRING),
    FK(5, "preemptionPolicy", PB_STRING),
};
MESSAGE(priority_class, "PriorityClass", priority_class_fields);

/* ---- policy/v1 PodDisruptionBudget and Eviction ------------------------------ */

static const pb_field_t pdb_spec_fields[] = {
    FK(1, "minAvailable", PB_INTORSTRING),
    FM(2, "selector", label_selector),
    FK(3, "maxUnavailable", PB_INTORSTRING),
    FK(4, "unhealthyPodEvictionPolicy", PB_STRING),
};
MESSAGE(pdb_spec, "PodDisruptionBudgetSpec", pdb_spec_fields);

static const pb_field_t condition_fields[] = {
    F(1, "type", PB_STRING),
    F(2, "status", PB_STRING),
    F(3, "observedGeneration", PB_INT64),
    F(4, "lastTransitionTime", PB_TIME),
    F(5, "reason", PB_STRING),
    FK(6, "message", PB_STRING),
};
MESSAGE(condition, "Condition", condition_fields);

static const pb_field_t pdb_status_fields[] = {
    F(1, "observedGeneration", PB_INT64),
    FMAP(2, "disruptedPods", PB_TIME),
    FK(3, "disruptionsAllowed", PB_INT32),
    FK(4, "currentHealthy", PB_INT32),
    FK(5, "desiredHealthy", PB_INT32),
    FK(6, "expectedPods", PB_INT32),
    FRM(7, "conditions", condition),
};
MESSAGE(pdb_status, "PodDisruptionBudgetStatus", pdb_status_fields);

static const pb_field_t pdb_fields[] = {
    FM(1, "metadata", object_meta),
    FM(2, "spec", pdb_spec),
    FM(3, "status", pdb_status),
};
MESSAGE(pdb, "PodDisruptionBudget", pdb_fields);

static const pb_field_t preconditions_fields[] = {
    FK(1, "uid", PB_STRING),
    FK(2, "resourceVersion", PB_STRING),
};
MESSAGE(preconditions, "Preconditions", preconditions_fields);

static const pb_field_t delete_options_fields[] = {
    FK(1, "gracePeriodSeconds", PB_INT64),
    FM(2, "preconditions", preconditions),
    FK(3, "orphanDependents", PB_BOOL),
    FK(4, "propagationPolicy", PB_STRING),
    FR(5, "dryRun", PB_STRING),
    FK(6, "ignoreStoreReadErrorWithClusterBreakingPotential", PB_BOOL),
};
MESSAGE(delete_options, "DeleteOptions", delete_options_fields);

static const pb_field_t eviction_fields[] = {
    FM(1, "metadata", object_meta),
    FM(2, "deleteOptions", delete_options),
};
MESSAGE(eviction, "Eviction", eviction_fields);

/* ---- core/v1 Service ------------------------------------------------------- */

static const pb_field_t service_port_fields[] = {
    F(1, "name", PB_STRING),
    F(2, "protocol", PB_STRING),
    F(6, "appProtocol", PB_STRING),
    FK(3, "port", PB_INT32),
    F(4, "targetPort", PB_INTORSTRING),
    F(5, "nodePort", PB_INT32),
};
MESSAGE(service_port, "ServicePort", service_port_fields);

static const pb_field_t service_spec_fields[] = {
    FRM(1, "ports", service_port),
    FMAP(2, "selector", PB_STRING),
    F(3, "clusterIP", PB_STRING),
    FR(18, "clusterIPs", PB_STRING),
    F(4, "type", PB_STRING),
    FR(5, "externalIPs", PB_STRING),
    F(7, "sessionAffinity", PB_STRING),
    F(8, "loadBalancerIP", PB_STRING),
    FR(9, "loadBalancerSourceRanges", PB_STRING),
    F(10, "externalName", PB_STRING),
    F(11, "externalTrafficPolicy", PB_STRING),
    F(12, "healthCheckNodePort", PB_INT32),
    F(13, "publishNotReadyAddresses", PB_BOOL),
    FR(19, "ipFamilies", PB_STRING),
    F(17, "ipFamilyPolicy", PB_STRING),
    FK(20, "allocateLoadBalancerNodePorts", PB_BOOL),
    F(21, "loadBalancerClass", PB_STRING),
    F(22, "internalTrafficPolicy", PB_STRING),
    F(23, "trafficDistribution", PB_STRING),
};
MESSAGE(service_spec, "ServiceSpec", service_spec_fields);

/* LoadBalancerStatus: ingress (1) is not decoded yet; Go prints {} */
static const pb_field_t load_balancer_status_fields[] = {
    {0, "", PB_STRING, 0, 0, NULL}, /* field 0 never matches */
};
MESSAGE(load_balancer_status, "LoadBalancerStatus", load_balancer_status_fields);

static const pb_field_t service_status_fields[] = {
    FM(1, "loadBalancer", load_balancer_status),
};
MESSAGE(service_status, "ServiceStatus", service_status_fields);

static const pb_field_t service_fields[] = {
    FM(1, "metadata", object_meta),
    FM(2, "spec", service_spec),
    FM(3, "status", service_status),
};
MESSAGE(service, "Service", service_fields);
/* clang-format on */

const pb_kind_t api_pb_kinds[] = {
  { "apps/v1", "Deployment", &deployment },
  { "batch/v1", "Job", &job },
  { "batch/v1", "CronJob", &cron_job },
  { "scheduling.k8s.io/v1", "PriorityClass", &priority_class },
  { "policy/v1", "PodDisruptionBudget", &pdb },
  { "policy/v1", "Eviction", &eviction },
  { "policy/v1beta1", "Eviction", &eviction },
  { "v1", "Service", &service },
  { "v1", "Namespace", &namespace_msg },
  { "v1", "ConfigMap", &config_map },
  { "v1", "Secret", &secret },
};
const size_t api_pb_nkinds = ARRAY_SIZE(api_pb_kinds);
