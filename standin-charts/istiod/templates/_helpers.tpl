{{- /*
meshcharts stand-in for Istio's istiod chart. Every object is named istiod (istio for the mesh
ConfigMap), suffixed -<revision> when a revision is set; the release name is never used.

Values come in two layouts, as in the real charts: 1.13 keeps the control plane's settings under
pilot.*, 1.30 ships all defaults under _internal_defaults_do_not_set and users set them at the top
level. "istiod.values" flattens either into one map (top-level keys, 1.30 style) that the
templates read.
*/ -}}
{{- define "istiod.values" -}}
{{- $values := deepCopy .Values -}}
{{- if hasKey $values "_internal_defaults_do_not_set" -}}
{{- $defaults := deepCopy (get $values "_internal_defaults_do_not_set") -}}
{{- $values = mustMergeOverwrite $defaults (omit $values "_internal_defaults_do_not_set") -}}
{{- else if $values.pilot -}}
{{- $values = mustMergeOverwrite (omit $values "pilot") (deepCopy $values.pilot) -}}
{{- end -}}
{{- toYaml $values -}}
{{- end -}}

{{- define "istiod.since" -}}
{{- if semverCompare (printf ">=%s-0" (index . 1)) (index . 0).Chart.Version -}}true{{- end -}}
{{- end -}}

{{- /* istiod or istiod-<revision>: (list . $values). */ -}}
{{- define "istiod.name" -}}
{{- $revision := (index . 1).revision | default "" -}}
istiod{{ with $revision }}-{{ . }}{{ end }}
{{- end -}}

{{- /* The labels 1.24+ put on everything (app.kubernetes.io/name and the real chart's "istio.labels"). */ -}}
{{- define "istiod.commonLabels" -}}
{{- if include "istiod.since" (list . "1.24.0") }}
app.kubernetes.io/name: "istiod"
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/part-of: "istio"
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end -}}

{{- /*
Is the control plane rendered here? Not for a remote istiod (istiodRemote.enabled without a local
injector, since 1.24), nor outside global.resourceScope all/namespace (since 1.28): (list . $values).
*/ -}}
{{- define "istiod.local" -}}
{{- $root := index . 0 -}}
{{- $v := index . 1 -}}
{{- $remote := $v.istiodRemote | default dict -}}
{{- $scoped := or (not (include "istiod.since" (list $root "1.28.0"))) (has ($v.global.resourceScope | default "all") (list "all" "namespace")) -}}
{{- $here := or (not (include "istiod.since" (list $root "1.24.0"))) (not $remote.enabled) $remote.enabledLocalInjectorIstiod -}}
{{- if and $scoped $here -}}true{{- end -}}
{{- end -}}

{{- /* The four ports every istiod Service has (Kiali and the istiod ServiceMonitor use http-monitoring). */ -}}
{{- define "istiod.servicePorts" -}}
- {port: 15010, name: grpc-xds, protocol: TCP}
- {port: 15012, name: https-dns, protocol: TCP}
- {port: 443, name: https-webhook, targetPort: 15017, protocol: TCP}
- {port: 15014, name: http-monitoring, protocol: TCP}
{{- end -}}
