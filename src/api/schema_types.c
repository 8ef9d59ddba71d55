/* schema_types.c — the known fields of meta/v1 and of every kind berth judges
 * under fieldValidation=Strict, except the Pod's own types (those are in
 * schema_types_pod.c and shared by every kind with a pod template).
 *
 * Field names are the json tags of Kubernetes v1.33's Go types (k8s.io/api,
 * k8s.io/apimachinery meta/v1), complete: a field missing here would make a
 * valid manifest fail in Strict mode. Embedded structs (TypeMeta, the inlined
 * VolumeSource…) are flattened into their parent. Types come before their
 * users; see schema.h for the shapes. To add a kind, write its types and add
 * a row to schema_kinds[].
 */
#include "api/schema.h"

/* ---- meta/v1: ObjectMeta, label selectors, conditions. */

TYPE(owner_reference, SCALAR("apiVersion"), SCALAR("kind"), SCALAR("name"), SCALAR("uid"),
     SCALAR("controller"), SCALAR("blockOwnerDeletion"));
TYPE(managed_fields_entry, SCALAR("manager"), SCALAR("operation"), SCALAR("apiVersion"),
     SCALAR("time"), SCALAR("fieldsType"), ANY("fieldsV1"), SCALAR("subresource"));
EXPORTED_TYPE(schema_object_meta, SCALAR("name"), SCALAR("generateName"), SCALAR("namespace"),
              SCALAR("selfLink"), SCALAR("uid"), SCALAR("resourceVersion"), SCALAR("generation"),
              SCALAR("creationTimestamp"), SCALAR("deletionTimestamp"),
              SCALAR("deletionGracePeriodSeconds"), MAP("labels"), MAP("annotations"),
              ARRAY("ownerReferences", owner_reference), SCALAR("finalizers"),
              ARRAY("managedFields", managed_fields_entry));
TYPE(label_selector_requirement, SCALAR("key"), SCALAR("operator"), SCALAR("values"));
EXPORTED_TYPE(schema_label_selector, MAP("matchLabels"),
              ARRAY("matchExpressions", label_selector_requirement));
TYPE(condition, SCALAR("type"), SCALAR("status"), SCALAR("observedGeneration"),
     SCALAR("lastTransitionTime"), SCALAR("reason"), SCALAR("message"));

/* ---- core/v1 Namespace, ConfigMap, Secret. */

TYPE(namespace_spec, SCALAR("finalizers"));
TYPE(namespace_condition, SCALAR("type"), SCALAR("status"), SCALAR("lastTransitionTime"),
     SCALAR("reason"), SCALAR("message"));
TYPE(namespace_status, SCALAR("phase"), ARRAY("conditions", namespace_condition));
TYPE(namespace, SCALAR("kind"), SCALAR("apiVersion"), OBJECT("metadata", schema_object_meta),
     OBJECT("spec", namespace_spec), OBJECT("status", namespace_status));
TYPE(config_map, SCALAR("kind"), SCALAR("apiVersion"), OBJECT("metadata", schema_object_meta),
     SCALAR("immutable"), MAP("data"), MAP("binaryData"));
TYPE(secret, SCALAR("kind"), SCALAR("apiVersion"), OBJECT("metadata", schema_object_meta),
     SCALAR("immutable"), MAP("data"), MAP("stringData"), SCALAR("type"));

/* ---- core/v1 Event and Binding. */

TYPE(object_reference, SCALAR("kind"), SCALAR("namespace"), SCALAR("name"), SCALAR("uid"),
     SCALAR("apiVersion"), SCALAR("resourceVersion"), SCALAR("fieldPath"));
