{{/* Name of the chart, overridable. */}}
{{- define "baton.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name: release-name, or release name alone when it contains the chart name. */}}
{{- define "baton.fullname" -}}
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

{{- define "baton.selectorLabels" -}}
app.kubernetes.io/name: {{ include "baton.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "baton.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "baton.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "baton.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "baton.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "baton.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Name of the Secret mounted at /etc/baton/secrets, or empty when there is none. */}}
{{- define "baton.secretName" -}}
{{- if .Values.secrets.existingSecret }}
{{- .Values.secrets.existingSecret }}
{{- else if .Values.secrets.values }}
{{- printf "%s-secrets" (include "baton.fullname" .) }}
{{- end }}
{{- end }}

{{- define "baton.claimName" -}}
{{- default (printf "%s-state" (include "baton.fullname" .)) .Values.state.sqlite.persistence.existingClaim }}
{{- end }}

{{/* The whole config: .Values.config plus what the chart owns (listen, state), written as
     JSON, which baton decodes several times faster than YAML (a config of thousands of images
     starts in tens of milliseconds; bench/README.md "Start-up"). */}}
{{- define "baton.fullConfig" -}}
{{- $config := deepCopy .Values.config }}
{{- $_ := unset $config "listen" }}
{{- $_ := unset $config "state" }}
{{- $_ := set $config "listen" (printf "0.0.0.0:%d" (int .Values.service.port)) }}
{{- $api := deepCopy (default (dict) $config.api) }}
{{- $_ := set $api "probe_listen" (printf "0.0.0.0:%d" (int .Values.probes.port)) }}
{{- $_ := set $config "api" $api }}
{{- if eq .Values.state.kind "sqlite" }}
{{- $_ := set $config "state" "sqlite:///var/lib/baton/baton.db" }}
{{- end }}
{{- toJson $config }}
{{- end }}

{{/* "true" when the whole config would not fit in one ConfigMap (Kubernetes allows 1 MiB):
     the products then go into ConfigMaps of their own, read through product_files. */}}
{{- define "baton.splitProducts" -}}
{{- if gt (len (include "baton.fullConfig" .)) 1000000 }}true{{ end }}
{{- end }}

{{/* The config file baton.json: the whole config, or without its products when they are
     split (then product_files names the files they are in). */}}
{{- define "baton.config" -}}
{{- if include "baton.splitProducts" . }}
{{- $config := include "baton.fullConfig" . | fromJson }}
{{- $_ := unset $config "products" }}
{{- $_ := set $config "product_files" (list "products/*.json") }}
{{- toJson $config }}
{{- else }}
{{- include "baton.fullConfig" . }}
{{- end }}
{{- end }}

{{/* The products in runs of at most ~900 KB of JSON, one ConfigMap each, as a JSON list of
     lists; empty when they are not split. */}}
{{- define "baton.productChunks" -}}
{{- $chunks := list }}
{{- if include "baton.splitProducts" . }}
{{- $chunk := list }}
{{- $size := 0 }}
{{- range .Values.config.products }}
{{- $s := len (toJson .) }}
{{- if gt $s 1000000 }}
{{- fail (printf "product %v renders to %d bytes of JSON, more than one ConfigMap holds (1048576 bytes): split its images over two products" .name $s) }}
{{- end }}
{{- if and $chunk (gt (add $size $s) 900000) }}
{{- $chunks = append $chunks $chunk }}
{{- $chunk = list }}
{{- $size = 0 }}
{{- end }}
{{- $chunk = append $chunk . }}
{{- $size = add $size $s 1 }}
{{- end }}
{{- if $chunk }}
{{- $chunks = append $chunks $chunk }}
{{- end }}
{{- end }}
{{- toJson $chunks }}
{{- end }}

{{/* Refuses settings that cannot work, with the fix. */}}
{{- define "baton.validate" -}}
{{- if and (eq .Values.state.kind "sqlite") (gt (int .Values.replicaCount) 1) }}
{{- fail (printf "replicaCount is %d but state.kind is sqlite, which allows one writer: set replicaCount: 1 or state.kind: postgres with state.postgres.existingSecret" (int .Values.replicaCount)) }}
{{- end }}
{{- if and (eq .Values.state.kind "postgres") (not .Values.state.postgres.existingSecret) }}
{{- fail "state.kind is postgres but state.postgres.existingSecret is empty: name the Secret that holds the postgres:// URL (key state.postgres.urlKey)" }}
{{- end }}
{{- $wanted := include "baton.secretKeys" . | fromJsonArray }}
{{- if and $wanted (not .Values.secrets.existingSecret) (not .Values.secrets.values) }}
{{- fail (printf "the config reads secret files under /etc/baton/secrets/ (%s) but no Secret provides them: create a Secret with those keys and set secrets.existingSecret=<its name> (or, for a trial only, give them in secrets.values)" (join ", " $wanted)) }}
{{- end }}
{{- if and $wanted (not .Values.secrets.existingSecret) .Values.secrets.values }}
{{- $missing := list }}
{{- range $wanted }}{{ if not (hasKey $.Values.secrets.values .) }}{{ $missing = append $missing . }}{{ end }}{{ end }}
{{- if $missing }}
{{- fail (printf "secrets.values lacks %s, which the config reads from /etc/baton/secrets/: add the keys or set secrets.existingSecret" (join ", " $missing)) }}
{{- end }}
{{- end }}
{{- if or (hasKey .Values.config "listen") (hasKey .Values.config "state") }}
{{- fail "config.listen and config.state are set by the chart: remove them from config and use service.port and state.kind instead" }}
{{- end }}
{{- if and .Values.config.api (hasKey .Values.config.api "probe_listen") }}
{{- fail "config.api.probe_listen is set by the chart: remove it from config and use probes.port instead" }}
{{- end }}
{{- if eq (int .Values.probes.port) (int .Values.service.port) }}
{{- fail (printf "probes.port and service.port are both %d: the probe listener needs a port of its own (default 8081)" (int .Values.probes.port)) }}
{{- end }}
{{- if hasKey .Values.config "product_files" }}
{{- fail "config.product_files is set by the chart, which moves products into files of their own when they are many: list every product under config.products" }}
{{- end }}
{{- /* Kubernetes refuses a ConfigMap whose keys and values add up to more than 1 MiB; the
     products move to ConfigMaps of their own past ~1 MB, so only the rest can be too large. */}}
{{- $size := add (len (include "baton.config" .)) (len "baton.json") }}
{{- if gt $size 1048576 }}
{{- fail (printf "config without its products renders to %d bytes, over the 1048576 bytes a ConfigMap can hold: shorten the keys other than products" $size) }}
{{- end }}
{{- end }}

{{/* Keys of the Secret the config reads (every /etc/baton/secrets/<key> it names), as a JSON list. */}}
{{- define "baton.secretKeys" -}}
{{- $keys := list }}
{{- range regexFindAll "/etc/baton/secrets/[A-Za-z0-9._-]+" (toYaml .Values.config) -1 }}
{{- $keys = append $keys (trimPrefix "/etc/baton/secrets/" .) }}
{{- end }}
{{- $keys | uniq | sortAlpha | toJson }}
{{- end }}
