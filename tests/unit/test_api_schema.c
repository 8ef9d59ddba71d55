/* test_api_schema.c — known-field schemas for fieldValidation=Strict: full
 * realistic manifests pass, every kind's top level is judged, unknown fields
 * at any depth come back with the paths Kubernetes' strict decoder gives,
 * maps and free-form fields take anything, and hostile input (deep nesting,
 * huge arrays) neither crashes nor recurses without bound. */
#include "api/api.h"
#include "api/schema.h"

#include <criterion/criterion.h>
#include <string.h>

/* Parses JSON written with single quotes (the manifests below use no
 * apostrophes), so that the manifests stay readable. */
static json_t *J(const char *s)
{
  char *dq = xstrdup(s);
  for (char *p = dq; *p; p++)
    if (*p == '\'')
      *p = '"';
  json_error_t je;
  json_t *j = json_loads(dq, JSON_DECODE_ANY, &je);
  cr_assert_not_null(j, "bad test JSON %s: %s (column %d)", dq, je.text, je.column);
  free(dq);
  return j;
}

static char *joined(char **v)
{
  buf_t b = { 0 };
  buf_puts(&b, "[");
  for (size_t i = 0; v && v[i]; i++)
    buf_printf(&b, "%s%s", i ? ", " : "", v[i]);
  buf_puts(&b, "]");
  return buf_steal(&b);
}

/* want: the expected paths, NULL-terminated; { NULL } for none. */
static void expect_paths(const char *api_version, const char *kind, json_t *obj,
                         const char *const *want)
{
  cleanup_strv char **got = api_unknown_fields(api_version, kind, obj);
  size_t nwant = 0;
  while (want[nwant])
    nwant++;
  cleanup_free char *g = joined(got);
  if (nwant == 0) {
    cr_assert_null(got, "%s %s: unexpected unknown fields %s", api_version, kind, g);
    return;
  }
  cr_assert_not_null(got, "%s %s: no unknown fields found", api_version, kind);
  cr_assert_eq(strv_len(got), nwant, "%s %s: got %s", api_version, kind, g);
  for (size_t i = 0; i < nwant; i++)
    cr_assert_str_eq(got[i], want[i], "%s %s: path %zu: got %s", api_version, kind, i, g);
}

#define PATHS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define NONE       ((const char *const[]){ NULL })

static void expect_json(const char *api_version, const char *kind, const char *json,
                        const char *const *want)
{
  json_t *obj = J(json);
  expect_paths(api_version, kind, obj, want);
  json_decref(obj);
}

/* ---- full manifests ------------------------------------------------------ */

#define META                                                                                       \
  "'metadata': {'name': 'web', 'generateName': 'web-', 'namespace': 'prod', 'selfLink': '/x',"     \
  "  'uid': 'a1b2', 'resourceVersion': '42', 'generation': 3,"                                     \
  "  'creationTimestamp': '2025-01-01T00:00:00Z', 'deletionTimestamp': null,"                      \
  "  'deletionGracePeriodSeconds': 30,"                                                            \
  "  'labels': {'app': 'web', 'app.kubernetes.io/part-of': 'shop'},"                               \
  "  'annotations': {'deployment.kubernetes.io/revision': '3', 'any key/at all': 'v'},"            \
  "  'ownerReferences': [{'apiVersion': 'apps/v1', 'kind': 'ReplicaSet', 'name': 'web-1',"         \
  "    'uid': 'u', 'controller': true, 'blockOwnerDeletion': true}],"                              \
  "  'finalizers': ['example.com/protect'],"                                                       \
  "  'managedFields': [{'manager': 'kubectl', 'operation': 'Apply', 'apiVersion': 'apps/v1',"      \
  "    'time': '2025-01-01T00:00:00Z', 'fieldsType': 'FieldsV1', 'subresource': '',"               \
  "    'fieldsV1': {'f:spec': {'f:replicas': {}, '.': {}}}}]}"