TYPE(event_source, SCALAR("component"), SCALAR("host"));
TYPE(event_series, SCALAR("count"), SCALAR("lastObservedTime"));
TYPE(event, SCALAR("kind"), SCALAR("apiVersion"), OBJECT("metadata", schema_object_meta),
     OBJECT("involvedObject", object_reference), SCALAR("reason"), SCALAR("message"),
     OBJECT("source", event_source), SCALAR("firstTimestamp"), SCALAR("lastTimestamp"),
     SCALAR("count"), SCALAR("type"), SCALAR("eventTime"), OBJECT("series", event_series),
     SCALAR("action"), OBJECT("related", object_reference), SCALAR("reportingComponent"),
     SCALAR("reportingInstance"));
TYPE(binding, SCALAR("kind"), SCALAR("apiVersion"), OBJECT("metadata", schema_object_meta),
     OBJECT("target", object_reference));

/* ---- core/v1 Node. */

TYPE(taint, SCALAR("key"), SCALAR("value"), SCALAR("effect"), SCALAR("timeAdded"));
TYPE(config_map_node_config_source, SCALAR("namespace"), SCALAR("name"), SCALAR("uid"),
     SCALAR("resourceVersion"), SCALAR("kubeletConfigKey"));
TYPE(node_config_source, OBJECT("configMap", config_map_node_config_source));
TYPE(node_spec, SCALAR("podCIDR"), SCALAR("podCIDRs"), SCALAR("providerID"),
     SCALAR("unschedulable"), ARRAY("taints", taint), OBJECT("configSource", node_config_source),
     SCALAR("externalID"));
TYPE(node_condition, SCALAR("type"), SCALAR("status"), SCALAR("lastHeartbeatTime"),
     SCALAR("lastTransitionTime"), SCALAR("reason"), SCALAR("message"));
TYPE(node_address, SCALAR("type"), SCALAR("address"));
TYPE(daemon_endpoint, SCALAR("Port"));
TYPE(node_daemon_endpoints, OBJECT("kubeletEndpoint", daemon_endpoint));
TYPE(node_swap_status, SCALAR("capacity"));
TYPE(node_system_info, SCALAR("machineID"), SCALAR("systemUUID"), SCALAR("bootID"),
     SCALAR("kernelVersion"), SCALAR("osImage"), SCALAR("containerRuntimeVersion"),
     SCALAR("kubeletVersion"), SCALAR("kubeProxyVersion"), SCALAR("operatingSystem"),
     SCALAR("architecture"), OBJECT("swap", node_swap_status));
TYPE(container_image, SCALAR("names"), SCALAR("sizeBytes"));
TYPE(attached_volume, SCALAR("name"), SCALAR("devicePath"));
TYPE(node_config_status, OBJECT("assigned", node_config_source),
     OBJECT("active", node_config_source), OBJECT("lastKnownGood", node_config_source),
     SCALAR("error"));
TYPE(node_runtime_handler_features, SCALAR("recursiveReadOnlyMounts"), SCALAR("userNamespaces"));
TYPE(node_runtime_handler, SCALAR("name"), OBJECT("features", node_runtime_handler_features));
TYPE(node_features, SCALAR("supplementalGroupsPolicy"));
TYPE(node_status, MAP("capacity"), MAP("allocatable"), SCALAR("phase"),
     ARRAY("conditions", node_condition), ARRAY("addresses", node_address),
     OBJECT("daemonEndpoints", node_daemon_endpoints), OBJECT("nodeInfo", node_system_info),
     ARRAY("images", container_image), SCALAR("volumesInUse"),
     ARRAY("volumesAttached", attached_volume), OBJECT("config", node_config_status),
     ARRAY("runtimeHandlers", node_runtime_handler), OBJECT("features", node_features));
TYPE(node, SCALAR("kind"), SCALAR("apiVersion"), OBJECT("metadata", schema_object_meta),
     OBJECT("spec", node_spec), OBJECT("status", node_status));

/* ---- core/v1 Service, Endpoints, ServiceAccount, PersistentVolumeClaim. */

TYPE(service_port, SCALAR("name"), SCALAR("protocol"), SCALAR("appProtocol"), SCALAR("port"),
     SCALAR("targetPort"), SCALAR("nodePort"));
