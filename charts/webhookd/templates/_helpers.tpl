{{/* Chart name, overridable. */}}
{{- define "webhookd.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: the release name, with the chart name unless the release already contains it. */}}
{{- define "webhookd.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels every resource carries. */}}
{{- define "webhookd.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "webhookd.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: webhookd
{{- end }}

{{/* Labels that select the pods; never change them on upgrade. */}}
{{- define "webhookd.selectorLabels" -}}
app.kubernetes.io/name: {{ include "webhookd.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "webhookd.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "webhookd.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret that holds the MongoDB URI: an existing one, or the one the chart creates. */}}
{{- define "webhookd.mongoSecretName" -}}
{{- if .Values.mongo.existingSecret }}
{{- .Values.mongo.existingSecret }}
{{- else if .Values.mongo.uri }}
{{- printf "%s-mongo" (include "webhookd.fullname" .) }}
{{- else }}
{{- fail "mongo.existingSecret (a Secret holding the MongoDB URI) or, for development, mongo.uri is required" }}
{{- end }}
{{- end }}

{{/* The Secret that holds the secrets key file: an existing one, or the one the chart creates. */}}
{{- define "webhookd.secretsKeySecretName" -}}
{{- if .Values.secretsKey.existingSecret }}
{{- .Values.secretsKey.existingSecret }}
{{- else if .Values.secretsKey.keys }}
{{- printf "%s-secrets-key" (include "webhookd.fullname" .) }}
{{- else }}
{{- fail "secretsKey.existingSecret (a Secret holding the key file of --secrets-key-file; make one with `webhookctl secret keygen --out secrets.key`) or, for development, secretsKey.keys is required" }}
{{- end }}
{{- end }}

{{/* The section 4 document rendered from values. */}}
{{- define "webhookd.configDocument" -}}
{{- dict "webhook_definitions" (.Values.config.webhook_definitions | default list) "workflow_rules" (.Values.config.workflow_rules | default list) | toYaml }}
{{- end }}