#define CONTAINER_BODY                                                                             \
  "'image': 'registry.example/web:1.2', 'command': ['/web'], 'args': ['--port', '8080'],"          \
  "'workingDir': '/srv', 'imagePullPolicy': 'IfNotPresent',"                                       \
  "'ports': [{'name': 'http', 'containerPort': 8080, 'hostPort': 80, 'protocol': 'TCP',"           \
  "  'hostIP': '0.0.0.0'}],"                                                                       \
  "'envFrom': [{'prefix': 'CM_', 'configMapRef': {'name': 'cfg', 'optional': true}},"              \
  "  {'secretRef': {'name': 'sec', 'optional': false}}],"                                          \
  "'env': [{'name': 'A', 'value': '1'},"                                                           \
  "  {'name': 'POD', 'valueFrom': {'fieldRef': {'apiVersion': 'v1',"                               \
  "    'fieldPath': 'metadata.name'}}},"                                                           \
  "  {'name': 'MEM', 'valueFrom': {'resourceFieldRef': {'containerName': 'web',"                   \
  "    'resource': 'limits.memory', 'divisor': '1Mi'}}},"                                          \
  "  {'name': 'C', 'valueFrom': {'configMapKeyRef': {'name': 'cfg', 'key': 'c',"                   \
  "    'optional': true}}},"                                                                       \
  "  {'name': 'S', 'valueFrom': {'secretKeyRef': {'name': 'sec', 'key': 's'}}}],"                  \
  "'resources': {'limits': {'cpu': '1', 'memory': '512Mi', 'nvidia.com/gpu': 1},"                  \
  "  'requests': {'cpu': '100m', 'ephemeral-storage': '1Gi'},"                                     \
  "  'claims': [{'name': 'gpu', 'request': 'one'}]},"                                              \
  "'resizePolicy': [{'resourceName': 'cpu', 'restartPolicy': 'NotRequired'}],"                     \
  "'volumeMounts': [{'name': 'data', 'mountPath': '/data', 'readOnly': true,"                      \
  "  'recursiveReadOnly': 'IfPossible', 'subPath': 'x', 'mountPropagation': 'None'},"              \
  "  {'name': 'logs', 'mountPath': '/logs', 'subPathExpr': '$(POD)'}],"                            \
  "'volumeDevices': [{'name': 'raw', 'devicePath': '/dev/xvda'}],"                                 \
  "'livenessProbe': {'httpGet': {'path': '/healthz', 'port': 'http', 'host': 'h',"                 \
  "  'scheme': 'HTTP', 'httpHeaders': [{'name': 'X', 'value': 'y'}]},"                             \
  "  'initialDelaySeconds': 5, 'timeoutSeconds': 1, 'periodSeconds': 10,"                          \
  "  'successThreshold': 1, 'failureThreshold': 3, 'terminationGracePeriodSeconds': 10},"          \
  "'readinessProbe': {'tcpSocket': {'port': 8080, 'host': 'h'}},"                                  \
  "'startupProbe': {'exec': {'command': ['true']}, 'grpc': {'port': 9090, 'service': 's'}},"       \
  "'lifecycle': {'postStart': {'exec': {'command': ['hook']}},"                                    \
  "  'preStop': {'sleep': {'seconds': 5}, 'httpGet': {'port': 80}, 'tcpSocket': {'port': 80}},"    \
  "  'stopSignal': 'SIGTERM'},"                                                                    \
  "'terminationMessagePath': '/dev/termination-log',"                                              \
  "'terminationMessagePolicy': 'FallbackToLogsOnError',"                                           \
  "'securityContext': {'capabilities': {'add': ['NET_ADMIN'], 'drop': ['ALL']},"                   \
  "  'privileged': false, 'seLinuxOptions': {'user': 'u', 'role': 'r', 'type': 't',"               \
  "    'level': 'l'},"                                                                             \
  "  'windowsOptions': {'gmsaCredentialSpecName': 'n', 'gmsaCredentialSpec': 's',"                 \
  "    'runAsUserName': 'u', 'hostProcess': false},"                                               \
  "  'runAsUser': 1000, 'runAsGroup': 1000, 'runAsNonRoot': true,"                                 \
  "  'readOnlyRootFilesystem': true, 'allowPrivilegeEscalation': false, 'procMount': 'Default',"   \
  "  'seccompProfile': {'type': 'Localhost', 'localhostProfile': 'p.json'},"                       \
  "  'appArmorProfile': {'type': 'RuntimeDefault'}},"                                              \
  "'stdin': false, 'stdinOnce': false, 'tty': false"