TYPE(client_ip_config, SCALAR("timeoutSeconds"));
TYPE(session_affinity_config, OBJECT("clientIP", client_ip_config));
TYPE(service_spec, ARRAY("ports", service_port), MAP("selector"), SCALAR("clusterIP"),
     SCALAR("clusterIPs"), SCALAR("type"), SCALAR("externalIPs"), SCALAR("sessionAffinity"),
     SCALAR("loadBalancerIP"), SCALAR("loadBalancerSourceRanges"), SCALAR("externalName"),
     SCALAR("externalTrafficPolicy"), SCALAR("healthCheckNodePort"),
     SCALAR("publishNotReadyAddresses"), OBJECT("sessionAffinityConfig", session_affinity_config),
     SCALAR("ipFamilies"), SCALAR("ipFamilyPolicy"), SCALAR("allocateLoadBalancerNodePorts"),
     SCALAR("loadBalancerClass"), SCALAR("internalTrafficPolicy"), SCALAR("trafficDistribution"));
TYPE(port_status, SCALAR("port"), SCALAR("protocol"), SCALAR("error"));
TYPE(load_balancer_ingress, SCALAR("ip"), SCALAR("hostname"), SCALAR("ipMode"),
     ARRAY("ports", port_status));
TYPE(load_balancer_status, ARRAY("ingress", load_balancer_ingress));
TYPE(service_status, OBJECT("loadBalancer", load_balancer_status), ARRAY("conditions", condition));
TYPE(service, SCALAR("kind"), SCALAR("apiVersion"), OBJECT("metadata", schema_object_meta),
     OBJECT("spec", service_spec), OBJECT("status", service_status));
TYPE(endpoint_address, SCALAR("ip"), SCALAR("hostname"), SCALAR("nodeName"),
     OBJECT("targetRef", object_reference));
TYPE(endpoint_port, SCALAR("name"), SCALAR("port"), SCALAR("protocol"), SCALAR("appProtocol"));
TYPE(endpoint_subset, ARRAY("addresses", endpoint_address),
     ARRAY("notReadyAddresses", endpoint_address), ARRAY("ports", endpoint_port));
TYPE(endpoints, SCALAR("kind"), SCALAR("apiVersion"), OBJECT("metadata", schema_object_meta),
     ARRAY("subsets", endpoint_subset));
TYPE(service_account, SCALAR("kind"), SCALAR("apiVersion"), OBJECT("metadata", schema_object_meta),
     ARRAY("secrets", object_reference), ARRAY("imagePullSecrets", schema_local_object_reference),
     SCALAR("automountServiceAccountToken"));
TYPE(persistent_volume_claim_condition, SCALAR("type"), SCALAR("status"), SCALAR("lastProbeTime"),
     SCALAR("lastTransitionTime"), SCALAR("reason"), SCALAR("message"));
TYPE(modify_volume_status, SCALAR("targetVolumeAttributesClassName"), SCALAR("status"));
TYPE(persistent_volume_claim_status, SCALAR("phase"), SCALAR("accessModes"), MAP("capacity"),
     ARRAY("conditions", persistent_volume_claim_condition), MAP("allocatedResources"),
     MAP("allocatedResourceStatuses"), SCALAR("currentVolumeAttributesClassName"),
     OBJECT("modifyVolumeStatus", modify_volume_status));
TYPE(persistent_volume_claim, SCALAR("kind"), SCALAR("apiVersion"),
     OBJECT("metadata", schema_object_meta), OBJECT("spec", schema_persistent_volume_claim_spec),
     OBJECT("status", persistent_volume_claim_status));

/* ---- coordination.k8s.io/v1 Lease. */

TYPE(lease_spec, SCALAR("holderIdentity"), SCALAR("leaseDurationSeconds"), SCALAR("acquireTime"),
     SCALAR("renewTime"), SCALAR("leaseTransitions"), SCALAR("strategy"),
     SCALAR("preferredHolder"));
