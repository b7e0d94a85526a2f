{{- /*
meshcharts stand-in for the grafana chart, as kube-prometheus-stack bundles it. Names follow the
real chart: fullnameOverride, or the release when it contains "grafana" (or nameOverride), else
<release>-grafana; kube-prometheus-stack's own nameOverride/fullnameOverride do not apply here.
*/ -}}
{{- define "grafana.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "grafana.fullname" -}}
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

{{- define "grafana.namespace" -}}
{{- .Values.namespaceOverride | default .Release.Namespace -}}
{{- end -}}

{{- define "grafana.selectorLabels" -}}
app.kubernetes.io/name: {{ include "grafana.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "grafana.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "grafana.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | trimSuffix "-" | quote }}
{{- if not (include "grafana.v7" .) }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}
{{- with .Values.extraLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- /*
"true" for the chart versions after 6.x (12.11.1 here): the Service's targetPort is the container
port's name, Pod labels carry the full label set (without managed-by), the image has a registry and
the container a profiling port. 6.50.7 uses the port number and selector labels only.
*/ -}}
{{- define "grafana.v7" -}}
{{- if semverCompare ">=7.0.0-0" .Chart.Version -}}true{{- end -}}
{{- end -}}

{{- define "grafana.targetPort" -}}
{{- if include "grafana.v7" . -}}{{ .Values.podPortName }}{{- else -}}{{ .Values.service.targetPort }}{{- end -}}
{{- end -}}

{{- /* Does the chart create the admin Secret? Not with an existing Secret or a password from env. */ -}}
{{- define "grafana.createsAdminSecret" -}}
{{- $env := .Values.env | default dict -}}
{{- if not (or .Values.admin.existingSecret $env.GF_SECURITY_ADMIN_PASSWORD__FILE $env.GF_SECURITY_ADMIN_PASSWORD $env.GF_SECURITY_DISABLE_INITIAL_ADMIN_CREATION) -}}true{{- end -}}
{{- end -}}

{{- define "grafana.serviceAccountName" -}}
{{- .Values.serviceAccount.name | default (include "grafana.fullname" .) -}}
{{- end -}}