#define POD_SPEC                                                                                   \
  "{'volumes': ["                                                                                  \
  "  {'name': 'data', 'persistentVolumeClaim': {'claimName': 'data', 'readOnly': false}},"         \
  "  {'name': 'logs', 'emptyDir': {'medium': 'Memory', 'sizeLimit': '64Mi'}},"                     \
  "  {'name': 'host', 'hostPath': {'path': '/var/log', 'type': 'Directory'}},"                     \
  "  {'name': 'cfg', 'configMap': {'name': 'cfg', 'items': [{'key': 'a', 'path': 'a',"             \
  "    'mode': 420}],"                                                                             \
  "    'defaultMode': 420, 'optional': true}},"                                                    \
  "  {'name': 'sec', 'secret': {'secretName': 'sec', 'items': [{'key': 'k', 'path': 'k'}],"        \
  "    'defaultMode': 256, 'optional': false}},"                                                   \
  "  {'name': 'proj', 'projected': {'defaultMode': 420, 'sources': ["                              \
  "    {'serviceAccountToken': {'audience': 'api', 'expirationSeconds': 3600, 'path': 'token'}},"  \
  "    {'configMap': {'name': 'ca', 'items': [{'key': 'ca.crt', 'path': 'ca.crt'}],"               \
  "      'optional': true}},"                                                                      \
  "    {'secret': {'name': 's', 'optional': true}},"                                               \
  "    {'downwardAPI': {'items': [{'path': 'ns',"                                                  \
  "      'fieldRef': {'fieldPath': 'metadata.namespace'}}]}},"                                     \
  "    {'clusterTrustBundle': {'signerName': 'example.com/s', 'path': 'b.pem', 'optional': true,"  \
  "      'labelSelector': {'matchLabels': {'a': 'b'}}}}]}},"                                       \
  "  {'name': 'dapi', 'downwardAPI': {'defaultMode': 420, 'items': [{'path': 'cpu',"               \
  "    'resourceFieldRef': {'containerName': 'web', 'resource': 'limits.cpu', 'divisor': '1m'},"   \
  "    'mode': 292}]}},"                                                                           \
  "  {'name': 'nfs', 'nfs': {'server': 'nfs.example', 'path': '/export', 'readOnly': true}},"      \
  "  {'name': 'csi', 'csi': {'driver': 'csi.example', 'readOnly': true, 'fsType': 'ext4',"         \
  "    'volumeAttributes': {'any.key/x': 'v'}, 'nodePublishSecretRef': {'name': 'n'}}},"           \
  "  {'name': 'eph', 'ephemeral': {'volumeClaimTemplate': {'metadata': {'labels': {'a': 'b'}},"    \
  "    'spec': {'accessModes': ['ReadWriteOnce'], 'storageClassName': 'fast',"                     \
  "      'volumeMode': 'Filesystem', 'resources': {'requests': {'storage': '1Gi'}},"               \
  "      'selector': {'matchExpressions': [{'key': 'k', 'operator': 'In', 'values': ['v']}]},"     \
  "      'dataSource': {'apiGroup': 'snapshot.storage.k8s.io', 'kind': 'VolumeSnapshot',"          \
  "        'name': 's'},"                                                                          \
  "      'dataSourceRef': {'kind': 'PersistentVolumeClaim', 'name': 'p', 'namespace': 'n'},"       \
  "      'volumeAttributesClassName': 'gold', 'volumeName': 'pv'}}}},"                             \
  "  {'name': 'img', 'image': {'reference': 'registry.example/data:1', 'pullPolicy': 'Always'}},"  \
  "  {'name': 'git', 'gitRepo': {'repository': 'r', 'revision': 'main', 'directory': '.'}},"       \
  "  {'name': 'rbd', 'rbd': {'monitors': ['m'], 'image': 'i', 'secretRef': {'name': 's'}}},"       \
  "  {'name': 'iscsi', 'iscsi': {'targetPortal': 't', 'iqn': 'q', 'lun': 0, 'portals': ['p']}},"   \
  "  {'name': 'flex', 'flexVolume': {'driver': 'd', 'options': {'k': 'v'}}},"                      \
  "  {'name': 'raw', 'awsElasticBlockStore': {'volumeID': 'v', 'fsType': 'ext4'}}],"               \
  "'initContainers': [{'name': 'init', 'image': 'busybox', 'restartPolicy': 'Always',"             \
  "  'command': ['sh', '-c', 'true']}],"                                                           \
  "'containers': [{'name': 'web', " CONTAINER_BODY "}, {'name': 'side', 'image': 'side:1'}],"      \
  "'ephemeralContainers': [{'name': 'debug', 'image': 'busybox', 'targetContainerName': 'web',"    \
  "  'stdin': true, 'tty': true}],"                                                                \
  "'restartPolicy': 'Always', 'terminationGracePeriodSeconds': 30, 'activeDeadlineSeconds': 600,"  \
  "'dnsPolicy': 'ClusterFirst', 'nodeSelector': {'kubernetes.io/os': 'linux', 'disk': 'ssd'},"     \
  "'serviceAccountName': 'web', 'serviceAccount': 'web', 'automountServiceAccountToken': false,"   \
  "'nodeName': 'n1', 'hostNetwork': false, 'hostPID': false, 'hostIPC': false,"                    \
  "'shareProcessNamespace': true,"                                                                 \
  "'securityContext': {'runAsUser': 1000, 'runAsGroup': 1000, 'runAsNonRoot': true,"               \
  "  'fsGroup': 2000, 'fsGroupChangePolicy': 'OnRootMismatch', 'supplementalGroups': [3000],"      \
  "  'supplementalGroupsPolicy': 'Strict', 'sysctls': [{'name': 'net.core.somaxconn',"             \
  "    'value': '1024'}],"                                                                         \
  "  'seccompProfile': {'type': 'RuntimeDefault'}, 'appArmorProfile': {'type': 'Unconfined'},"     \
  "  'seLinuxOptions': {'level': 's0'}, 'seLinuxChangePolicy': 'MountOption',"                     \
  "  'windowsOptions': {'runAsUserName': 'x'}},"                                                   \
  "'imagePullSecrets': [{'name': 'regcred'}], 'hostname': 'web', 'subdomain': 'svc',"              \
  "'affinity': {"                                                                                  \
  "  'nodeAffinity': {'requiredDuringSchedulingIgnoredDuringExecution': {'nodeSelectorTerms': ["   \
  "      {'matchExpressions': [{'key': 'zone', 'operator': 'In', 'values': ['a']}],"               \
  "       'matchFields': [{'key': 'metadata.name', 'operator': 'NotIn', 'values': ['n9']}]}]},"    \
  "    'preferredDuringSchedulingIgnoredDuringExecution': [{'weight': 10,"                         \
  "      'preference': {'matchExpressions': [{'key': 'disk', 'operator': 'Exists'}]}}]},"          \
  "  'podAffinity': {'requiredDuringSchedulingIgnoredDuringExecution': [{"                         \
  "      'labelSelector': {'matchLabels': {'app': 'db'}}, 'topologyKey': 'zone',"                  \
  "      'namespaces': ['db'], 'namespaceSelector': {}, 'matchLabelKeys': ['pod-template-hash'],"  \
  "      'mismatchLabelKeys': ['tenant']}]},"                                                      \
  "  'podAntiAffinity': {'preferredDuringSchedulingIgnoredDuringExecution': [{'weight': 100,"      \
  "      'podAffinityTerm': {'labelSelector': {'matchExpressions': [{'key': 'app',"                \
  "        'operator': 'In', 'values': ['web']}]}, 'topologyKey': 'kubernetes.io/hostname'}}]}},"  \
  "'schedulerName': 'default-scheduler',"                                                          \
  "'tolerations': [{'key': 'k', 'operator': 'Equal', 'value': 'v', 'effect': 'NoExecute',"         \
  "  'tolerationSeconds': 60}],"                                                                   \
  "'hostAliases': [{'ip': '10.0.0.1', 'hostnames': ['db.local']}],"                                \
  "'priorityClassName': 'high', 'priority': 1000,"                                                 \
  "'dnsConfig': {'nameservers': ['1.1.1.1'], 'searches': ['svc.local'],"                           \
  "  'options': [{'name': 'ndots', 'value': '2'}]},"                                               \
  "'readinessGates': [{'conditionType': 'example.com/ready'}],"                                    \
  "'runtimeClassName': 'runc', 'enableServiceLinks': false, 'preemptionPolicy': 'Never',"          \
  "'overhead': {'cpu': '10m'},"                                                                    \
  "'topologySpreadConstraints': [{'maxSkew': 1, 'topologyKey': 'zone',"                            \
  "  'whenUnsatisfiable': 'DoNotSchedule', 'labelSelector': {'matchLabels': {'app': 'web'}},"      \
  "  'minDomains': 2, 'nodeAffinityPolicy': 'Honor', 'nodeTaintsPolicy': 'Ignore',"                \
  "  'matchLabelKeys': ['pod-template-hash']}],"                                                   \
  "'setHostnameAsFQDN': false, 'os': {'name': 'linux'}, 'hostUsers': false,"                       \
  "'schedulingGates': [{'name': 'example.com/gate'}],"                                             \
  "'resourceClaims': [{'name': 'gpu', 'resourceClaimTemplateName': 'gpu-tpl'},"                    \
  "  {'name': 'fpga', 'resourceClaimName': 'fpga-1'}],"                                            \
  "'resources': {'limits': {'cpu': '2'}, 'requests': {'memory': '1Gi'}}}"