TYPE(lease, SCALAR("kind"), SCALAR("apiVersion"), OBJECT("metadata", schema_object_meta),
     OBJECT("spec", lease_spec));

/* ---- apps/v1 Deployment, ReplicaSet, DaemonSet, StatefulSet. */

TYPE(rolling_update_deployment, SCALAR("maxUnavailable"), SCALAR("maxSurge"));
TYPE(deployment_strategy, SCALAR("type"), OBJECT("rollingUpdate", rolling_update_deployment));
TYPE(deployment_spec, SCALAR("replicas"), OBJECT("selector", schema_label_selector),
     OBJECT("template", schema_pod_template_spec), OBJECT("strategy", deployment_strategy),
     SCALAR("minReadySeconds"), SCALAR("revisionHistoryLimit"), SCALAR("paused"),
     SCALAR("progressDeadlineSeconds"));
TYPE(deployment_condition, SCALAR("type"), SCALAR("status"), SCALAR("lastUpdateTime"),
     SCALAR("lastTransitionTime"), SCALAR("reason"), SCALAR("message"));
TYPE(deployment_status, SCALAR("observedGeneration"), SCALAR("replicas"), SCALAR("updatedReplicas"),
     SCALAR("readyReplicas"), SCALAR("availableReplicas"), SCALAR("unavailableReplicas"),
     SCALAR("terminatingReplicas"), ARRAY("conditions", deployment_condition),
     SCALAR("collisionCount"));
TYPE(deployment, SCALAR("kind"), SCALAR("apiVersion"), OBJECT("metadata", schema_object_meta),
     OBJECT("spec", deployment_spec), OBJECT("status", deployment_status));
TYPE(replica_set_spec, SCALAR("replicas"), SCALAR("minReadySeconds"),
     OBJECT("selector", schema_label_selector), OBJECT("template", schema_pod_template_spec));
TYPE(replica_set_condition, SCALAR("type"), SCALAR("status"), SCALAR("lastTransitionTime"),
     SCALAR("reason"), SCALAR("message"));
TYPE(replica_set_status, SCALAR("replicas"), SCALAR("fullyLabeledReplicas"),
     SCALAR("readyReplicas"), SCALAR("availableReplicas"), SCALAR("terminatingReplicas"),
     SCALAR("observedGeneration"), ARRAY("conditions", replica_set_condition));
TYPE(replica_set, SCALAR("kind"), SCALAR("apiVersion"), OBJECT("metadata", schema_object_meta),
     OBJECT("spec", replica_set_spec), OBJECT("status", replica_set_status));
TYPE(rolling_update_daemon_set, SCALAR("maxUnavailable"), SCALAR("maxSurge"));
TYPE(daemon_set_update_strategy, SCALAR("type"),
     OBJECT("rollingUpdate", rolling_update_daemon_set));
TYPE(daemon_set_spec, OBJECT("selector", schema_label_selector),
     OBJECT("template", schema_pod_template_spec),
     OBJECT("updateStrategy", daemon_set_update_strategy), SCALAR("minReadySeconds"),
     SCALAR("revisionHistoryLimit"));
TYPE(daemon_set_condition, SCALAR("type"), SCALAR("status"), SCALAR("lastTransitionTime"),
     SCALAR("reason"), SCALAR("message"));
TYPE(daemon_set_status, SCALAR("currentNumberScheduled"), SCALAR("numberMisscheduled"),
     SCALAR("desiredNumberScheduled"), SCALAR("numberReady"), SCALAR("observedGeneration"),
     SCALAR("updatedNumberScheduled"), SCALAR("numberAvailable"), SCALAR("numberUnavailable"),
     SCALAR("collisionCount"), ARRAY("conditions", daemon_set_condition));
