{{/* Names, labels and the pieces several templates share. */}}

{{- define "hawk.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's base name; 40 characters leave room for suffixes such as -sandbox-runner. */}}
{{- define "hawk.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "hawk.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hawk.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "hawk.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "hawk.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Labels of one component: (dict "root" $ "component" "webserver"). */}}
{{- define "hawk.componentLabels" -}}
{{ include "hawk.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "hawk.componentSelector" -}}
{{ include "hawk.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Labels the launcher puts on run pods; the runner NetworkPolicy selects them. */}}
{{- define "hawk.runnerLabels" -}}
{{ include "hawk.selectorLabels" . }}
hawk/role: runner
{{- end -}}

{{- define "hawk.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The namespace of run pods. */}}
{{- define "hawk.runsNamespace" -}}
{{- default .Release.Namespace .Values.runLauncher.config.k8sRunLauncher.jobNamespace -}}
{{- end -}}

{{/* The namespaces that need the shared ConfigMaps and Secrets, comma-separated: the release's and the runs'. */}}
{{- define "hawk.namespaces" -}}
{{- $runs := include "hawk.runsNamespace" . -}}
{{- if eq $runs .Release.Namespace -}}
{{- .Release.Namespace -}}
{{- else -}}
{{- printf "%s,%s" .Release.Namespace $runs -}}
{{- end -}}
{{- end -}}

{{- define "hawk.codeLocationName" -}}
{{- printf "%s-code-%s" (include "hawk.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "hawk.serviceAccountName" -}}
{{- printf "%s-%s" (include "hawk.fullname" .root) .role -}}
{{- end -}}

{{- define "hawk.sandboxRunnerRole" -}}
{{- printf "%s-sandbox-runner" (include "hawk.fullname" .) -}}
{{- end -}}

{{/* Listing pods and events in a sandbox namespace (`hawk status`); the launcher binds it there to the code location. */}}
{{- define "hawk.sandboxStatusRole" -}}
{{- printf "%s-sandbox-status" (include "hawk.fullname" .) -}}
{{- end -}}

{{/* Who lists an eval set's pods and events (status reports): the code location (`hawk status`) and the API service. */}}
{{- define "hawk.statusReaders" -}}
{{- $readers := list (include "hawk.serviceAccountName" (dict "root" . "role" "code-location")) -}}
{{- if .Values.apiServer.enabled -}}
{{- $readers = append $readers (include "hawk.serviceAccountName" (dict "root" . "role" "api")) -}}
{{- end -}}
{{- toYaml $readers -}}
{{- end -}}

{{- define "hawk.instanceConfigMap" -}}
{{- printf "%s-instance" (include "hawk.fullname" .) -}}
{{- end -}}

{{- define "hawk.envConfigMap" -}}
{{- printf "%s-env" (include "hawk.fullname" .) -}}
{{- end -}}

{{/* Secrets: the chart's own when values give a literal, else the existing Secret named in values. */}}
{{- define "hawk.postgresqlSecretName" -}}
{{- if .Values.postgresql.postgresqlPassword -}}
{{- printf "%s-postgresql" (include "hawk.fullname" .) -}}
{{- else -}}
{{- .Values.postgresql.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "hawk.warehouseSecretName" -}}
{{- if .Values.warehouse.url -}}
{{- printf "%s-warehouse" (include "hawk.fullname" .) -}}
{{- else -}}
{{- .Values.warehouse.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "hawk.warehouseSecretKey" -}}
{{- if .Values.warehouse.url -}}HAWK_WAREHOUSE_URL{{- else -}}{{ .Values.warehouse.existingSecretKey }}{{- end -}}
{{- end -}}

{{- define "hawk.storageSecretName" -}}
{{- if .Values.storage.credentials.accessKeyId -}}
{{- printf "%s-storage" (include "hawk.fullname" .) -}}
{{- else -}}
{{- .Values.storage.credentials.existingSecret -}}
{{- end -}}
{{- end -}}

{{/* The bucket and the key prefix of storage.root (s3://bucket/prefix). */}}
{{- define "hawk.storageBucket" -}}
{{- regexReplaceAll "^s3://([^/]+).*$" .Values.storage.root "${1}" -}}
{{- end -}}

{{- define "hawk.storagePrefix" -}}
{{- regexReplaceAll "^s3://[^/]+/?" .Values.storage.root "" | trimSuffix "/" -}}
{{- end -}}

{{/*
Environment variables from Secrets, as a list of dicts: (dict "root" $ "warehouse" true "storage" true).
The Dagster PostgreSQL password (but not for run pods: the launcher adds it from postgres_password_secret); the
warehouse URL and S3 keys only for the processes that use them.
*/}}
{{- define "hawk.secretEnv" -}}
{{- $root := .root -}}
{{- $env := list -}}
{{- if not .runPod -}}
{{- $env = append $env (dict "name" "DAGSTER_PG_PASSWORD" "valueFrom" (dict "secretKeyRef" (dict "name" (include "hawk.postgresqlSecretName" $root) "key" "postgresql-password"))) -}}
{{- end -}}
{{- if .warehouse -}}
{{- $env = append $env (dict "name" "HAWK_WAREHOUSE_URL" "valueFrom" (dict "secretKeyRef" (dict "name" (include "hawk.warehouseSecretName" $root) "key" (include "hawk.warehouseSecretKey" $root)))) -}}
{{- end -}}
{{- $storageSecret := include "hawk.storageSecretName" $root -}}
{{- if and .storage $storageSecret -}}
{{- range $key := list "AWS_ACCESS_KEY_ID" "AWS_SECRET_ACCESS_KEY" -}}
{{- $env = append $env (dict "name" $key "valueFrom" (dict "secretKeyRef" (dict "name" $storageSecret "key" $key))) -}}
{{- end -}}
{{- end -}}
{{- toYaml $env -}}
{{- end -}}

{{/* Container env for a Dagster process: (dict "root" $ "warehouse" bool "storage" bool "extra" map). */}}
{{- define "hawk.containerEnv" -}}
env:
  - name: DAGSTER_HOME
    value: {{ .root.Values.global.dagsterHome | quote }}
{{ include "hawk.secretEnv" . | indent 2 }}
{{- range $name, $value := .extra }}
  - name: {{ $name }}
    value: {{ $value | toString | quote }}
{{- end }}
envFrom:
  - configMapRef:
      name: {{ include "hawk.envConfigMap" .root }}
{{- end -}}

{{/* Pod and container security contexts: the chart's, with a component's own keys on top. */}}
{{- define "hawk.podSecurityContext" -}}
{{- toYaml (mergeOverwrite (deepCopy .root.Values.podSecurityContext) (deepCopy (default dict .override))) -}}
{{- end -}}

{{- define "hawk.securityContext" -}}
{{- toYaml (mergeOverwrite (deepCopy .root.Values.securityContext) (deepCopy (default dict .override))) -}}
{{- end -}}

{{/* A webserver probe: under a path prefix the webserver serves /server_info there too, and nothing at the root. */}}
{{- define "hawk.webserverProbe" -}}
{{- $probe := deepCopy .probe -}}
{{- if and .prefix $probe.httpGet $probe.httpGet.path (not (hasPrefix .prefix $probe.httpGet.path)) -}}
{{- $_ := set $probe.httpGet "path" (printf "%s%s" .prefix $probe.httpGet.path) -}}
{{- end -}}
{{- toYaml $probe -}}
{{- end -}}

{{/* The writable places of a read-only root filesystem. */}}
{{- define "hawk.writableMounts" -}}
- name: tmp
  mountPath: /tmp
- name: work
  mountPath: {{ .Values.workDir }}
{{- end -}}

{{- define "hawk.writableVolumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: 1Gi
- name: work
  emptyDir:
    sizeLimit: 2Gi
{{- end -}}

{{- define "hawk.scheduling" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* The workspace: one gRPC server per code location. */}}
{{- define "hawk.workspaceYaml" -}}
{{- $root := . -}}
{{- $servers := list -}}
{{- range (index .Values "dagster-user-deployments").deployments -}}
{{- $servers = append $servers (dict "grpc_server" (dict "host" (include "hawk.codeLocationName" (dict "root" $root "name" .name)) "port" (int (default 3030 .port)) "location_name" .name)) -}}
{{- end -}}
{{- toYaml (dict "load_from" $servers) -}}
{{- end -}}

{{/* The run coordinator's tag limits: one run per partition, per submitter, and the operator's own. */}}
{{- define "hawk.tagConcurrencyLimits" -}}
{{- $q := .Values.dagsterDaemon.runCoordinator.config.queuedRunCoordinator -}}
{{- $limits := list -}}
{{- if $q.oneRunPerPartition -}}
{{- $limits = append $limits (dict "key" "dagster/partition" "value" (dict "applyLimitPerUniqueValue" true) "limit" 1) -}}
{{- end -}}
{{- if gt (int $q.maxConcurrentRunsPerUser) 0 -}}
{{- $limits = append $limits (dict "key" "hawk/created_by" "value" (dict "applyLimitPerUniqueValue" true) "limit" (int $q.maxConcurrentRunsPerUser)) -}}
{{- end -}}
{{- range $q.tagConcurrencyLimits -}}
{{- $limits = append $limits . -}}
{{- end -}}
{{- toYaml $limits -}}
{{- end -}}

{{/* Dagster's PostgreSQL storage, the password from the environment (DAGSTER_PG_PASSWORD), never in the file. */}}
{{- define "hawk.storageConfig" -}}
{{- $pg := .Values.postgresql -}}
{{- $db := dict "username" $pg.postgresqlUsername "password" (dict "env" "DAGSTER_PG_PASSWORD") "hostname" $pg.postgresqlHost "db_name" $pg.postgresqlDatabase "port" (int $pg.service.port) "scheme" $pg.postgresqlScheme -}}
{{- with $pg.postgresqlParams -}}
{{- $_ := set $db "params" . -}}
{{- end -}}
{{- dict "postgres" (dict "postgres_db" $db) | toYaml -}}
{{- end -}}

{{/* The launcher's config: dagster_k8s.K8sRunLauncher's keys, plus hawk's sandbox block and scan_buffer_dir. */}}
{{- define "hawk.launcherConfig" -}}
{{- $root := . -}}
{{- $k := .Values.runLauncher.config.k8sRunLauncher -}}
{{- $labels := merge (include "hawk.runnerLabels" . | fromYaml) (deepCopy $k.labels) -}}
{{- $mounts := list (dict "name" "tmp" "mountPath" "/tmp") (dict "name" "work" "mountPath" .Values.workDir) -}}
{{- $volumes := list (dict "name" "tmp" "emptyDir" (dict "sizeLimit" .Values.runner.tmpSizeLimit)) (dict "name" "work" "emptyDir" (dict "sizeLimit" .Values.runner.workDirSizeLimit)) -}}
{{- if .Values.scanBuffer.enabled -}}
{{- $mounts = append $mounts (dict "name" "scanbuffer" "mountPath" .Values.scanBuffer.mountPath) -}}
{{- $volumes = append $volumes (dict "name" "scanbuffer" "persistentVolumeClaim" (dict "claimName" (include "hawk.scanBufferClaim" .))) -}}
{{- end -}}
{{- $envConfigMaps := prepend $k.envConfigMaps (include "hawk.envConfigMap" .) -}}
{{- $rk := $k.runK8sConfig -}}
{{- $container := deepCopy (default dict $rk.containerConfig) -}}
{{- $_ := set $container "env" (concat (include "hawk.secretEnv" (dict "root" . "warehouse" true "storage" true "runPod" true) | fromYamlArray) (default list $container.env)) -}}
{{- if not (hasKey $container "workingDir") -}}
{{- $_ := set $container "workingDir" .Values.workDir -}}
{{- end -}}
{{- $podSpec := mergeOverwrite (dict "securityContext" (deepCopy .Values.podSecurityContext) "enableServiceLinks" false) (deepCopy (default dict $rk.podSpecConfig)) -}}
{{- $podMeta := deepCopy (default dict $rk.podTemplateSpecMetadata) -}}
{{- $_ := set $podMeta "annotations" (merge (dict "hawk/release" .Release.Name) (default dict $podMeta.annotations)) -}}
{{- $cfg := dict
    "job_namespace" (include "hawk.runsNamespace" .)
    "service_account_name" (include "hawk.serviceAccountName" (dict "root" . "role" "runner"))
    "instance_config_map" (include "hawk.instanceConfigMap" .)
    "postgres_password_secret" (include "hawk.postgresqlSecretName" .)
    "dagster_home" .Values.global.dagsterHome
    "image_pull_policy" (default .Values.image.pullPolicy $k.imagePullPolicy)
    "load_incluster_config" $k.loadInclusterConfig
    "env_config_maps" $envConfigMaps
    "env_secrets" $k.envSecrets
    "env_vars" $k.envVars
    "volume_mounts" (concat $mounts $k.volumeMounts)
    "volumes" (concat $volumes $k.volumes)
    "labels" $labels
    "resources" $k.resources
    "security_context" (mergeOverwrite (deepCopy .Values.securityContext) (deepCopy $k.securityContext))
    "fail_pod_on_run_failure" $k.failPodOnRunFailure
    "run_k8s_config" (dict "container_config" $container "pod_spec_config" $podSpec "pod_template_spec_metadata" $podMeta "job_spec_config" (default dict $rk.jobSpecConfig) "job_metadata" (default dict $rk.jobMetadata))
-}}
{{- if $k.image.repository -}}
{{- $_ := set $cfg "job_image" (printf "%s:%s" $k.image.repository (default (default .Chart.AppVersion .Values.image.tag) $k.image.tag)) -}}
{{- end -}}
{{- with .Values.imagePullSecrets -}}
{{- $_ := set $cfg "image_pull_secrets" . -}}
{{- end -}}
{{- with $k.schedulerName -}}
{{- $_ := set $cfg "scheduler_name" . -}}
{{- end -}}
{{- with $k.onlyAllowUserDefinedK8sConfigFields -}}
{{- $_ := set $cfg "only_allow_user_defined_k8s_config_fields" . -}}
{{- end -}}
{{- $_ := set $cfg "sandbox" (include "hawk.sandboxConfig" . | fromYaml) -}}
{{- if .Values.scanBuffer.enabled -}}
{{- $_ := set $cfg "scan_buffer_dir" .Values.scanBuffer.mountPath -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/*
HawkK8sRunLauncher's sandbox block (hawk_dagster.deployment.k8s_launcher.SANDBOX_CONFIG; tests feed it to the
launcher). Sandbox policies are plain NetworkPolicies under either provider: Cilium enforces them, and the launcher
makes no CiliumNetworkPolicy, so sandbox egress has no fqdns.
*/}}
{{- define "hawk.sandboxConfig" -}}
{{- $s := .Values.sandbox -}}
{{- $np := .Values.networkPolicy -}}
{{- $egress := list -}}
{{- range $s.networkPolicy.egress -}}
{{- $ports := list -}}
{{- range (default list .ports) -}}
{{- $ports = append $ports (dict "port" (int .port) "protocol" (default "TCP" .protocol)) -}}
{{- end -}}
{{- $egress = append $egress (dict "name" .name "cidrs" .cidrs "except" (default list .except) "ports" $ports) -}}
{{- end -}}
{{- $cfg := dict
    "enabled" $s.enabled
    "namespace_prefix" $s.namespacePrefix
    "namespace_labels" (merge (dict "app.kubernetes.io/instance" .Release.Name) (deepCopy $s.namespaceLabels))
    "namespace_annotations" $s.namespaceAnnotations
    "pod_security_standard" $s.podSecurityStandard
    "delete_namespace_on_finish" $s.deleteNamespaceOnFinish
    "cleanup_grace_seconds" (int $s.cleanupGraceSeconds)
    "runner_cluster_role" (include "hawk.sandboxRunnerRole" .)
    "runner_service_account" (include "hawk.serviceAccountName" (dict "root" . "role" "runner"))
    "allow_intra_namespace" $s.networkPolicy.allowIntraNamespace
    "network_policy" (dict
        "enabled" (and $s.networkPolicy.enabled $np.enabled)
        "provider" "kubernetes"
        "dns" (dict "namespace" $np.dns.namespace "pod_labels" $np.dns.podLabels "port" (int $np.dns.port))
        "egress" $egress)
-}}
{{- if .Values.rbac.create -}}
{{- $_ := set $cfg "status_reader" (dict
    "cluster_role" (include "hawk.sandboxStatusRole" .)
    "service_accounts" (include "hawk.statusReaders" . | fromYamlArray)
    "namespace" .Release.Namespace) -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/* The scan buffer's claim: the operator's, else the chart's (scanBuffer.enabled). */}}
{{- define "hawk.scanBufferClaim" -}}
{{- default (printf "%s-scanbuffer" (include "hawk.fullname" .)) .Values.scanBuffer.existingClaim -}}
{{- end -}}

{{/*
dagster.yaml. (dict "root" $ "migrate" true) is the hook's copy: storage only, no launcher (the hook runs before
the release's service accounts exist and talks to no cluster API).
*/}}
{{- define "hawk.instanceYaml" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $instance := dict
    "telemetry" (dict "enabled" false)
    "nux" (dict "enabled" false)
    "storage" (include "hawk.storageConfig" $root | fromYaml)
    "local_artifact_storage" (dict "module" "dagster._core.storage.root" "class" "LocalArtifactStorage" "config" (dict "base_dir" (printf "%s/dagster" $v.workDir)))
-}}
{{- if not .migrate -}}
{{- $q := $v.dagsterDaemon.runCoordinator.config.queuedRunCoordinator -}}
{{- $coordinator := dict "max_concurrent_runs" (int $q.maxConcurrentRuns) "tag_concurrency_limits" (include "hawk.tagConcurrencyLimits" $root | fromYamlArray) -}}
{{- if $q.dequeueIntervalSeconds -}}
{{- $_ := set $coordinator "dequeue_interval_seconds" (int $q.dequeueIntervalSeconds) -}}
{{- end -}}
{{- $_ := set $instance "run_coordinator" (dict "module" "dagster.core.run_coordinator" "class" "QueuedRunCoordinator" "config" $coordinator) -}}
{{- $_ := set $instance "run_launcher" (dict "module" "hawk_dagster.deployment.k8s_launcher" "class" $v.runLauncher.type "config" (include "hawk.launcherConfig" $root | fromYaml)) -}}
{{- $_ := set $instance "scheduler" (dict "module" "dagster._core.scheduler" "class" "DagsterDaemonScheduler") -}}
{{- $m := $v.dagsterDaemon.runMonitoring -}}
{{- $_ := set $instance "run_monitoring" (dict "enabled" $m.enabled "start_timeout_seconds" (int $m.startTimeoutSeconds) "cancel_timeout_seconds" (int $m.cancelTimeoutSeconds) "poll_interval_seconds" (int $m.pollIntervalSeconds) "max_resume_run_attempts" (int $m.maxResumeRunAttempts) "free_slots_after_run_end_seconds" (int $m.freeSlotsAfterRunEndSeconds)) -}}
{{- $s3 := $v.computeLogManager.config.s3ComputeLogManager -}}
{{- $prefix := $s3.prefix -}}
{{- if not $prefix -}}
{{- $prefix = trimPrefix "/" (printf "%s/dagster/compute-logs" (include "hawk.storagePrefix" $root)) -}}
{{- end -}}
{{- $logs := dict "bucket" (default (include "hawk.storageBucket" $root) $s3.bucket) "prefix" $prefix "local_dir" "/tmp/dagster-compute-logs" "skip_empty_files" $s3.skipEmptyFiles "show_url_only" $s3.showUrlOnly -}}
{{- if $s3.uploadInterval -}}
{{- $_ := set $logs "upload_interval" (int $s3.uploadInterval) -}}
{{- end -}}
{{- with $v.storage.endpointUrl -}}
{{- $_ := set $logs "endpoint_url" . -}}
{{- end -}}
{{- with $v.storage.region -}}
{{- $_ := set $logs "region" . -}}
{{- end -}}
{{- $_ := set $instance "compute_logs" (dict "module" "dagster_aws.s3.compute_log_manager" "class" "S3ComputeLogManager" "config" $logs) -}}
{{- end -}}
{{- toYaml $instance -}}
{{- end -}}

{{/* Checksums that roll the pods when what they read at start changes. */}}
{{- define "hawk.configChecksums" -}}
checksum/instance: {{ include "hawk.instanceYaml" (dict "root" . "migrate" false) | sha256sum }}
checksum/env: {{ include (print .Template.BasePath "/configmap-env.yaml") . | sha256sum }}
checksum/secrets: {{ include (print .Template.BasePath "/secrets.yaml") . | sha256sum }}
{{- end -}}

{{/* The API service's settings (hawk serve): sign-in and access control. Plain values: no secret here. */}}
{{/* The URL browsers reach the API service at: apiServer.publicUrl, else https://<ingress host> when the Ingress has TLS. */}}
{{- define "hawk.apiPublicUrl" -}}
{{- $a := .Values.apiServer -}}
{{- if $a.publicUrl -}}
{{- trimSuffix "/" $a.publicUrl -}}
{{- else if and $a.ingress.enabled $a.ingress.host $a.ingress.tls -}}
{{- printf "https://%s" $a.ingress.host -}}
{{- end -}}
{{- end -}}

{{- define "hawk.apiServerEnv" -}}
{{- $a := .Values.apiServer -}}
{{- $env := list
    (dict "name" "HAWK_OIDC_ISSUER" "value" $a.oidc.issuer)
    (dict "name" "HAWK_OIDC_AUDIENCE" "value" $a.oidc.audience)
    (dict "name" "HAWK_OIDC_PERMISSIONS_CLAIM" "value" $a.oidc.permissionsClaim)
    (dict "name" "HAWK_MODEL_ACCESS_PREFIX" "value" $a.access.groupPrefix)
    (dict "name" "HAWK_EDIT_PERMISSION" "value" $a.access.editPermission)
    (dict "name" "HAWK_ADMIN_PERMISSION" "value" $a.access.adminPermission)
-}}
{{- with $a.oidc.clientId -}}
{{- $env = append $env (dict "name" "HAWK_OIDC_CLIENT_ID" "value" .) -}}
{{- end -}}
{{- with $a.oidc.scopes -}}
{{- $env = append $env (dict "name" "HAWK_OIDC_SCOPES" "value" .) -}}
{{- end -}}
{{- with $a.access.modelGroupsFile -}}
{{- $env = append $env (dict "name" "HAWK_MODEL_GROUPS_FILE" "value" .) -}}
{{- end -}}
{{- with $a.access.defaultGroup -}}
{{- $env = append $env (dict "name" "HAWK_DEFAULT_MODEL_GROUP" "value" .) -}}
{{- end -}}
{{- with $a.oidc.webClientId -}}
{{- $env = append $env (dict "name" "HAWK_OIDC_WEB_CLIENT_ID" "value" .) -}}
{{- end -}}
{{- with (include "hawk.apiPublicUrl" .) -}}
{{- $env = append $env (dict "name" "HAWK_PUBLIC_URL" "value" .) -}}
{{- end -}}
{{- with $a.webSignIn.existingSecret -}}
{{- $env = append $env (dict "name" "HAWK_SESSION_SECRET" "valueFrom" (dict "secretKeyRef" (dict "name" . "key" "HAWK_SESSION_SECRET"))) -}}
{{- $env = append $env (dict "name" "HAWK_OIDC_WEB_CLIENT_SECRET" "valueFrom" (dict "secretKeyRef" (dict "name" . "key" "HAWK_OIDC_WEB_CLIENT_SECRET" "optional" true))) -}}
{{- end -}}
{{- with $a.corsOrigins -}}
{{- $env = append $env (dict "name" "HAWK_API_CORS_ORIGINS" "value" (join "," .)) -}}
{{- end -}}
{{- with $a.maxBodyBytes -}}
{{- $env = append $env (dict "name" "HAWK_API_MAX_BODY_BYTES" "value" (toString (int .))) -}}
{{- end -}}
{{- range $name, $value := $a.env -}}
{{- $env = append $env (dict "name" $name "value" ($value | toString)) -}}
{{- end -}}
{{- toYaml $env -}}
{{- end -}}
