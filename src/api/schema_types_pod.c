/* schema_types_pod.c — the known fields of Pod: PodSpec (volumes,
 * containers, scheduling, security), PodStatus, and PodTemplateSpec, which
 * the workload kinds of schema_types.c embed.
 *
 * Field names are the json tags of Kubernetes v1.33's k8s.io/api core/v1 Go
 * types, complete, legacy in-tree volume sources included (they are still
 * accepted by the API server). Embedded structs (the inlined VolumeSource,
 * EphemeralContainerCommon) are flattened into their parent. Types come
 * before their users; see schema.h for the shapes.
 */
#include "api/schema.h"

/* ---- Volumes: every VolumeSource of 1.33, the in-tree legacy ones included. */

TYPE(host_path_volume_source, SCALAR("path"), SCALAR("type"));
TYPE(empty_dir_volume_source, SCALAR("medium"), SCALAR("sizeLimit"));
TYPE(gce_persistent_disk_volume_source, SCALAR("pdName"), SCALAR("fsType"), SCALAR("partition"),
     SCALAR("readOnly"));
TYPE(aws_elastic_block_store_volume_source, SCALAR("volumeID"), SCALAR("fsType"),
     SCALAR("partition"), SCALAR("readOnly"));
TYPE(git_repo_volume_source, SCALAR("repository"), SCALAR("revision"), SCALAR("directory"));
TYPE(key_to_path, SCALAR("key"), SCALAR("path"), SCALAR("mode"));
TYPE(secret_volume_source, SCALAR("secretName"), ARRAY("items", key_to_path), SCALAR("defaultMode"),
     SCALAR("optional"));
TYPE(nfs_volume_source, SCALAR("server"), SCALAR("path"), SCALAR("readOnly"));
EXPORTED_TYPE(schema_local_object_reference, SCALAR("name"));
TYPE(iscsi_volume_source, SCALAR("targetPortal"), SCALAR("iqn"), SCALAR("lun"),
     SCALAR("iscsiInterface"), SCALAR("fsType"), SCALAR("readOnly"), SCALAR("portals"),
     SCALAR("chapAuthDiscovery"), SCALAR("chapAuthSession"),
     OBJECT("secretRef", schema_local_object_reference), SCALAR("initiatorName"));
TYPE(glusterfs_volume_source, SCALAR("endpoints"), SCALAR("path"), SCALAR("readOnly"));
TYPE(persistent_volume_claim_volume_source, SCALAR("claimName"), SCALAR("readOnly"));
TYPE(rbd_volume_source, SCALAR("monitors"), SCALAR("image"), SCALAR("fsType"), SCALAR("pool"),
     SCALAR("user"), SCALAR("keyring"), OBJECT("secretRef", schema_local_object_reference),
     SCALAR("readOnly"));
TYPE(flex_volume_source, SCALAR("driver"), SCALAR("fsType"),
     OBJECT("secretRef", schema_local_object_reference), SCALAR("readOnly"), MAP("options"));
TYPE(cinder_volume_source, SCALAR("volumeID"), SCALAR("fsType"), SCALAR("readOnly"),
     OBJECT("secretRef", schema_local_object_reference));
TYPE(ceph_fs_volume_source, SCALAR("monitors"), SCALAR("path"), SCALAR("user"),
     SCALAR("secretFile"), OBJECT("secretRef", schema_local_object_reference), SCALAR("readOnly"));
TYPE(flocker_volume_source, SCALAR("datasetName"), SCALAR("datasetUUID"));
TYPE(object_field_selector, SCALAR("apiVersion"), SCALAR("fieldPath"));
TYPE(resource_field_selector, SCALAR("containerName"), SCALAR("resource"), SCALAR("divisor"));
TYPE(downward_api_volume_file, SCALAR("path"), OBJECT("fieldRef", object_field_selector),
     OBJECT("resourceFieldRef", resource_field_selector), SCALAR("mode"));
TYPE(downward_api_volume_source, ARRAY("items", downward_api_volume_file), SCALAR("defaultMode"));
TYPE(fc_volume_source, SCALAR("targetWWNs"), SCALAR("lun"), SCALAR("fsType"), SCALAR("readOnly"),
     SCALAR("wwids"));