TYPE(daemon_set, SCALAR("kind"), SCALAR("apiVersion"), OBJECT("metadata", schema_object_meta),
     OBJECT("spec", daemon_set_spec), OBJECT("status", daemon_set_status));
TYPE(rolling_update_stateful_set_strategy, SCALAR("partition"), SCALAR("maxUnavailable"));
TYPE(stateful_set_update_strategy, SCALAR("type"),
     OBJECT("rollingUpdate", rolling_update_stateful_set_strategy));
TYPE(stateful_set_persistent_volume_claim_retention_policy, SCALAR("whenDeleted"),
     SCALAR("whenScaled"));
TYPE(stateful_set_ordinals, SCALAR("start"));
TYPE(stateful_set_spec, SCALAR("replicas"), OBJECT("selector", schema_label_selector),
     OBJECT("template", schema_pod_template_spec),
     ARRAY("volumeClaimTemplates", persistent_volume_claim), SCALAR("serviceName"),
     SCALAR("podManagementPolicy"), OBJECT("updateStrategy", stateful_set_update_strategy),
     SCALAR("revisionHistoryLimit"), SCALAR("minReadySeconds"),
     OBJECT("persistentVolumeClaimRetentionPolicy",
            stateful_set_persistent_volume_claim_retention_policy),
     OBJECT("ordinals", stateful_set_ordinals));
TYPE(stateful_set_condition, SCALAR("type"), SCALAR("status"), SCALAR("lastTransitionTime"),
     SCALAR("reason"), SCALAR("message"));
TYPE(stateful_set_status, SCALAR("observedGeneration"), SCALAR("replicas"), SCALAR("readyReplicas"),
     SCALAR("currentReplicas"), SCALAR("updatedReplicas"), SCALAR("currentRevision"),
     SCALAR("updateRevision"), SCALAR("collisionCount"),
     ARRAY("conditions", stateful_set_condition), SCALAR("availableReplicas"));
TYPE(stateful_set, SCALAR("kind"), SCALAR("apiVersion"), OBJECT("metadata", schema_object_meta),
     OBJECT("spec", stateful_set_spec), OBJECT("status", stateful_set_status));

/* ---- batch/v1 Job, CronJob. */

TYPE(pod_failure_policy_on_exit_codes_requirement, SCALAR("containerName"), SCALAR("operator"),
     SCALAR("values"));
TYPE(pod_failure_policy_on_pod_conditions_pattern, SCALAR("type"), SCALAR("status"));
TYPE(pod_failure_policy_rule, SCALAR("action"),
     OBJECT("onExitCodes", pod_failure_policy_on_exit_codes_requirement),
     ARRAY("onPodConditions", pod_failure_policy_on_pod_conditions_pattern));
TYPE(pod_failure_policy, ARRAY("rules", pod_failure_policy_rule));
TYPE(success_policy_rule, SCALAR("succeededIndexes"), SCALAR("succeededCount"));
TYPE(success_policy, ARRAY("rules", success_policy_rule));
TYPE(job_spec, SCALAR("parallelism"), SCALAR("completions"), SCALAR("activeDeadlineSeconds"),
     OBJECT("podFailurePolicy", pod_failure_policy), OBJECT("successPolicy", success_policy),
     SCALAR("backoffLimit"), SCALAR("backoffLimitPerIndex"), SCALAR("maxFailedIndexes"),
     OBJECT("selector", schema_label_selector), SCALAR("manualSelector"),
     OBJECT("template", schema_pod_template_spec), SCALAR("ttlSecondsAfterFinished"),
     SCALAR("completionMode"), SCALAR("suspend"), SCALAR("podReplacementPolicy"),
     SCALAR("managedBy"));
TYPE(job_condition, SCALAR("type"), SCALAR("status"), SCALAR("lastProbeTime"),
     SCALAR("lastTransitionTime"), SCALAR("reason"), SCALAR("message"));
