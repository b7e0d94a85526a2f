{{- /*
meshcharts stand-in for the Kiali server charts (Rancher's rancher-kiali-server and upstream
kiali-server). One set of templates serves every packaged version: where the real charts differ
between versions, the stand-in asks "kiali.since" with the Kiali version the behaviour changed in,
compared with this chart's appVersion (checked against the packaged upstream charts).
*/ -}}

{{- /* "true" when this chart's Kiali (appVersion) is at least the given version: (list . "1.62.0"). */ -}}
{{- define "kiali.since" -}}
{{- if semverCompare (printf ">=%s-0" (index . 1)) (index . 0).Chart.AppVersion -}}true{{- end -}}
{{- end -}}

{{- /*
The name of every object. Before 2.0 the deprecated fullnameOverride wins when instance_name is
still "kiali" and fullnameOverride is something else; 2.x reads instance_name only. The release
name is never used.
*/ -}}
{{- define "kiali.fullname" -}}
{{- $instance := .Values.deployment.instance_name -}}
{{- if and (not (include "kiali.since" (list . "2.0.0"))) (eq $instance "kiali") (ne .Values.fullnameOverride "kiali") -}}
{{- .Values.fullnameOverride | trunc 63 -}}
{{- else -}}
{{- $instance | trunc 63 -}}
{{- end -}}
{{- end -}}

{{- /* OpenShift detection: a Route API before 2.1, then the isOpenShift value or the operator API. */ -}}
{{- define "kiali.isOpenShift" -}}
{{- if include "kiali.since" (list . "2.1.0") -}}
{{- if (.Values.isOpenShift | default (.Capabilities.APIVersions.Has "operator.openshift.io/v1")) -}}true{{- end -}}
{{- else if .Capabilities.APIVersions.Has "route.openshift.io/v1" -}}true{{- end -}}
{{- end -}}

{{- define "kiali.selectorLabels" -}}
app.kubernetes.io/name: kiali
app.kubernetes.io/instance: {{ include "kiali.fullname" . }}
{{- end -}}

{{- define "kiali.labels" -}}
{{- with .Values.deployment.extra_labels }}{{ toYaml . }}
{{ end -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app: kiali
{{ include "kiali.selectorLabels" . }}
version: {{ .Values.deployment.version_label | default .Chart.AppVersion | quote }}
app.kubernetes.io/version: {{ .Values.deployment.version_label | default .Chart.AppVersion | quote }}
{{- if not (include "kiali.since" (list . "2.0.0")) }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}
app.kubernetes.io/part-of: "kiali"
{{- end -}}

{{- /* server.web_root, or /kiali on Kubernetes and / on OpenShift; "/" survives trimming since 1.42. */ -}}
{{- define "kiali.webRoot" -}}
{{- $root := .Values.server.web_root -}}
{{- if $root -}}
{{- if and (eq $root "/") (include "kiali.since" (list . "1.42.0")) -}}/{{- else -}}{{- $root | trimSuffix "/" -}}{{- end -}}
{{- else if include "kiali.isOpenShift" . -}}/{{- else -}}/kiali{{- end -}}
{{- end -}}

{{- /* The serving certificate: identity.cert_file when set, else OpenShift's service CA cert, else none. */ -}}
{{- define "kiali.certFile" -}}
{{- if hasKey .Values.identity "cert_file" -}}{{- .Values.identity.cert_file -}}
{{- else if include "kiali.isOpenShift" . -}}/kiali-cert/tls.crt{{- end -}}
{{- end -}}

{{- define "kiali.privateKeyFile" -}}
{{- if hasKey .Values.identity "private_key_file" -}}{{- .Values.identity.private_key_file -}}
{{- else if include "kiali.isOpenShift" . -}}/kiali-cert/tls.key{{- end -}}
{{- end -}}

{{- /* auth.strategy, or token (openshift on OpenShift); openshift needs the Route URL, as in the real chart. */ -}}
{{- define "kiali.authStrategy" -}}
{{- $strategy := .Values.auth.strategy | default (eq (include "kiali.isOpenShift" .) "true" | ternary "openshift" "token") -}}
{{- $redirects := and (include "kiali.since" (list . "2.0.0")) (.Values.auth.openshift | default dict).redirect_uris -}}
{{- if and (eq $strategy "openshift") (not .Values.kiali_route_url) (not $redirects) -}}
{{- fail "You did not define what the Kiali Route URL will be (--set kiali_route_url=...). Without this set, the openshift auth strategy will not work." -}}
{{- end -}}
{{- $strategy -}}
{{- end -}}

{{- /* Metrics moved from server.metrics_enabled/metrics_port to server.observability.metrics in 1.80. */ -}}
{{- define "kiali.metricsEnabled" -}}
{{- if include "kiali.since" (list . "1.80.0") -}}
{{- if .Values.server.observability.metrics.enabled -}}true{{- end -}}
{{- else if .Values.server.metrics_enabled -}}true{{- end -}}
{{- end -}}

{{- define "kiali.metricsPort" -}}
{{- if include "kiali.since" (list . "1.80.0") -}}
{{- .Values.server.observability.metrics.port | default 9090 -}}
{{- else -}}
{{- .Values.server.metrics_port | default 9090 -}}
{{- end -}}
{{- end -}}

{{- /*
The login token signing key. The real charts take a random one (randAlphaNum) whenever none is
set, so every render differs; the stand-in derives a fixed one from the namespace and name instead,
so an unchanged release renders unchanged. Never a secret worth keeping: set login_token.signing_key.
*/ -}}
{{- define "kiali.signingKey" -}}
{{- if .Values.login_token.signing_key -}}
{{- .Values.login_token.signing_key -}}
{{- else -}}
{{- sha256sum (printf "%s/%s" .Release.Namespace (include "kiali.fullname" .)) | trunc (eq (include "kiali.since" (list . "2.3.0")) "true" | ternary 32 16) -}}
{{- end -}}
{{- end -}}

{{- /* The image: Rancher's fork reads repository/tag behind the system default registry, upstream image_name/image_version. */ -}}
{{- define "kiali.image" -}}
{{- $d := .Values.deployment -}}
{{- if $d.image_name -}}
{{- $d.image_name }}{{ with $d.image_digest }}@{{ . }}{{ end }}:{{ $d.image_version -}}
{{- else -}}
{{- with ((.Values.global | default dict).cattle | default dict).systemDefaultRegistry }}{{ . }}/{{ end }}{{ $d.repository }}:{{ $d.tag -}}
{{- end -}}
{{- end -}}

{{- /* 2.1+ can install only what a remote cluster needs: no Deployment, Service or ConfigMap. */ -}}
{{- define "kiali.remoteOnly" -}}
{{- if and (include "kiali.since" (list . "2.1.0")) .Values.deployment.remote_cluster_resources_only -}}true{{- end -}}
{{- end -}}