TYPE(azure_file_volume_source, SCALAR("secretName"), SCALAR("shareName"), SCALAR("readOnly"));
TYPE(config_map_volume_source, SCALAR("name"), ARRAY("items", key_to_path), SCALAR("defaultMode"),
     SCALAR("optional"));
TYPE(vsphere_virtual_disk_volume_source, SCALAR("volumePath"), SCALAR("fsType"),
     SCALAR("storagePolicyName"), SCALAR("storagePolicyID"));
TYPE(quobyte_volume_source, SCALAR("registry"), SCALAR("volume"), SCALAR("readOnly"),
     SCALAR("user"), SCALAR("group"), SCALAR("tenant"));
TYPE(azure_disk_volume_source, SCALAR("diskName"), SCALAR("diskURI"), SCALAR("cachingMode"),
     SCALAR("fsType"), SCALAR("readOnly"), SCALAR("kind"));
TYPE(photon_persistent_disk_volume_source, SCALAR("pdID"), SCALAR("fsType"));
TYPE(secret_projection, SCALAR("name"), ARRAY("items", key_to_path), SCALAR("optional"));
TYPE(downward_api_projection, ARRAY("items", downward_api_volume_file));
TYPE(config_map_projection, SCALAR("name"), ARRAY("items", key_to_path), SCALAR("optional"));
TYPE(service_account_token_projection, SCALAR("audience"), SCALAR("expirationSeconds"),
     SCALAR("path"));
TYPE(cluster_trust_bundle_projection, SCALAR("name"), SCALAR("signerName"),
     OBJECT("labelSelector", schema_label_selector), SCALAR("optional"), SCALAR("path"));
TYPE(volume_projection, OBJECT("secret", secret_projection),
     OBJECT("downwardAPI", downward_api_projection), OBJECT("configMap", config_map_projection),
     OBJECT("serviceAccountToken", service_account_token_projection),
     OBJECT("clusterTrustBundle", cluster_trust_bundle_projection));
TYPE(projected_volume_source, ARRAY("sources", volume_projection), SCALAR("defaultMode"));
TYPE(portworx_volume_source, SCALAR("volumeID"), SCALAR("fsType"), SCALAR("readOnly"));
TYPE(scale_io_volume_source, SCALAR("gateway"), SCALAR("system"),
     OBJECT("secretRef", schema_local_object_reference), SCALAR("sslEnabled"),
     SCALAR("protectionDomain"), SCALAR("storagePool"), SCALAR("storageMode"), SCALAR("volumeName"),
     SCALAR("fsType"), SCALAR("readOnly"));
TYPE(storage_os_volume_source, SCALAR("volumeName"), SCALAR("volumeNamespace"), SCALAR("fsType"),
     SCALAR("readOnly"), OBJECT("secretRef", schema_local_object_reference));
TYPE(csi_volume_source, SCALAR("driver"), SCALAR("readOnly"), SCALAR("fsType"),
     MAP("volumeAttributes"), OBJECT("nodePublishSecretRef", schema_local_object_reference));
TYPE(volume_resource_requirements, MAP("limits"), MAP("requests"));
TYPE(typed_local_object_reference, SCALAR("apiGroup"), SCALAR("kind"), SCALAR("name"));
TYPE(typed_object_reference, SCALAR("apiGroup"), SCALAR("kind"), SCALAR("name"),
     SCALAR("namespace"));
EXPORTED_TYPE(schema_persistent_volume_claim_spec, SCALAR("accessModes"),
              OBJECT("selector", schema_label_selector),
              OBJECT("resources", volume_resource_requirements), SCALAR("volumeName"),
              SCALAR("storageClassName"), SCALAR("volumeMode"),
              OBJECT("dataSource", typed_local_object_reference),
              OBJECT("dataSourceRef", typed_object_reference), SCALAR("volumeAttributesClassName"));
TYPE(persistent_volume_claim_template, OBJECT("metadata", schema_object_meta),
     OBJECT("spec", schema_persistent_volume_claim_spec));
