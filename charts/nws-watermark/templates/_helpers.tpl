{{/* Names, labels, images, security contexts, secrets and connection settings shared by every template. */}}

{{- define "nws.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "nws.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels of one component: (dict "ctx" $ "component" "api") */}}
{{- define "nws.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "nws.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: nws-watermark
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "nws.selectorLabels" -}}
app.kubernetes.io/name: {{ include "nws.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Every pod of this release, whatever its component. */}}
{{- define "nws.releaseSelector" -}}
app.kubernetes.io/name: {{ include "nws.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "nws.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{- define "nws.podSecurityContext" -}}
{{- toYaml .Values.podSecurityContext -}}
{{- end -}}

{{- define "nws.containerSecurityContext" -}}
{{- toYaml .Values.containerSecurityContext -}}
{{- end -}}

{{/*
A secret value generated once and kept across upgrades: the value already in the cluster's Secret
when there is one (lookup), else the given value, else a random one.
(dict "ctx" $ "secret" name "key" key "value" given "length" n)
*/}}
{{- define "nws.secretValue" -}}
{{- $existing := lookup "v1" "Secret" .ctx.Release.Namespace .secret -}}
{{- if and $existing $existing.data (hasKey $existing.data .key) -}}
{{- index $existing.data .key | b64dec -}}
{{- else if .value -}}
{{- .value -}}
{{- else -}}
{{- randAlphaNum (int .length) -}}
{{- end -}}
{{- end -}}

{{/* RabbitMQ ------------------------------------------------------------------------------ */}}
{{- define "nws.rabbitmq.fullname" -}}{{ include "nws.fullname" . }}-rabbitmq{{- end -}}
{{- define "nws.rabbitmq.headless" -}}{{ include "nws.fullname" . }}-rabbitmq-nodes{{- end -}}
{{- define "nws.rabbitmq.authSecret" -}}
{{- default (include "nws.rabbitmq.fullname" .) .Values.rabbitmq.auth.existingSecret -}}
{{- end -}}
{{- define "nws.rabbitmq.externalSecret" -}}
{{- default (printf "%s-rabbitmq-external" (include "nws.fullname" .)) .Values.rabbitmq.external.existingSecret -}}
{{- end -}}
{{/*
Where the broker comes from: builtin (the chart's StatefulSet), operator (a RabbitmqCluster for the
RabbitMQ Cluster Operator) or external. rabbitmq.enabled=false, the older switch, still means external.
*/}}
{{- define "nws.rabbitmq.mode" -}}
{{- if not .Values.rabbitmq.enabled -}}external{{- else -}}{{ .Values.rabbitmq.mode }}{{- end -}}
{{- end -}}
{{- define "nws.rabbitmq.builtin" -}}{{ if eq (include "nws.rabbitmq.mode" .) "builtin" }}true{{ end }}{{- end -}}
{{- define "nws.rabbitmq.operator" -}}{{ if eq (include "nws.rabbitmq.mode" .) "operator" }}true{{ end }}{{- end -}}
{{- define "nws.rabbitmq.external" -}}{{ if eq (include "nws.rabbitmq.mode" .) "external" }}true{{ end }}{{- end -}}
{{/* The RabbitmqCluster's name: the operator names its Service and <name>-default-user Secret after it. */}}
{{- define "nws.rabbitmq.operatorName" -}}
{{- default (include "nws.rabbitmq.fullname" .) .Values.rabbitmq.operator.name -}}
{{- end -}}
{{- define "nws.rabbitmq.operatorSecret" -}}{{ include "nws.rabbitmq.operatorName" . }}-default-user{{- end -}}
{{/* More than one node of a broker the chart runs (builtin or operator). */}}
{{- define "nws.rabbitmq.cluster" -}}
{{- if and (not (include "nws.rabbitmq.external" .)) (gt (int .Values.rabbitmq.replicas) 1) -}}true{{- end -}}
{{- end -}}
{{/* auto: quorum queues on a multi-node broker of the chart's, classic otherwise; or as set. */}}
{{- define "nws.queueType" -}}
{{- if ne .Values.rabbitmq.queueType "auto" -}}{{ .Values.rabbitmq.queueType }}
{{- else if include "nws.rabbitmq.cluster" . -}}quorum
{{- else -}}classic
{{- end -}}
{{- end -}}

{{/* Environment of a component that talks to RabbitMQ: RABBITMQ_URL (and the management URL). */}}
{{- define "nws.env.rabbitmq" -}}
{{- if include "nws.rabbitmq.builtin" . }}
- name: RABBITMQ_USERNAME
  valueFrom: { secretKeyRef: { name: {{ include "nws.rabbitmq.authSecret" . }}, key: username } }
- name: RABBITMQ_PASSWORD
  valueFrom: { secretKeyRef: { name: {{ include "nws.rabbitmq.authSecret" . }}, key: password } }
- name: RABBITMQ_URL
  value: {{ printf "amqp://$(RABBITMQ_USERNAME):$(RABBITMQ_PASSWORD)@%s:5672/%s" (include "nws.rabbitmq.fullname" .) (urlquery .Values.rabbitmq.vhost) | quote }}
{{- else if include "nws.rabbitmq.operator" . }}
{{- $secret := include "nws.rabbitmq.operatorSecret" . }}
# The operator's default user: its Secret holds username, password, host and port.
{{- range list "username" "password" "host" "port" }}
- name: RABBITMQ_{{ upper . }}
  valueFrom: { secretKeyRef: { name: {{ $secret }}, key: {{ . }} } }
{{- end }}
- name: RABBITMQ_URL
  value: {{ printf "amqp://$(RABBITMQ_USERNAME):$(RABBITMQ_PASSWORD)@$(RABBITMQ_HOST):$(RABBITMQ_PORT)/%s" (urlquery .Values.rabbitmq.vhost) | quote }}
{{- else }}
- name: RABBITMQ_URL
  valueFrom: { secretKeyRef: { name: {{ include "nws.rabbitmq.externalSecret" . }}, key: url } }
{{- end }}
- name: RABBITMQ_QUEUE_TYPE
  value: {{ include "nws.queueType" . | quote }}
- name: RABBITMQ_DELIVERY_LIMIT
  value: {{ .Values.rabbitmq.deliveryLimit | quote }}
{{- end -}}

{{- define "nws.env.rabbitmqManagement" -}}
{{- if include "nws.rabbitmq.builtin" . }}
- name: RABBITMQ_MANAGEMENT_URL
  value: {{ printf "http://$(RABBITMQ_USERNAME):$(RABBITMQ_PASSWORD)@%s:15672" (include "nws.rabbitmq.fullname" .) | quote }}
{{- else if include "nws.rabbitmq.operator" . }}
- name: RABBITMQ_MANAGEMENT_URL
  value: "http://$(RABBITMQ_USERNAME):$(RABBITMQ_PASSWORD)@$(RABBITMQ_HOST):15672"
{{- else }}
- name: RABBITMQ_MANAGEMENT_URL
  valueFrom: { secretKeyRef: { name: {{ include "nws.rabbitmq.externalSecret" . }}, key: management-url } }
{{- end }}
{{- end -}}

{{/* Redis --------------------------------------------------------------------------------- */}}
{{- define "nws.redis.fullname" -}}{{ include "nws.fullname" . }}-redis{{- end -}}
{{- define "nws.redis.authSecret" -}}
{{- default (include "nws.redis.fullname" .) .Values.redis.auth.existingSecret -}}
{{- end -}}
{{- define "nws.redis.externalSecret" -}}
{{- default (printf "%s-redis-external" (include "nws.fullname" .)) .Values.redis.external.existingSecret -}}
{{- end -}}

{{- define "nws.env.redis" -}}
{{- if .Values.redis.enabled }}
- name: REDIS_PASSWORD
  valueFrom: { secretKeyRef: { name: {{ include "nws.redis.authSecret" . }}, key: password } }
- name: REDIS_URL
  value: {{ printf "redis://:$(REDIS_PASSWORD)@%s:6379/0" (include "nws.redis.fullname" .) | quote }}
{{- else }}
- name: REDIS_URL
  valueFrom: { secretKeyRef: { name: {{ include "nws.redis.externalSecret" . }}, key: url } }
{{- end }}
- name: REDIS_KEY_PREFIX
  value: {{ .Values.redis.keyPrefix | quote }}
{{- end -}}

{{/* Object store ---------------------------------------------------------------------------- */}}
{{- define "nws.minio.fullname" -}}{{ include "nws.fullname" . }}-minio{{- end -}}
{{- define "nws.minio.authSecret" -}}
{{- default (include "nws.minio.fullname" .) .Values.minio.auth.existingSecret -}}
{{- end -}}
{{- define "nws.s3.externalSecret" -}}
{{- default (printf "%s-s3-external" (include "nws.fullname" .)) .Values.s3.existingSecret -}}
{{- end -}}

{{/*
The object store: minio or seaweedfs (run by the chart), or external (s3.*). minio.enabled=false, the
older switch, still means external.
*/}}
{{- define "nws.objectStore.engine" -}}
{{- if not .Values.minio.enabled -}}external{{- else -}}{{ .Values.objectStore.engine }}{{- end -}}
{{- end -}}
{{- define "nws.objectStore.inCluster" -}}{{ if ne (include "nws.objectStore.engine" .) "external" }}true{{ end }}{{- end -}}
{{- define "nws.objectStore.fullname" -}}{{ include "nws.fullname" . }}-{{ include "nws.objectStore.engine" . }}{{- end -}}
{{- define "nws.objectStore.displayName" -}}{{ ternary "SeaweedFS" "MinIO" (eq (include "nws.objectStore.engine" .) "seaweedfs") }}{{- end -}}
{{- define "nws.objectStore.port" -}}{{ ternary 8333 9000 (eq (include "nws.objectStore.engine" .) "seaweedfs") }}{{- end -}}
{{- define "nws.seaweedfs.fullname" -}}{{ include "nws.fullname" . }}-seaweedfs{{- end -}}
{{- define "nws.seaweedfs.authSecret" -}}
{{- default (include "nws.seaweedfs.fullname" .) .Values.seaweedfs.auth.existingSecret -}}
{{- end -}}

{{/* S3_ACCESS_KEY and S3_SECRET_KEY of the store in use, from its Secret. */}}
{{- define "nws.env.s3Credentials" -}}
{{- $engine := include "nws.objectStore.engine" . }}
{{- $secret := include "nws.s3.externalSecret" . }}
{{- $keys := list "access-key" "secret-key" }}
{{- if eq $engine "minio" }}
{{- $secret = include "nws.minio.authSecret" . }}
{{- $keys = list "root-user" "root-password" }}
{{- else if eq $engine "seaweedfs" }}
{{- $secret = include "nws.seaweedfs.authSecret" . }}
{{- end }}
- name: S3_ACCESS_KEY
  valueFrom: { secretKeyRef: { name: {{ $secret }}, key: {{ index $keys 0 }} } }
- name: S3_SECRET_KEY
  valueFrom: { secretKeyRef: { name: {{ $secret }}, key: {{ index $keys 1 }} } }
{{- end -}}

{{- define "nws.env.s3" -}}
- name: S3_ENDPOINT
{{- if include "nws.objectStore.inCluster" . }}
  value: {{ printf "http://%s:%s" (include "nws.objectStore.fullname" .) (include "nws.objectStore.port" .) | quote }}
{{- else }}
  value: {{ required "s3.endpoint is required when objectStore.engine is external" .Values.s3.endpoint | quote }}
{{- end }}
{{- include "nws.env.s3Credentials" . }}
- name: S3_BUCKET
  value: {{ .Values.s3.bucket | quote }}
- name: S3_REGION
  value: {{ .Values.s3.region | quote }}
{{- end -}}

{{/* api and worker: every backing service and the optimizer. */}}
{{- define "nws.env.backends" -}}
{{ include "nws.env.rabbitmq" . }}
{{ include "nws.env.redis" . }}
{{ include "nws.env.s3" . }}
- name: OPTIMIZER_URL
  value: {{ printf "http://%s-optimizer:%d" (include "nws.fullname" .) (int .Values.optimizer.port) | quote }}
{{- end -}}

{{- define "nws.env.extra" -}}
{{- range $name, $value := . }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/* Probes on the component's http port: alive, and dependencies answering. */}}
{{- define "nws.probes" -}}
startupProbe:
  httpGet: { path: /healthz, port: http }
  periodSeconds: 2
  failureThreshold: 30
livenessProbe:
  httpGet: { path: /healthz, port: http }
  periodSeconds: 10
  timeoutSeconds: 3
  failureThreshold: 3
readinessProbe:
  httpGet: { path: /readyz, port: http }
  periodSeconds: 5
  timeoutSeconds: 3
  failureThreshold: 2
{{- end -}}

{{- define "nws.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- end -}}

{{- define "nws.tmpMount" -}}
- name: tmp
  mountPath: /tmp
{{- end -}}

{{/* Scheduling and pull secrets of a component's pod: (dict "ctx" $ "values" .Values.api) */}}
{{- define "nws.podScheduling" -}}
{{- with .ctx.Values.imagePullSecrets }}
imagePullSecrets:
{{ toYaml . }}
{{- end }}
{{- with .values.nodeSelector }}
nodeSelector:
{{ toYaml . | indent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
{{ toYaml . }}
{{- end }}
{{- with .values.affinity }}
affinity:
{{ toYaml . | indent 2 }}
{{- end }}
{{- end -}}

{{/* NetworkPolicy peers: the pods of one component; the metrics scrapers on a port. */}}
{{- define "nws.np.peer" -}}
- podSelector:
    matchLabels:
      {{- include "nws.selectorLabels" . | nindent 6 }}
{{- end -}}
{{- define "nws.np.metrics" -}}
{{- with .ctx.Values.networkPolicy.metricsFrom }}
- from:
    {{- toYaml . | nindent 4 }}
  ports:
    - { port: {{ $.port }}, protocol: TCP }
{{- end }}
{{- end -}}

{{/* Persistence ----------------------------------------------------------------------------- */}}
{{/* The backing services the chart deploys with a PVC but no storageClass, comma-separated. */}}
{{- define "nws.persistence.unclassed" -}}
{{- $services := list -}}
{{- if and (not (include "nws.rabbitmq.external" .)) .Values.rabbitmq.persistence.enabled (not .Values.rabbitmq.persistence.storageClass) -}}
{{- $services = append $services "rabbitmq" -}}
{{- end -}}
{{- if and .Values.redis.enabled .Values.redis.persistence.enabled (not .Values.redis.persistence.storageClass) -}}
{{- $services = append $services "redis" -}}
{{- end -}}
{{- $engine := include "nws.objectStore.engine" . -}}
{{- if and (ne $engine "external") (index .Values $engine).persistence.enabled (not (index .Values $engine).persistence.storageClass) -}}
{{- $services = append $services $engine -}}
{{- end -}}
{{- join ", " $services -}}
{{- end -}}

{{/* The api's access: keys, signed URLs, limits (README "Security") ------------------------- */}}
{{- define "nws.api.keysSecret" -}}
{{- .Values.api.auth.existingSecret | default (printf "%s-api-keys" (include "nws.fullname" .)) -}}
{{- end -}}
{{- define "nws.api.keysSecretKey" -}}
{{- ternary .Values.api.auth.existingSecretKey "keys.yaml" (not (empty .Values.api.auth.existingSecret)) -}}
{{- end -}}
{{- define "nws.api.signingSecret" -}}
{{- .Values.api.signedUrls.existingSecret | default (printf "%s-url-signing" (include "nws.fullname" .)) -}}
{{- end -}}
{{- define "nws.api.keysDir" -}}/etc/nws-watermark/api-keys{{- end -}}

{{- define "nws.env.api" -}}
- name: MAX_UPLOAD_BYTES
  value: {{ .Values.api.maxUploadBytes | toString | quote }}
- name: OPTIMIZER_TIMEOUT_MS
  value: {{ .Values.api.optimizerTimeoutMs | toString | quote }}
- name: SHUTDOWN_GRACE_MS
  value: {{ .Values.api.shutdownGraceMs | toString | quote }}
- name: SHUTDOWN_DELAY_MS
  value: {{ .Values.api.shutdownDelayMs | toString | quote }}
{{- if .Values.api.auth.enabled }}
- name: API_KEYS_FILE
  value: {{ printf "%s/keys.yaml" (include "nws.api.keysDir" .) | quote }}
{{- end }}
{{- if .Values.api.signedUrls.enabled }}
- name: URL_SIGNING_KEYS
  valueFrom: { secretKeyRef: { name: {{ include "nws.api.signingSecret" . }}, key: signing-keys } }
- name: SIGNED_URL_TTL_SECONDS
  value: {{ .Values.api.signedUrls.ttlSeconds | toString | quote }}
{{- end }}
- name: RATE_LIMIT_UPLOADS_PER_MINUTE
  value: {{ .Values.api.rateLimit.uploadsPerMinute | toString | quote }}
- name: RATE_LIMIT_BURST
  value: {{ .Values.api.rateLimit.burst | toString | quote }}
- name: UPLOADS_IN_FLIGHT_PER_CLIENT
  value: {{ .Values.api.uploadsInFlightPerClient | toString | quote }}
- name: RECENT_RESULTS_BYTES
  value: {{ .Values.api.recentResultsBytes | int64 | toString | quote }}
- name: CORS_ORIGINS
  value: {{ join "," .Values.api.corsOrigins | quote }}
- name: TRUST_PROXY
  value: {{ .Values.api.trustProxy | quote }}
{{- end -}}