TYPE(uncounted_terminated_pods, SCALAR("succeeded"), SCALAR("failed"));
TYPE(job_status, ARRAY("conditions", job_condition), SCALAR("startTime"), SCALAR("completionTime"),
     SCALAR("active"), SCALAR("succeeded"), SCALAR("failed"), SCALAR("terminating"),
     SCALAR("completedIndexes"), SCALAR("failedIndexes"),
     OBJECT("uncountedTerminatedPods", uncounted_terminated_pods), SCALAR("ready"));
TYPE(job, SCALAR("kind"), SCALAR("apiVersion"), OBJECT("metadata", schema_object_meta),
     OBJECT("spec", job_spec), OBJECT("status", job_status));
TYPE(job_template_spec, OBJECT("metadata", schema_object_meta), OBJECT("spec", job_spec));
TYPE(cron_job_spec, SCALAR("schedule"), SCALAR("timeZone"), SCALAR("startingDeadlineSeconds"),
     SCALAR("concurrencyPolicy"), SCALAR("suspend"), OBJECT("jobTemplate", job_template_spec),
     SCALAR("successfulJobsHistoryLimit"), SCALAR("failedJobsHistoryLimit"));
TYPE(cron_job_status, ARRAY("active", object_reference), SCALAR("lastScheduleTime"),
     SCALAR("lastSuccessfulTime"));
TYPE(cron_job, SCALAR("kind"), SCALAR("apiVersion"), OBJECT("metadata", schema_object_meta),
     OBJECT("spec", cron_job_spec), OBJECT("status", cron_job_status));

/* ---- policy/v1 PodDisruptionBudget and scheduling.k8s.io/v1 PriorityClass. */

TYPE(pod_disruption_budget_spec, SCALAR("minAvailable"), OBJECT("selector", schema_label_selector),
     SCALAR("maxUnavailable"), SCALAR("unhealthyPodEvictionPolicy"));
TYPE(pod_disruption_budget_status, SCALAR("observedGeneration"), MAP("disruptedPods"),
     SCALAR("disruptionsAllowed"), SCALAR("currentHealthy"), SCALAR("desiredHealthy"),
     SCALAR("expectedPods"), ARRAY("conditions", condition));
TYPE(pod_disruption_budget, SCALAR("kind"), SCALAR("apiVersion"),
     OBJECT("metadata", schema_object_meta), OBJECT("spec", pod_disruption_budget_spec),
     OBJECT("status", pod_disruption_budget_status));
TYPE(priority_class, SCALAR("kind"), SCALAR("apiVersion"), OBJECT("metadata", schema_object_meta),
     SCALAR("value"), SCALAR("globalDefault"), SCALAR("description"), SCALAR("preemptionPolicy"));

/* ---- kinds */

const schema_kind_t schema_kinds[] = {
  { "v1", "Namespace", &namespace },
  { "v1", "ConfigMap", &config_map },
  { "v1", "Secret", &secret },
  { "v1", "Event", &event },
  { "v1", "Node", &node },
  { "v1", "Pod", &schema_pod },
  { "v1", "Binding", &binding },
  { "v1", "Service", &service },
  { "v1", "Endpoints", &endpoints },
  { "v1", "ServiceAccount", &service_account },
  { "v1", "PersistentVolumeClaim", &persistent_volume_claim },
  { "coordination.k8s.io/v1", "Lease", &lease },
  { "apps/v1", "Deployment", &deployment },
  { "apps/v1", "ReplicaSet", &replica_set },
  { "apps/v1", "DaemonSet", &daemon_set },
  { "apps/v1", "StatefulSet", &stateful_set },
  { "batch/v1", "Job", &job },
  { "batch/v1", "CronJob", &cron_job },
  { "policy/v1", "PodDisruptionBudget", &pod_disruption_budget },
  { "scheduling.k8s.io/v1", "PriorityClass", &priority_class },
};
const size_t schema_kinds_n = ARRAY_SIZE(schema_kinds);