TYPE(ephemeral_volume_source, OBJECT("volumeClaimTemplate", persistent_volume_claim_template));
TYPE(image_volume_source, SCALAR("reference"), SCALAR("pullPolicy"));
TYPE(volume, SCALAR("name"), OBJECT("hostPath", host_path_volume_source),
     OBJECT("emptyDir", empty_dir_volume_source),
     OBJECT("gcePersistentDisk", gce_persistent_disk_volume_source),
     OBJECT("awsElasticBlockStore", aws_elastic_block_store_volume_source),
     OBJECT("gitRepo", git_repo_volume_source), OBJECT("secret", secret_volume_source),
     OBJECT("nfs", nfs_volume_source), OBJECT("iscsi", iscsi_volume_source),
     OBJECT("glusterfs", glusterfs_volume_source),
     OBJECT("persistentVolumeClaim", persistent_volume_claim_volume_source),
     OBJECT("rbd", rbd_volume_source), OBJECT("flexVolume", flex_volume_source),
     OBJECT("cinder", cinder_volume_source), OBJECT("cephfs", ceph_fs_volume_source),
     OBJECT("flocker", flocker_volume_source), OBJECT("downwardAPI", downward_api_volume_source),
     OBJECT("fc", fc_volume_source), OBJECT("azureFile", azure_file_volume_source),
     OBJECT("configMap", config_map_volume_source),
     OBJECT("vsphereVolume", vsphere_virtual_disk_volume_source),
     OBJECT("quobyte", quobyte_volume_source), OBJECT("azureDisk", azure_disk_volume_source),
     OBJECT("photonPersistentDisk", photon_persistent_disk_volume_source),
     OBJECT("projected", projected_volume_source), OBJECT("portworxVolume", portworx_volume_source),
     OBJECT("scaleIO", scale_io_volume_source), OBJECT("storageos", storage_os_volume_source),
     OBJECT("csi", csi_volume_source), OBJECT("ephemeral", ephemeral_volume_source),
     OBJECT("image", image_volume_source));

/* ---- Containers: ports, env, resources, mounts, probes, lifecycle, securityContext. */

TYPE(container_port, SCALAR("name"), SCALAR("hostPort"), SCALAR("containerPort"),
     SCALAR("protocol"), SCALAR("hostIP"));
TYPE(config_map_env_source, SCALAR("name"), SCALAR("optional"));
TYPE(secret_env_source, SCALAR("name"), SCALAR("optional"));
TYPE(env_from_source, SCALAR("prefix"), OBJECT("configMapRef", config_map_env_source),
     OBJECT("secretRef", secret_env_source));
TYPE(config_map_key_selector, SCALAR("name"), SCALAR("key"), SCALAR("optional"));
TYPE(secret_key_selector, SCALAR("name"), SCALAR("key"), SCALAR("optional"));
TYPE(env_var_source, OBJECT("fieldRef", object_field_selector),
     OBJECT("resourceFieldRef", resource_field_selector),
     OBJECT("configMapKeyRef", config_map_key_selector),
     OBJECT("secretKeyRef", secret_key_selector));
TYPE(env_var, SCALAR("name"), SCALAR("value"), OBJECT("valueFrom", env_var_source));
TYPE(resource_claim, SCALAR("name"), SCALAR("request"));
TYPE(resource_requirements, MAP("limits"), MAP("requests"), ARRAY("claims", resource_claim));
TYPE(container_resize_policy, SCALAR("resourceName"), SCALAR("restartPolicy"));
TYPE(volume_mount, SCALAR("name"), SCALAR("readOnly"), SCALAR("recursiveReadOnly"),
     SCALAR("mountPath"), SCALAR("subPath"), SCALAR("mountPropagation"), SCALAR("subPathExpr"));
TYPE(volume_device, SCALAR("name"), SCALAR("devicePath"));
TYPE(exec_action, SCALAR("command"));
TYPE(http_header, SCALAR("name"), SCALAR("value"));
TYPE(http_get_action, SCALAR("path"), SCALAR("port"), SCALAR("host"), SCALAR("scheme"),
     ARRAY("httpHeaders", http_header));