#define CONTAINER_STATUS                                                                           \
  "{'name': 'web', 'ready': true, 'restartCount': 1, 'started': true,"                             \
  "  'image': 'registry.example/web:1.2', 'imageID': 'sha256:abc', 'containerID': 'berth://1',"    \
  "  'state': {'running': {'startedAt': '2025-01-01T00:00:00Z'}},"                                 \
  "  'lastState': {'terminated': {'exitCode': 137, 'signal': 9, 'reason': 'OOMKilled',"            \
  "    'message': 'm', 'startedAt': 'a', 'finishedAt': 'b', 'containerID': 'berth://0'},"          \
  "    'waiting': {'reason': 'CrashLoopBackOff', 'message': 'back-off'}},"                         \
  "  'allocatedResources': {'cpu': '1'},"                                                          \
  "  'resources': {'limits': {'cpu': '1'}, 'requests': {'cpu': '1'}},"                             \
  "  'volumeMounts': [{'name': 'data', 'mountPath': '/data', 'readOnly': true,"                    \
  "    'recursiveReadOnly': 'Disabled'}],"                                                         \
  "  'user': {'linux': {'uid': 1000, 'gid': 1000, 'supplementalGroups': [1000]}},"                 \
  "  'allocatedResourcesStatus': [{'name': 'claim:gpu',"                                           \
  "    'resources': [{'resourceID': 'gpu-0', 'health': 'Healthy'}]}],"                             \
  "  'stopSignal': 'SIGTERM'}"

#define POD_STATUS                                                                                 \
  "{'observedGeneration': 1, 'phase': 'Running', 'message': '', 'reason': '',"                     \
  "  'nominatedNodeName': 'n2', 'hostIP': '10.0.0.2', 'hostIPs': [{'ip': '10.0.0.2'}],"            \
  "  'podIP': '10.1.0.5', 'podIPs': [{'ip': '10.1.0.5'}, {'ip': 'fd00::5'}],"                      \
  "  'startTime': '2025-01-01T00:00:00Z', 'qosClass': 'Burstable', 'resize': 'InProgress',"        \
  "  'conditions': [{'type': 'Ready', 'status': 'True', 'observedGeneration': 1,"                  \
  "    'lastProbeTime': null, 'lastTransitionTime': 't', 'reason': 'r', 'message': 'm'}],"         \
  "  'initContainerStatuses': [" CONTAINER_STATUS "],"                                             \
  "  'containerStatuses': [" CONTAINER_STATUS "],"                                                 \
  "  'ephemeralContainerStatuses': [],"                                                            \
  "  'resourceClaimStatuses': [{'name': 'gpu', 'resourceClaimName': 'web-gpu-x'}]}"

Test(api_schema, full_pod_is_known)
{
  expect_json("v1", "Pod",
              "{'apiVersion': 'v1', 'kind': 'Pod', " META ", 'spec': " POD_SPEC
              ", 'status': " POD_STATUS "}",
              NONE);
}

Test(api_schema, full_deployment_is_known)
{
  expect_json(
      "apps/v1", "Deployment",
      "{'apiVersion': 'apps/v1', 'kind': 'Deployment', " META ","
      "'spec': {'replicas': 3, 'minReadySeconds': 5, 'revisionHistoryLimit': 10,"
      "  'paused': false, 'progressDeadlineSeconds': 600,"
      "  'selector': {'matchLabels': {'app': 'web'},"
      "    'matchExpressions': [{'key': 'tier', 'operator': 'NotIn', 'values': ['db']}]},"
      "  'strategy': {'type': 'RollingUpdate',"
      "    'rollingUpdate': {'maxUnavailable': '25%', 'maxSurge': 1}},"
      "  'template': {" META ", 'spec': " POD_SPEC "}},"
      "'status': {'observedGeneration': 3, 'replicas': 3, 'updatedReplicas': 3,"
      "  'readyReplicas': 3, 'availableReplicas': 3, 'unavailableReplicas': 0,"
      "  'terminatingReplicas': 0, 'collisionCount': 0,"
      "  'conditions': [{'type': 'Available', 'status': 'True', 'lastUpdateTime': 't',"
      "    'lastTransitionTime': 't', 'reason': 'MinimumReplicasAvailable', 'message': 'm'}]}}",
      NONE);
}

