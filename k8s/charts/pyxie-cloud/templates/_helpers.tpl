{{/* Labels every object carries. */}}
{{- define "pyxie.labels" -}}
app.kubernetes.io/part-of: pyxie-cloud
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{/* Selector labels of one component: (dict "ctx" $ "name" "kelvin"). */}}
{{- define "pyxie.selector" -}}
app.kubernetes.io/name: pyxie-{{ .name }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- end }}

{{- define "pyxie.image" -}}
{{ .ctx.Values.image.registry }}/pyxie-{{ .name }}:{{ .ctx.Values.image.tag }}
{{- end }}

{{/* host:port of a vizier service: a Service name in a cluster, 127.0.0.1 on one host. */}}
{{- define "pyxie.addr" -}}
{{- if .ctx.Values.network.hostNetwork -}}
127.0.0.1:{{ .port }}
{{- else -}}
pyxie-{{ .name }}.{{ .ctx.Release.Namespace }}.svc:{{ .port }}
{{- end -}}
{{- end }}

{{/* Pod-level settings shared by every vizier pod. */}}
{{- define "pyxie.podCommon" -}}
{{- if .Values.network.hostNetwork }}
hostNetwork: true
dnsPolicy: ClusterFirstWithHostNet
{{- end }}
enableServiceLinks: false
{{- end }}

{{/* Non-root, read-only root file system, no capabilities. */}}
{{- define "pyxie.restricted" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: 10001
  runAsGroup: 10001
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    drop: ["ALL"]
  seccompProfile:
    type: RuntimeDefault
{{- end }}

{{/* Environment every vizier service reads. */}}
{{- define "pyxie.commonEnv" -}}
- name: PL_NATS_URL
  value: nats://{{ include "pyxie.addr" (dict "ctx" . "name" "nats" "port" .Values.ports.nats) }}
- name: PL_JWT_SIGNING_KEY
  valueFrom:
    secretKeyRef:
      name: pyxie-cloud-secrets
      key: jwt-signing-key
- name: PL_JWT_AUDIENCE
  value: {{ .Values.domain | quote }}
- name: PL_DOMAIN_NAME
  value: {{ .Values.domain | quote }}
- name: PL_LOG_FORMAT
  value: json
- name: PL_METRICS_PORT
  value: "0"
{{- end }}

{{- define "pyxie.tmp" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- end }}



{{/*
One cloud service: a Deployment and its Service.
(dict "ctx" $ "name" "api" "key" "api" "env" <yaml> "mounts" <yaml> "volumes" <yaml>
      "public" false "extraPorts" <yaml>)
*/}}
{{- define "pyxie.service" -}}
{{- $ctx := .ctx -}}
{{- $port := index $ctx.Values.ports .key -}}
{{- $sel := dict "ctx" $ctx "name" .name -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: pyxie-{{ .name }}
  namespace: {{ $ctx.Release.Namespace }}
  labels:
    {{- include "pyxie.labels" $ctx | nindent 4 }}
    {{- include "pyxie.selector" $sel | nindent 4 }}
spec:
  replicas: 1
  selector:
    matchLabels:
      {{- include "pyxie.selector" $sel | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "pyxie.labels" $ctx | nindent 8 }}
        {{- include "pyxie.selector" $sel | nindent 8 }}
        {{- if .public }}
        pyxie.dev/public: "true"
        {{- end }}
    spec:
      {{- include "pyxie.podCommon" $ctx | nindent 6 }}
      automountServiceAccountToken: false
      containers:
        - name: {{ .name }}
          image: {{ include "pyxie.image" $sel }}
          imagePullPolicy: {{ $ctx.Values.image.pullPolicy }}
          env:
            {{- include "pyxie.commonEnv" $ctx | nindent 12 }}
            - name: PL_GRPC_PORT
              value: {{ $port | quote }}
            {{- if $ctx.Values.network.hostNetwork }}
            - name: PL_GRPC_HOST
              value: {{ ternary "0.0.0.0" "127.0.0.1" (default false .public) }}
            - name: PL_METRICS_HOST
              value: 127.0.0.1
            {{- end }}
            {{- with .env }}
            {{- . | nindent 12 }}
            {{- end }}
          ports:
            - name: grpc
              containerPort: {{ $port }}
            {{- with .extraPorts }}
            {{- . | nindent 12 }}
            {{- end }}
          readinessProbe:
            tcpSocket:
              port: {{ $port }}
            initialDelaySeconds: 5
            periodSeconds: 10
          resources:
            {{- toYaml (index $ctx.Values.resources .key) | nindent 12 }}
          {{- include "pyxie.restricted" $ctx | nindent 10 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- with .mounts }}
            {{- . | nindent 12 }}
            {{- end }}
      volumes:
        {{- include "pyxie.tmp" $ctx | nindent 8 }}
        {{- with .volumes }}
        {{- . | nindent 8 }}
        {{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: pyxie-{{ .name }}
  namespace: {{ $ctx.Release.Namespace }}
  labels:
    {{- include "pyxie.labels" $ctx | nindent 4 }}
spec:
  {{- if .public }}
  type: {{ $ctx.Values.network.serviceType }}
  {{- end }}
  selector:
    {{- include "pyxie.selector" $sel | nindent 4 }}
  ports:
    - name: grpc
      port: {{ $port }}
      targetPort: grpc
{{- end }}

{{- define "pyxie.tlsMount" -}}
- name: tls
  mountPath: /etc/pyxie/tls
  readOnly: true
{{- end }}

{{- define "pyxie.tlsVolume" -}}
- name: tls
  secret:
    secretName: pyxie-cloud-tls
{{- end }}

{{- define "pyxie.tlsEnv" -}}
- name: PL_TLS_CERT_FILE
  value: /etc/pyxie/tls/tls.crt
- name: PL_TLS_KEY_FILE
  value: /etc/pyxie/tls/tls.key
- name: PL_TLS_CA_DIR
  value: /etc/pyxie/tls
{{- end }}