TYPE(tcp_socket_action, SCALAR("port"), SCALAR("host"));
TYPE(grpc_action, SCALAR("port"), SCALAR("service"));
TYPE(probe, OBJECT("exec", exec_action), OBJECT("httpGet", http_get_action),
     OBJECT("tcpSocket", tcp_socket_action), OBJECT("grpc", grpc_action),
     SCALAR("initialDelaySeconds"), SCALAR("timeoutSeconds"), SCALAR("periodSeconds"),
     SCALAR("successThreshold"), SCALAR("failureThreshold"),
     SCALAR("terminationGracePeriodSeconds"));
TYPE(sleep_action, SCALAR("seconds"));
TYPE(lifecycle_handler, OBJECT("exec", exec_action), OBJECT("httpGet", http_get_action),
     OBJECT("tcpSocket", tcp_socket_action), OBJECT("sleep", sleep_action));
TYPE(lifecycle, OBJECT("postStart", lifecycle_handler), OBJECT("preStop", lifecycle_handler),
     SCALAR("stopSignal"));
TYPE(capabilities, SCALAR("add"), SCALAR("drop"));
TYPE(se_linux_options, SCALAR("user"), SCALAR("role"), SCALAR("type"), SCALAR("level"));
TYPE(windows_security_context_options, SCALAR("gmsaCredentialSpecName"),
     SCALAR("gmsaCredentialSpec"), SCALAR("runAsUserName"), SCALAR("hostProcess"));
TYPE(seccomp_profile, SCALAR("type"), SCALAR("localhostProfile"));
TYPE(app_armor_profile, SCALAR("type"), SCALAR("localhostProfile"));
TYPE(security_context, OBJECT("capabilities", capabilities), SCALAR("privileged"),
     OBJECT("seLinuxOptions", se_linux_options),
     OBJECT("windowsOptions", windows_security_context_options), SCALAR("runAsUser"),
     SCALAR("runAsGroup"), SCALAR("runAsNonRoot"), SCALAR("readOnlyRootFilesystem"),
     SCALAR("allowPrivilegeEscalation"), SCALAR("procMount"),
     OBJECT("seccompProfile", seccomp_profile), OBJECT("appArmorProfile", app_armor_profile));
TYPE(container, SCALAR("name"), SCALAR("image"), SCALAR("command"), SCALAR("args"),
     SCALAR("workingDir"), ARRAY("ports", container_port), ARRAY("envFrom", env_from_source),
     ARRAY("env", env_var), OBJECT("resources", resource_requirements),
     ARRAY("resizePolicy", container_resize_policy), SCALAR("restartPolicy"),
     ARRAY("volumeMounts", volume_mount), ARRAY("volumeDevices", volume_device),
     OBJECT("livenessProbe", probe), OBJECT("readinessProbe", probe), OBJECT("startupProbe", probe),
     OBJECT("lifecycle", lifecycle), SCALAR("terminationMessagePath"),
     SCALAR("terminationMessagePolicy"), SCALAR("imagePullPolicy"),
     OBJECT("securityContext", security_context), SCALAR("stdin"), SCALAR("stdinOnce"),
     SCALAR("tty"));
TYPE(ephemeral_container, SCALAR("name"), SCALAR("image"), SCALAR("command"), SCALAR("args"),
     SCALAR("workingDir"), ARRAY("ports", container_port), ARRAY("envFrom", env_from_source),
     ARRAY("env", env_var), OBJECT("resources", resource_requirements),
     ARRAY("resizePolicy", container_resize_policy), SCALAR("restartPolicy"),
     ARRAY("volumeMounts", volume_mount), ARRAY("volumeDevices", volume_device),
     OBJECT("livenessProbe", probe), OBJECT("readinessProbe", probe), OBJECT("startupProbe", probe),
     OBJECT("lifecycle", lifecycle), SCALAR("terminationMessagePath"),
     SCALAR("terminationMessagePolicy"), SCALAR("imagePullPolicy"),
     OBJECT("securityContext", security_context), SCALAR("stdin"), SCALAR("stdinOnce"),
     SCALAR("tty"), SCALAR("targetContainerName"));

/* ---- Pod-level settings: security context, affinity, tolerations, DNS, spread, gates. */