Test(api_schema, full_workloads_are_known)
{
  expect_json(
      "apps/v1", "StatefulSet",
      "{'apiVersion': 'apps/v1', 'kind': 'StatefulSet', 'metadata': {'name': 'db'},"
      "'spec': {'replicas': 3, 'serviceName': 'db', 'podManagementPolicy': 'Parallel',"
      "  'selector': {'matchLabels': {'app': 'db'}}, 'minReadySeconds': 0,"
      "  'revisionHistoryLimit': 5, 'ordinals': {'start': 1},"
      "  'updateStrategy': {'type': 'RollingUpdate',"
      "    'rollingUpdate': {'partition': 0, 'maxUnavailable': 1}},"
      "  'persistentVolumeClaimRetentionPolicy': {'whenDeleted': 'Delete',"
      "    'whenScaled': 'Retain'},"
      "  'template': {'metadata': {'labels': {'app': 'db'}}, 'spec': " POD_SPEC "},"
      "  'volumeClaimTemplates': [{'apiVersion': 'v1', 'kind': 'PersistentVolumeClaim',"
      "    'metadata': {'name': 'data'}, 'spec': {'accessModes': ['ReadWriteOnce'],"
      "      'resources': {'requests': {'storage': '10Gi'}, 'limits': {'storage': '20Gi'}}},"
      "    'status': {'phase': 'Pending'}}]},"
      "'status': {'observedGeneration': 1, 'replicas': 3, 'readyReplicas': 3,"
      "  'currentReplicas': 3, 'updatedReplicas': 3, 'availableReplicas': 3,"
      "  'currentRevision': 'db-1', 'updateRevision': 'db-1', 'collisionCount': 0,"
      "  'conditions': []}}",
      NONE);
  expect_json(
      "batch/v1", "CronJob",
      "{'apiVersion': 'batch/v1', 'kind': 'CronJob', 'metadata': {'name': 'nightly'},"
      "'spec': {'schedule': '0 3 * * *', 'timeZone': 'Etc/UTC',"
      "  'startingDeadlineSeconds': 60, 'concurrencyPolicy': 'Forbid', 'suspend': false,"
      "  'successfulJobsHistoryLimit': 3, 'failedJobsHistoryLimit': 1,"
      "  'jobTemplate': {'metadata': {'labels': {'job': 'nightly'}},"
      "    'spec': {'parallelism': 2, 'completions': 4, 'activeDeadlineSeconds': 3600,"
      "      'backoffLimit': 6, 'backoffLimitPerIndex': 1, 'maxFailedIndexes': 2,"
      "      'completionMode': 'Indexed', 'suspend': false, 'manualSelector': false,"
      "      'ttlSecondsAfterFinished': 100, 'podReplacementPolicy': 'Failed',"
      "      'managedBy': 'kubernetes.io/job-controller',"
      "      'podFailurePolicy': {'rules': [{'action': 'FailJob',"
      "        'onExitCodes': {'containerName': 'web', 'operator': 'In', 'values': [42]}},"
      "        {'action': 'Ignore', 'onPodConditions': [{'type': 'DisruptionTarget',"
      "          'status': 'True'}]}]},"
      "      'successPolicy': {'rules': [{'succeededIndexes': '0-1', 'succeededCount': 1}]},"
      "      'template': {'spec': " POD_SPEC "}}}},"
      "'status': {'active': [{'apiVersion': 'batch/v1', 'kind': 'Job', 'name': 'n',"
      "    'namespace': 'd', 'uid': 'u', 'resourceVersion': '1', 'fieldPath': ''}],"
      "  'lastScheduleTime': 't', 'lastSuccessfulTime': 't'}}",
      NONE);
}

/* ---- every kind's top level ------------------------------------------- */

