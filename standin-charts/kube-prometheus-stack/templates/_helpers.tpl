{{- /*
meshcharts stand-in for kube-prometheus-stack. Names follow the real chart: fullname is
fullnameOverride, or the release when it contains the chart name (or nameOverride), else
<release>-<name>, all cut to 26 characters; Services are <fullname>-prometheus, -alertmanager and
-operator. Version differences ask "kps.since" with the chart version the behaviour appeared in
(checked against the chart's tags).
*/ -}}

{{- define "kps.since" -}}
{{- if semverCompare (printf ">=%s-0" (index . 1)) (index . 0).Chart.Version -}}true{{- end -}}
{{- end -}}

{{- define "kps.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 50 | trimSuffix "-" -}}
{{- end -}}

{{- define "kps.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 26 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 26 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 26 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "kps.namespace" -}}
{{- .Values.namespaceOverride | default .Release.Namespace -}}
{{- end -}}

{{- /* Alertmanager's own namespaceOverride exists since 70.6. */ -}}
{{- define "kps.alertmanagerNamespace" -}}
{{- if and (include "kps.since" (list . "70.6.0")) .Values.alertmanager.namespaceOverride -}}
{{- .Values.alertmanager.namespaceOverride -}}
{{- else -}}
{{- include "kps.namespace" . -}}
{{- end -}}
{{- end -}}

{{- /* prometheusOperator.fullnameOverride renames the operator since 56.6.2. */ -}}
{{- define "kps.operatorFullname" -}}
{{- if and (include "kps.since" (list . "56.6.2")) .Values.prometheusOperator.fullnameOverride -}}
{{- .Values.prometheusOperator.fullnameOverride | trunc 35 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-operator" (include "kps.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- /* The Prometheus / Alertmanager custom resource names (the operator names its StatefulSets after them). */ -}}
{{- define "kps.prometheusName" -}}
{{- if .Values.cleanPrometheusOperatorObjectNames -}}{{ include "kps.fullname" . }}{{- else -}}{{ include "kps.fullname" . }}-prometheus{{- end -}}
{{- end -}}

{{- define "kps.alertmanagerName" -}}
{{- if .Values.cleanPrometheusOperatorObjectNames -}}{{ include "kps.fullname" . }}{{- else -}}{{ include "kps.fullname" . }}-alertmanager{{- end -}}
{{- end -}}

{{- define "kps.labels" -}}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: "{{ replace "+" "_" .Chart.Version }}"
app.kubernetes.io/part-of: {{ include "kps.name" . }}
chart: {{ printf "%s-%s" .Chart.Name (replace "+" "_" .Chart.Version) }}
release: {{ .Release.Name | quote }}
heritage: {{ .Release.Service | quote }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "kps.operatorLabels" -}}
{{ include "kps.labels" . }}
app: {{ include "kps.name" . }}-operator
{{- if include "kps.since" (list . "56.0.1") }}
app.kubernetes.io/name: {{ include "kps.name" . }}-prometheus-operator
app.kubernetes.io/component: prometheus-operator
{{- end }}
{{- end -}}

{{- /* registry/repository[:tag][@sha256:sha] with global.imageRegistry first: (list . .Values.x.image "default-tag"). */ -}}
{{- define "kps.image" -}}
{{- $root := index . 0 -}}
{{- $image := index . 1 -}}
{{- $tag := $image.tag | default (index . 2) -}}
{{- $registry := $root.Values.global.imageRegistry | default $image.registry -}}
{{- with $registry }}{{ . }}/{{ end }}{{ $image.repository }}{{ with $tag }}:{{ . }}{{ end }}{{ with $image.sha }}@sha256:{{ . }}{{ end }}
{{- end -}}

{{- /*
A Prometheus selector as the real chart writes it: the value when set, else release=<release> when
<kind>SelectorNilUsesHelmValues (the default), else {} (everything): (list . "serviceMonitor").
*/ -}}
{{- define "kps.selector" -}}
{{- $root := index . 0 -}}
{{- $kind := index . 1 -}}
{{- $spec := $root.Values.prometheus.prometheusSpec -}}
{{- $selector := index $spec (printf "%sSelector" $kind) -}}
{{- if $selector -}}
{{ toYaml $selector }}
{{- else if index $spec (printf "%sSelectorNilUsesHelmValues" $kind) -}}
matchLabels:
  release: {{ $root.Release.Name | quote }}
{{- else -}}
{}
{{- end -}}
{{- end -}}

{{- /* Does this kube version take appProtocol (kubeTargetVersionOverride wins, as in the real chart)? */ -}}
{{- define "kps.appProtocol" -}}
{{- if semverCompare ">=1.20.0-0" (.Values.kubeTargetVersionOverride | default .Capabilities.KubeVersion.GitVersion) -}}true{{- end -}}
{{- end -}}

{{- define "kps.prometheusServiceAccount" -}}
{{- if .Values.prometheus.serviceAccount.create -}}
{{- .Values.prometheus.serviceAccount.name | default (printf "%s-prometheus" (include "kps.fullname" .)) -}}
{{- else -}}
{{- .Values.prometheus.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{- define "kps.alertmanagerServiceAccount" -}}
{{- if .Values.alertmanager.serviceAccount.create -}}
{{- .Values.alertmanager.serviceAccount.name | default (printf "%s-alertmanager" (include "kps.fullname" .)) -}}
{{- else -}}
{{- .Values.alertmanager.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{- define "kps.operatorServiceAccount" -}}
{{- if .Values.prometheusOperator.serviceAccount.create -}}
{{- .Values.prometheusOperator.serviceAccount.name | default (include "kps.operatorFullname" .) -}}
{{- else -}}
{{- .Values.prometheusOperator.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}
