{{/* The release's base name, at most 63 characters (a DNS label). */}}
{{- define "workhorse.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* A component's name: fullname-component, shortened so the suffix always fits. */}}
{{- define "workhorse.componentName" -}}
{{- $ctx := index . 0 -}}
{{- $component := index . 1 -}}
{{- printf "%s-%s" (include "workhorse.fullname" $ctx | trunc (int (sub 62 (len $component))) | trimSuffix "-") $component -}}
{{- end -}}

{{- define "workhorse.selectorLabels" -}}
{{- $ctx := index . 0 -}}
app.kubernetes.io/name: {{ $ctx.Chart.Name }}
app.kubernetes.io/instance: {{ $ctx.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "workhorse.labels" -}}
{{ include "workhorse.selectorLabels" . }}
{{- $ctx := index . 0 }}
app.kubernetes.io/version: {{ $ctx.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: workhorse
app.kubernetes.io/managed-by: {{ $ctx.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" $ctx.Chart.Name $ctx.Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "workhorse.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{- define "workhorse.databaseSecretName" -}}
{{- .Values.database.existingSecret | default (include "workhorse.componentName" (list . "database")) -}}
{{- end -}}

{{- define "workhorse.databaseSecretKey" -}}
{{- if .Values.database.existingSecret -}}{{ .Values.database.existingSecretKey }}{{- else -}}url{{- end -}}
{{- end -}}

{{- define "workhorse.metricsSecretName" -}}
{{- .Values.metrics.existingSecret | default (include "workhorse.componentName" (list . "metrics")) -}}
{{- end -}}

{{- define "workhorse.metricsSecretKey" -}}
{{- if .Values.metrics.existingSecret -}}{{ .Values.metrics.existingSecretKey }}{{- else -}}token{{- end -}}
{{- end -}}

{{/* The metrics token, for the containers that serve /metrics (the API and the workers). */}}
{{- define "workhorse.metricsEnv" -}}
- name: WORKHORSE_METRICS_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "workhorse.metricsSecretName" . }}
      key: {{ include "workhorse.metricsSecretKey" . }}
{{- end -}}

{{/* How the ServiceMonitor sends the metrics token. */}}
{{- define "workhorse.scrapeAuthorization" -}}
authorization:
  type: Bearer
  credentials:
    name: {{ include "workhorse.metricsSecretName" . }}
    key: {{ include "workhorse.metricsSecretKey" . }}
{{- end -}}

{{/* The environment every Workhorse container shares. */}}
{{- define "workhorse.env" -}}
- name: WORKHORSE_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "workhorse.databaseSecretName" . }}
      key: {{ include "workhorse.databaseSecretKey" . }}
- name: WORKHORSE_APP
  value: {{ .Values.app | quote }}
- name: WORKHORSE_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- end -}}

{{/* Pod annotations that roll the pods when the database settings change. */}}
{{- define "workhorse.configChecksum" -}}
checksum/database: {{ printf "%s|%s|%s" .Values.database.url .Values.database.existingSecret .Values.database.existingSecretKey | sha256sum }}
{{- end -}}

{{/* A /tmp the read-only root filesystem leaves writable. */}}
{{- define "workhorse.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- end -}}

{{- define "workhorse.tmpMount" -}}
- name: tmp
  mountPath: /tmp
{{- end -}}

{{- define "workhorse.validate" -}}
{{- $mode := .Values.worker.autoscaling.mode -}}
{{- if not (has $mode (list "none" "keda" "hpa")) -}}
{{- fail (printf "worker.autoscaling.mode must be none, keda or hpa, got %q" $mode) -}}
{{- end -}}
{{- if and (ne $mode "none") (lt (int .Values.worker.autoscaling.minReplicas) 1) -}}
{{- fail "worker.autoscaling.minReplicas must be at least 1: workers run the maintenance loops (promoter, reaper, cron)" -}}
{{- end -}}
{{- if and (not .Values.database.existingSecret) (not .Values.database.url) -}}
{{- fail "set database.url or database.existingSecret" -}}
{{- end -}}
{{- if not .Values.app -}}
{{- fail "set app (MODULE:ATTR of your Workhorse app)" -}}
{{- end -}}
{{- if and (eq $mode "keda") (not .Values.worker.autoscaling.keda.serverAddress) -}}
{{- fail "worker.autoscaling.keda.serverAddress is required" -}}
{{- end -}}
{{- end -}}