Test(api_schema, kinds_top_level)
{
  static const struct {
    const char *api_version, *kind, *fields;
  } kinds[] = {
    { "v1", "Namespace", "'spec': {'finalizers': ['kubernetes']}, 'status': {'phase': 'Active'}" },
    { "v1", "ConfigMap",
      "'data': {'a.conf': 'x'}, 'binaryData': {'b': 'AA=='}, 'immutable': true" },
    { "v1", "Secret",
      "'data': {'k': 'dg=='}, 'stringData': {'s': 'v'}, 'type': 'Opaque', 'immutable': false" },
    { "v1", "Event",
      "'involvedObject': {'kind': 'Pod', 'name': 'p'}, 'reason': 'Started', 'message': 'm',"
      "'source': {'component': 'kubelet', 'host': 'n1'}, 'firstTimestamp': 't',"
      "'lastTimestamp': 't', 'count': 2, 'type': 'Normal', 'eventTime': null,"
      "'series': {'count': 2, 'lastObservedTime': 't'}, 'action': 'Start',"
      "'related': {'kind': 'Node', 'name': 'n1'}, 'reportingComponent': 'kubelet',"
      "'reportingInstance': 'n1'" },
    { "v1", "Node", "'spec': {'podCIDR': '10.1.0.0/24'}, 'status': {'phase': 'Running'}" },
    { "v1", "Pod", "'spec': {'containers': []}, 'status': {'phase': 'Pending'}" },
    { "v1", "Binding", "'target': {'apiVersion': 'v1', 'kind': 'Node', 'name': 'n1'}" },
    { "v1", "Service", "'spec': {'ports': [{'port': 80}]}, 'status': {'loadBalancer': {}}" },
    { "v1", "Endpoints",
      "'subsets': [{'addresses': [{'ip': '10.1.0.5', 'hostname': 'h', 'nodeName': 'n1',"
      "  'targetRef': {'kind': 'Pod', 'name': 'p'}}], 'notReadyAddresses': [],"
      "  'ports': [{'name': 'http', 'port': 80, 'protocol': 'TCP', 'appProtocol': 'http'}]}]" },
    { "v1", "ServiceAccount",
      "'secrets': [{'name': 's'}], 'imagePullSecrets': [{'name': 'r'}],"
      "'automountServiceAccountToken': false" },
    { "v1", "PersistentVolumeClaim",
      "'spec': {'accessModes': ['ReadWriteOnce']}, 'status': {'phase': 'Bound'}" },
    { "coordination.k8s.io/v1", "Lease",
      "'spec': {'holderIdentity': 'n1', 'leaseDurationSeconds': 40, 'acquireTime': 't',"
      "'renewTime': 't', 'leaseTransitions': 1, 'strategy': 'OldestEmulationVersion',"
      "'preferredHolder': 'n2'}" },
    { "apps/v1", "Deployment", "'spec': {'replicas': 1}, 'status': {'replicas': 1}" },
    { "apps/v1", "ReplicaSet",
      "'spec': {'replicas': 1, 'minReadySeconds': 0}, 'status': {'fullyLabeledReplicas': 1}" },
    { "apps/v1", "DaemonSet",
      "'spec': {'updateStrategy': {'type': 'OnDelete'}}, 'status': {'numberMisscheduled': 0}" },
    { "apps/v1", "StatefulSet",
      "'spec': {'serviceName': 's'}, 'status': {'currentRevision': 'r'}" },
    { "batch/v1", "Job", "'spec': {'completions': 1}, 'status': {'succeeded': 1, 'ready': 0}" },
    { "batch/v1", "CronJob", "'spec': {'schedule': '@daily'}, 'status': {}" },
    { "policy/v1", "PodDisruptionBudget",
      "'spec': {'minAvailable': '50%', 'unhealthyPodEvictionPolicy': 'AlwaysAllow'},"
      "'status': {'disruptedPods': {'web-1': 't'}, 'disruptionsAllowed': 1,"
      "  'conditions': [{'type': 'DisruptionAllowed', 'status': 'True'}]}" },
    { "scheduling.k8s.io/v1", "PriorityClass",
      "'value': 1000, 'globalDefault': false, 'description': 'd', 'preemptionPolicy': 'Never'" },
  };
  for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
    cr_assert(api_schema_known(kinds[i].api_version, kinds[i].kind), "%s", kinds[i].kind);
    cleanup_free char *good = xasprintf("{'apiVersion': '%s', 'kind': '%s', 'metadata': "
                                        "{'name': 'x', 'labels': {'a': 'b'}}, %s}",
                                        kinds[i].api_version, kinds[i].kind, kinds[i].fields);
    expect_json(kinds[i].api_version, kinds[i].kind, good, NONE);
    cleanup_free char *bad = xasprintf("{'apiVersion': '%s', 'kind': '%s', 'bogus': 1, %s, "
                                       "'metadata': {'labelz': {}}, 'Kind': 'x'}",
                                       kinds[i].api_version, kinds[i].kind, kinds[i].fields);
    expect_json(kinds[i].api_version, kinds[i].kind, bad,
                PATHS("bogus", "metadata.labelz", "Kind"));
  }
}

/* Fields of one kind are not known to another. */
Test(api_schema, kinds_do_not_share_fields)
{
  expect_json("v1", "ConfigMap", "{'stringData': {}, 'spec': {}}", PATHS("stringData", "spec"));
  expect_json("v1", "Secret", "{'binaryData': {}}", PATHS("binaryData"));
  expect_json("apps/v1", "ReplicaSet", "{'spec': {'strategy': {}, 'updateStrategy': {}}}",
              PATHS("spec.strategy", "spec.updateStrategy"));
  expect_json("v1", "Endpoints", "{'spec': {}}", PATHS("spec"));
}

/* ---- nested unknown fields ---------------------------------------------- */