TYPE(sysctl, SCALAR("name"), SCALAR("value"));
TYPE(pod_security_context, OBJECT("seLinuxOptions", se_linux_options),
     OBJECT("windowsOptions", windows_security_context_options), SCALAR("runAsUser"),
     SCALAR("runAsGroup"), SCALAR("runAsNonRoot"), SCALAR("supplementalGroups"),
     SCALAR("supplementalGroupsPolicy"), SCALAR("fsGroup"), ARRAY("sysctls", sysctl),
     SCALAR("fsGroupChangePolicy"), OBJECT("seccompProfile", seccomp_profile),
     OBJECT("appArmorProfile", app_armor_profile), SCALAR("seLinuxChangePolicy"));
TYPE(node_selector_requirement, SCALAR("key"), SCALAR("operator"), SCALAR("values"));
TYPE(node_selector_term, ARRAY("matchExpressions", node_selector_requirement),
     ARRAY("matchFields", node_selector_requirement));
TYPE(node_selector, ARRAY("nodeSelectorTerms", node_selector_term));
TYPE(preferred_scheduling_term, SCALAR("weight"), OBJECT("preference", node_selector_term));
TYPE(node_affinity, OBJECT("requiredDuringSchedulingIgnoredDuringExecution", node_selector),
     ARRAY("preferredDuringSchedulingIgnoredDuringExecution", preferred_scheduling_term));
TYPE(pod_affinity_term, OBJECT("labelSelector", schema_label_selector), SCALAR("namespaces"),
     SCALAR("topologyKey"), OBJECT("namespaceSelector", schema_label_selector),
     SCALAR("matchLabelKeys"), SCALAR("mismatchLabelKeys"));
TYPE(weighted_pod_affinity_term, SCALAR("weight"), OBJECT("podAffinityTerm", pod_affinity_term));
TYPE(pod_affinity, ARRAY("requiredDuringSchedulingIgnoredDuringExecution", pod_affinity_term),
     ARRAY("preferredDuringSchedulingIgnoredDuringExecution", weighted_pod_affinity_term));
TYPE(pod_anti_affinity, ARRAY("requiredDuringSchedulingIgnoredDuringExecution", pod_affinity_term),
     ARRAY("preferredDuringSchedulingIgnoredDuringExecution", weighted_pod_affinity_term));
TYPE(affinity, OBJECT("nodeAffinity", node_affinity), OBJECT("podAffinity", pod_affinity),
     OBJECT("podAntiAffinity", pod_anti_affinity));
TYPE(toleration, SCALAR("key"), SCALAR("operator"), SCALAR("value"), SCALAR("effect"),
     SCALAR("tolerationSeconds"));
TYPE(host_alias, SCALAR("ip"), SCALAR("hostnames"));
TYPE(pod_dns_config_option, SCALAR("name"), SCALAR("value"));
TYPE(pod_dns_config, SCALAR("nameservers"), SCALAR("searches"),
     ARRAY("options", pod_dns_config_option));
TYPE(pod_readiness_gate, SCALAR("conditionType"));
TYPE(topology_spread_constraint, SCALAR("maxSkew"), SCALAR("topologyKey"),
     SCALAR("whenUnsatisfiable"), OBJECT("labelSelector", schema_label_selector),
     SCALAR("minDomains"), SCALAR("nodeAffinityPolicy"), SCALAR("nodeTaintsPolicy"),
     SCALAR("matchLabelKeys"));
TYPE(pod_os, SCALAR("name"));
TYPE(pod_scheduling_gate, SCALAR("name"));
TYPE(pod_resource_claim, SCALAR("name"), SCALAR("resourceClaimName"),
     SCALAR("resourceClaimTemplateName"));
