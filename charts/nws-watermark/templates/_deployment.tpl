{{/*
The Deployment of one component of the image: (dict "ctx" $ "component" "api" "values" .Values.api
"env" "<env list yaml>" "replicas" true|false "serviceAccount" "name"|"" "volumes" "<yaml>" "volumeMounts" "<yaml>"
"podAnnotations" "<yaml>")
*/}}
{{- define "nws.deployment" -}}
{{- $ctx := .ctx -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "nws.fullname" $ctx }}-{{ .component }}
  labels:
    {{- include "nws.labels" (dict "ctx" $ctx "component" .component) | nindent 4 }}
spec:
  {{- if .replicas }}
  replicas: {{ .values.replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "nws.selectorLabels" (dict "ctx" $ctx "component" .component) | nindent 6 }}
  strategy:
    type: RollingUpdate
    rollingUpdate: { maxUnavailable: 0, maxSurge: 1 }
  template:
    metadata:
      labels:
        {{- include "nws.labels" (dict "ctx" $ctx "component" .component) | nindent 8 }}
      {{- with .podAnnotations }}
      annotations:
        {{- . | nindent 8 }}
      {{- end }}
    spec:
      {{- if .serviceAccount }}
      serviceAccountName: {{ .serviceAccount }}
      automountServiceAccountToken: true
      {{- else }}
      automountServiceAccountToken: false
      {{- end }}
      enableServiceLinks: false
      terminationGracePeriodSeconds: {{ .values.terminationGracePeriodSeconds | default 30 }}
      securityContext:
        {{- include "nws.podSecurityContext" $ctx | nindent 8 }}
      {{- include "nws.podScheduling" (dict "ctx" $ctx "values" .values) | nindent 6 }}
      containers:
        - name: {{ .component }}
          image: {{ include "nws.image" $ctx | quote }}
          imagePullPolicy: {{ $ctx.Values.image.pullPolicy }}
          args: [{{ .component | quote }}]
          ports:
            - name: http
              containerPort: {{ .values.port }}
              protocol: TCP
          env:
            - name: PORT
              value: {{ .values.port | quote }}
            - name: LOG_LEVEL
              value: {{ $ctx.Values.logLevel | quote }}
            {{- .env | nindent 12 }}
            {{- include "nws.env.extra" .values.env | nindent 12 }}
          {{- include "nws.probes" $ctx | nindent 10 }}
          resources:
            {{- toYaml .values.resources | nindent 12 }}
          securityContext:
            {{- include "nws.containerSecurityContext" $ctx | nindent 12 }}
          volumeMounts:
            {{- include "nws.tmpMount" $ctx | nindent 12 }}
            {{- with .volumeMounts }}
            {{- . | nindent 12 }}
            {{- end }}
      volumes:
        {{- include "nws.tmpVolume" $ctx | nindent 8 }}
        {{- with .volumes }}
        {{- . | nindent 8 }}
        {{- end }}
{{- end -}}

{{/* A ClusterIP Service on the component's http port: (dict "ctx" $ "component" "api" "port" 3000 "type" "ClusterIP") */}}
{{- define "nws.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "nws.fullname" .ctx }}-{{ .component }}
  labels:
    {{- include "nws.labels" (dict "ctx" .ctx "component" .component) | nindent 4 }}
spec:
  type: {{ .type | default "ClusterIP" }}
  selector:
    {{- include "nws.selectorLabels" (dict "ctx" .ctx "component" .component) | nindent 4 }}
  ports:
    - name: http
      port: {{ .port }}
      targetPort: http
      protocol: TCP
      {{- if and .nodePort (eq (.type | default "ClusterIP") "NodePort") }}
      nodePort: {{ .nodePort }}
      {{- end }}
{{- end -}}