Test(api_schema, nested_paths)
{
  expect_json("v1", "Pod", "{'spec': {'containers': [{'name': 'a', 'bogus': 1}]}}",
              PATHS("spec.containers[0].bogus"));
  expect_json("apps/v1", "Deployment",
              "{'spec': {'template': {'spec': {'containers': [{'name': 'a'},"
              "  {'name': 'b', 'ports': [{'containerPorts': 80}]}]}}}}",
              PATHS("spec.template.spec.containers[1].ports[0].containerPorts"));
  expect_json(
      "v1", "Pod",
      "{'metadata': {'name': 'p', 'ownerReferences': [{'kind': 'X', 'controler': true}],"
      "  'managedFields': [{'manager': 'm', 'fieldsV2': {}}]},"
      " 'spec': {'volumes': [{'name': 'a', 'emptyDir': {}}, {'name': 'b', 'csi':"
      "   {'driver': 'd', 'nodePublishSecretRef': {'nam': 'x'}}},"
      "   {'name': 'c', 'projected': {'sources': [{'secret': {'name': 's'}},"
      "     {'serviceAccountToken': {'audiences': ['a']}}]}}],"
      "  'affinity': {'podAntiAffinity': {'preferredDuringSchedulingIgnoredDuringExecution':"
      "   [{'weight': 1, 'podAffinityTerm': {'labelSelector': {'matchExpressions':"
      "     [{'key': 'k', 'operator': 'In', 'valuez': ['v']}]}}}]}},"
      "  'initContainers': [{'name': 'i', 'env': [{'name': 'E', 'valueFrom':"
      "   {'secretKeyRef': {'name': 's', 'key': 'k', 'optinal': true}}}]}]},"
      " 'status': {'containerStatuses': [{'state': {'running': {'startedAt': 't',"
      "   'since': 't'}}}]}}",
      PATHS("metadata.ownerReferences[0].controler", "metadata.managedFields[0].fieldsV2",
            "spec.volumes[1].csi.nodePublishSecretRef.nam",
            "spec.volumes[2].projected.sources[1].serviceAccountToken.audiences",
            "spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution"
            "[0].podAffinityTerm.labelSelector.matchExpressions[0].valuez",
            "spec.initContainers[0].env[0].valueFrom.secretKeyRef.optinal",
            "status.containerStatuses[0].state.running.since"));
  expect_json("batch/v1", "CronJob",
              "{'spec': {'jobTemplate': {'spec': {'template': {'spec': {'initContainers': [{"
              "  'securityContext': {'capabilities': {'addd': ['X']}}}]}}}}}}",
              PATHS("spec.jobTemplate.spec.template.spec.initContainers[0].securityContext."
                    "capabilities.addd"));
  expect_json("apps/v1", "StatefulSet",
              "{'spec': {'volumeClaimTemplates': [{'metadata': {'name': 'd'}, 'spec': "
              "{'resources': {'requests': {'storage': '1Gi'}, 'claims': []}}}]}}",
              PATHS("spec.volumeClaimTemplates[0].spec.resources.claims"));
}

/* Every unknown field is reported, in the order of the object's keys; an
 * unknown field's own contents are not looked into. */
Test(api_schema, order_and_unknown_subtrees)
{
  expect_json("v1", "Pod",
              "{'zeta': {'bogus': 1}, 'spec': {'b': 1, 'containers': [{'x': 1, 'name': 'n',"
              " 'y': {'z': 1}}, {'x': 2}], 'a': 1}, 'alpha': [1]}",
              PATHS("zeta", "spec.b", "spec.containers[0].x", "spec.containers[0].y",
                    "spec.containers[1].x", "spec.a", "alpha"));
  /* Case matters, as for Kubernetes: DaemonEndpoint's field really is "Port". */
  expect_json("v1", "Node",
              "{'Metadata': {}, 'status': {'daemonEndpoints': {'kubeletEndpoint': "
              "{'Port': 10250, 'port': 1}}}}",
              PATHS("Metadata", "status.daemonEndpoints.kubeletEndpoint.port"));
}

/* ---- maps and free-form fields ----------------------------------------- */

Test(api_schema, maps_take_any_key)
{
  expect_json("v1", "Pod",
              "{'metadata': {'labels': {'bogus': 'x', 'a/b': 'c'}, 'annotations': {'spec': '{}'}},"
              " 'spec': {'nodeSelector': {'containers': 'x'}, 'overhead': {'bogus': '1'},"
              "  'containers': [{'resources': {'limits': {'example.com/dongle': 1,"
              "   'bogus': '1'}, 'requests': {'x': {'nested': 'object'}}}}]}}",
              NONE);
  expect_json("v1", "ConfigMap",
              "{'data': {'name': 'x', 'metadata': 'y', 'game.properties': 'z'},"
              " 'binaryData': {'kind': 'AA=='}}",
              NONE);
  expect_json("v1", "Secret", "{'data': {'tls.crt': 'AA=='}, 'stringData': {'anything': 'v'}}",
              NONE);
  expect_json("v1", "Node", "{'status': {'capacity': {'hugepages-2Mi': '0', 'pods': '110'}}}",
              NONE);
  /* Free-form (FieldsV1): never walked. */
  expect_json("v1", "Pod",
              "{'metadata': {'managedFields': [{'fieldsV1': {'f:metadata': {'bogus': 1}}}]}}",
              NONE);
}

/* Where the JSON type is wrong, nothing is reported: validation says so. */
Test(api_schema, type_mismatches_are_not_unknown_fields)
{
  expect_json("v1", "Pod",
              "{'metadata': 'x', 'spec': {'containers': {'bogus': 1}, 'volumes': [1, 'a', null,"
              " [{'bogus': 1}], {'name': 'v', 'bogus': 2}], 'affinity': []}, 'status': 7}",
              PATHS("spec.volumes[4].bogus"));
  expect_json("v1", "Pod", "[{'bogus': 1}]", NONE);
  expect_json("v1", "Pod", "'text'", NONE);
  cr_assert_null(api_unknown_fields("v1", "Pod", NULL));
  expect_json("v1", "Pod", "{}", NONE);
}

/* ---- kinds without a schema ---------------------------------------------- */

Test(api_schema, unknown_kinds)
{
  static const char *const missing[][2] = {
    { "v1", "PodTemplate" },         { "v1", "Deployment" }, { "apps/v1beta1", "Deployment" },
    { "extensions/v1beta1", "Job" }, { "v1", "pod" },        { "", "Pod" },
    { "example.com/v1", "Widget" },  { "apps/v1", "" },      { "batch/v2", "CronJob" },
  };
  json_t *obj = J("{'bogus': 1, 'spec': {'bogus': 2}}");
  for (size_t i = 0; i < ARRAY_SIZE(missing); i++) {
    cr_assert_not(api_schema_known(missing[i][0], missing[i][1]), "%s %s", missing[i][0],
                  missing[i][1]);
    cr_assert_null(api_unknown_fields(missing[i][0], missing[i][1], obj));
  }
  cr_assert_not(api_schema_known(NULL, "Pod"));
  cr_assert_not(api_schema_known("v1", NULL));
  cr_assert_null(api_unknown_fields(NULL, NULL, obj));
  json_decref(obj);
}