TYPE(pod_spec, ARRAY("volumes", volume), ARRAY("initContainers", container),
     ARRAY("containers", container), ARRAY("ephemeralContainers", ephemeral_container),
     SCALAR("restartPolicy"), SCALAR("terminationGracePeriodSeconds"),
     SCALAR("activeDeadlineSeconds"), SCALAR("dnsPolicy"), MAP("nodeSelector"),
     SCALAR("serviceAccountName"), SCALAR("serviceAccount"), SCALAR("automountServiceAccountToken"),
     SCALAR("nodeName"), SCALAR("hostNetwork"), SCALAR("hostPID"), SCALAR("hostIPC"),
     SCALAR("shareProcessNamespace"), OBJECT("securityContext", pod_security_context),
     ARRAY("imagePullSecrets", schema_local_object_reference), SCALAR("hostname"),
     SCALAR("subdomain"), OBJECT("affinity", affinity), SCALAR("schedulerName"),
     ARRAY("tolerations", toleration), ARRAY("hostAliases", host_alias),
     SCALAR("priorityClassName"), SCALAR("priority"), OBJECT("dnsConfig", pod_dns_config),
     ARRAY("readinessGates", pod_readiness_gate), SCALAR("runtimeClassName"),
     SCALAR("enableServiceLinks"), SCALAR("preemptionPolicy"), MAP("overhead"),
     ARRAY("topologySpreadConstraints", topology_spread_constraint), SCALAR("setHostnameAsFQDN"),
     OBJECT("os", pod_os), SCALAR("hostUsers"), ARRAY("schedulingGates", pod_scheduling_gate),
     ARRAY("resourceClaims", pod_resource_claim), OBJECT("resources", resource_requirements));

/* ---- PodStatus and the Pod itself. */

TYPE(pod_condition, SCALAR("type"), SCALAR("observedGeneration"), SCALAR("status"),
     SCALAR("lastProbeTime"), SCALAR("lastTransitionTime"), SCALAR("reason"), SCALAR("message"));
TYPE(host_ip, SCALAR("ip"));
TYPE(pod_ip, SCALAR("ip"));
TYPE(container_state_waiting, SCALAR("reason"), SCALAR("message"));
TYPE(container_state_running, SCALAR("startedAt"));
TYPE(container_state_terminated, SCALAR("exitCode"), SCALAR("signal"), SCALAR("reason"),
     SCALAR("message"), SCALAR("startedAt"), SCALAR("finishedAt"), SCALAR("containerID"));
TYPE(container_state, OBJECT("waiting", container_state_waiting),
     OBJECT("running", container_state_running), OBJECT("terminated", container_state_terminated));
TYPE(volume_mount_status, SCALAR("name"), SCALAR("mountPath"), SCALAR("readOnly"),
     SCALAR("recursiveReadOnly"));
TYPE(linux_container_user, SCALAR("uid"), SCALAR("gid"), SCALAR("supplementalGroups"));
TYPE(container_user, OBJECT("linux", linux_container_user));
TYPE(resource_health, SCALAR("resourceID"), SCALAR("health"));
TYPE(resource_status, SCALAR("name"), ARRAY("resources", resource_health));
TYPE(container_status, SCALAR("name"), OBJECT("state", container_state),
     OBJECT("lastState", container_state), SCALAR("ready"), SCALAR("restartCount"), SCALAR("image"),
     SCALAR("imageID"), SCALAR("containerID"), SCALAR("started"), MAP("allocatedResources"),
     OBJECT("resources", resource_requirements), ARRAY("volumeMounts", volume_mount_status),
     OBJECT("user", container_user), ARRAY("allocatedResourcesStatus", resource_status),
     SCALAR("stopSignal"));
TYPE(pod_resource_claim_status, SCALAR("name"), SCALAR("resourceClaimName"));
TYPE(pod_status, SCALAR("observedGeneration"), SCALAR("phase"), ARRAY("conditions", pod_condition),
     SCALAR("message"), SCALAR("reason"), SCALAR("nominatedNodeName"), SCALAR("hostIP"),
     ARRAY("hostIPs", host_ip), SCALAR("podIP"), ARRAY("podIPs", pod_ip), SCALAR("startTime"),
     ARRAY("initContainerStatuses", container_status), ARRAY("containerStatuses", container_status),
     SCALAR("qosClass"), ARRAY("ephemeralContainerStatuses", container_status), SCALAR("resize"),
     ARRAY("resourceClaimStatuses", pod_resource_claim_status));
EXPORTED_TYPE(schema_pod, SCALAR("kind"), SCALAR("apiVersion"),
              OBJECT("metadata", schema_object_meta), OBJECT("spec", pod_spec),
              OBJECT("status", pod_status));

/* ---- The template of Deployments, ReplicaSets, DaemonSets, StatefulSets and Jobs. */

EXPORTED_TYPE(schema_pod_template_spec, OBJECT("metadata", schema_object_meta),
              OBJECT("spec", pod_spec));