/* ---- the walk itself, on tables of the test's own ---------------------- */

static const schema_type_t rec;
static const schema_field_t leaf_fields[] = { SCALAR("x") };
static const schema_type_t leaf = { leaf_fields, ARRAY_SIZE(leaf_fields) };
static const schema_field_t rec_fields[] = {
  OBJECT("child", rec), ARRAY("items", rec), MAP_OF("byName", leaf),
  MAP("tags"),          ANY("raw"),          SCALAR("x"),
};
static const schema_type_t rec = { rec_fields, ARRAY_SIZE(rec_fields) };

Test(api_schema, map_of_objects)
{
  json_t *obj = J("{'byName': {'a': {'x': 1}, 'b': {'x': 2, 'y': 3}, 'c': 5}, 'tags': {'t': {}}}");
  cleanup_strv char **got = schema_unknown_fields(&rec, obj);
  cr_assert_not_null(got);
  cr_assert_eq(strv_len(got), 1);
  cr_assert_str_eq(got[0], "byName.b.y");
  json_decref(obj);
}

/* A chain of n objects under key, with leaf at the bottom. */
static json_t *chain(const char *key, size_t n, json_t *leaf_value)
{
  json_t *v = leaf_value;
  for (size_t i = 0; i < n; i++) {
    json_t *o = json_object();
    json_object_set_new(o, key, v);
    v = o;
  }
  return v;
}

Test(api_schema, depth_is_capped)
{
  /* 50 levels of known schema: walked to the bottom. */
  json_t *shallow = chain("child", 49, J("{'bogus': 1}"));
  cleanup_strv char **got = schema_unknown_fields(&rec, shallow);
  cr_assert_not_null(got);
  cr_assert_eq(strv_len(got), 1);
  cr_assert(str_has_prefix(got[0], "child.child."));
  cr_assert(str_has_suffix(got[0], ".child.bogus"));
  json_decref(shallow);

  /* 10,000 levels: nothing beyond SCHEMA_MAX_DEPTH is looked at. */
  json_t *deep = chain("child", 10000, J("{'bogus': 1}"));
  cr_assert_null(schema_unknown_fields(&rec, deep));
  json_t *deep_items = chain("items", 10000, J("{'bogus': 1}"));
  /* chain() built objects; turn every level into a one-element array. */
  for (json_t *o = deep_items; o;) {
    json_t *next = json_object_get(o, "items");
    if (!json_is_object(next))
      break;
    json_t *arr = json_array();
    json_array_append(arr, next);
    json_object_set_new(o, "items", arr);
    o = next;
  }
  cr_assert_null(schema_unknown_fields(&rec, deep_items));
  json_decref(deep);
  json_decref(deep_items);
}

Test(api_schema, hostile_nesting_in_maps_and_free_form)
{
  json_t *deep = chain("bogus", 10000, json_integer(1));
  json_t *pod = J("{'metadata': {'labels': {}, 'managedFields': [{}]}, 'spec': {}}");
  json_t *meta = json_object_get(pod, "metadata");
  json_object_set(json_object_get(meta, "labels"), "x", deep);
  json_object_set(json_array_get(json_object_get(meta, "managedFields"), 0), "fieldsV1", deep);
  json_object_set(json_object_get(pod, "spec"), "nodeSelector", deep);
  expect_paths("v1", "Pod", pod, NONE);
  /* Under an unknown field: reported, not walked. */
  json_object_set(json_object_get(pod, "spec"), "bogus", deep);
  expect_paths("v1", "Pod", pod, PATHS("spec.bogus"));
  json_decref(deep);
  json_decref(pod);
}

Test(api_schema, huge_arrays)
{
  /* 200,000 containers, each with one unknown field: the first 100 are
   * reported, as Kubernetes caps its strict errors at 100. */
  json_t *pod = J("{'spec': {'containers': []}}");
  json_t *cs = json_object_get(json_object_get(pod, "spec"), "containers");
  json_t *c = J("{'name': 'c', 'bogus': 1}");
  for (size_t i = 0; i < 200000; i++)
    json_array_append(cs, c);
  json_decref(c);
  cleanup_strv char **got = api_unknown_fields("v1", "Pod", pod);
  cr_assert_eq(strv_len(got), SCHEMA_MAX_UNKNOWN);
  cr_assert_str_eq(got[0], "spec.containers[0].bogus");
  cr_assert_str_eq(got[SCHEMA_MAX_UNKNOWN - 1], "spec.containers[99].bogus");
  json_decref(pod);

  /* A million scalars where objects are expected, and a million known
   * objects: nothing to report. */
  pod = J("{'spec': {'volumes': [], 'tolerations': []}}");
  json_t *vols = json_object_get(json_object_get(pod, "spec"), "volumes");
  json_t *tols = json_object_get(json_object_get(pod, "spec"), "tolerations");
  json_t *tol = J("{'key': 'k', 'operator': 'Exists'}");
  for (size_t i = 0; i < 1000000; i++) {
    json_array_append_new(vols, json_integer((json_int_t)i));
    json_array_append(tols, tol);
  }
  expect_paths("v1", "Pod", pod, NONE);
  json_decref(tol);
  json_decref(pod);
}
