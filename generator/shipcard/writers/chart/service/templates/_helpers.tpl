{{/*
Shared pieces of the service chart. They mirror generator/k8s/objects.py in shipcard:
the Kustomize and the helmfile formats must render exactly the same objects.
*/}}

{{/* Labels of every object; the argument is (list $ "component"). */}}
{{- define "service.labels" -}}
{{- $values := (index . 0).Values -}}
app.kubernetes.io/name: {{ $values.name | toJson }}
app.kubernetes.io/instance: {{ $values.name | toJson }}
app.kubernetes.io/component: {{ index . 1 | toJson }}
app.kubernetes.io/managed-by: shipcard
{{- with $values.team }}
app.kubernetes.io/part-of: {{ . | toJson }}
{{- end }}
{{- end }}

{{/* A manual job's owner annotations (the card's team and description); the argument is $. */}}
{{- define "service.ownerAnnotations" -}}
{{- with .Values.team }}
shipcard.io/owner: {{ . | toJson }}
{{- end }}
{{- with .Values.description }}
shipcard.io/description: {{ . | toJson }}
{{- end }}
{{- end }}

{{/* Labels that select the pods of a component; the argument is (list $ "component"). */}}
{{- define "service.selector" -}}
app.kubernetes.io/name: {{ (index . 0).Values.name | toJson }}
app.kubernetes.io/component: {{ index . 1 | toJson }}
{{- end }}

{{/* name, namespace and labels; the argument is (dict "root" $ "name" "..." "component" "..."). */}}
{{- define "service.metadata" -}}
name: {{ .name | toJson }}
namespace: {{ .root.Release.Namespace | toJson }}
labels:
  {{- include "service.labels" (list .root .component) | nindent 2 }}
{{- end }}

{{/*
The Argo CD sync wave of what the service's pods need (ServiceAccount, ConfigMaps, ExternalSecret,
NetworkPolicies): applied and healthy before the migration Job (wave -1), which runs before the rest
(wave 0). docs/cards.md, "Jobs".
*/}}
{{- define "service.setupWave" -}}
argocd.argoproj.io/sync-wave: "-2"
{{- end }}

{{/* Why the server has no liveness probe (probes.liveness {type: none, reason}), or nothing; the argument is $. */}}
{{- define "service.livenessNone" -}}
{{- with .Values.probes }}{{ with .liveness }}{{ if eq .type "none" }}{{ .reason }}{{ end }}{{ end }}{{ end -}}
{{- end }}

{{/* "true" when the service runs a long-lived process: it has ports or a command, or it has no jobs. */}}
{{- define "service.hasServer" -}}
{{- if or .Values.ports .Values.command (not .Values.jobs) }}true{{ end -}}
{{- end }}

{{/*
The ExternalSecrets of .Values.secrets as a JSON list of {name, secret, provider, store, files, data[]}:
one per store for env, then one per store for files, in the order the values name them. The card's
own store keeps <name> (Secret <name>-secrets); another store S makes <name>-S (<name>-S-secrets);
files go to <name>[-S]-files. As secret_sources in shipcard/card/model.py.
*/}}
{{- define "service.secretSources" -}}
{{- $values := .Values -}}
{{- $secrets := $values.secrets | default dict -}}
{{- $sources := list -}}
{{- $seen := dict -}}
{{- range $section := list "env" "files" -}}
{{- $files := eq $section "files" -}}
{{- range (index $secrets $section | default list) -}}
{{- $store := .store | default $secrets.store -}}
{{- $id := printf "%s/%s" $section $store -}}
{{- if not (hasKey $seen $id) -}}
{{- $base := ternary $values.name (printf "%s-%s" $values.name $store) (eq $store ($secrets.store | default "")) -}}
{{- $name := ternary (printf "%s-files" $base) $base $files -}}
{{- $_ := set $seen $id (dict "name" $name "secret" (ternary $name (printf "%s-secrets" $base) $files)
    "provider" (.provider | default $secrets.provider) "store" $store "files" $files "data" list
    "kind" (get ($secrets.storeKinds | default dict) $store | default "ClusterSecretStore")) -}}
{{- $sources = append $sources (get $seen $id) -}}
{{- end -}}
{{- $source := get $seen $id -}}
{{- $key := ternary (base (.path | default "")) (.name | default "") $files -}}
{{- $_ := set $source "data" (append $source.data (dict "secretKey" $key "key" .key "property" (.property | default "") "version" (.version | default ""))) -}}
{{- end -}}
{{- end -}}
{{- $sources | toJson -}}
{{- end }}

{{/* The directories of .Values.secrets.files, sorted (one read-only volume each), as a JSON list. */}}
{{- define "service.secretFileDirectories" -}}
{{- $directories := list -}}
{{- range (($.Values.secrets | default dict).files | default list) -}}
{{- $directories = append $directories (dir .path) -}}
{{- end -}}
{{- $directories | uniq | sortAlpha | toJson -}}
{{- end }}

{{/* repository[:tag][@digest] of an image mapping. */}}
{{- define "service.image" -}}
{{- .repository -}}
{{- with .tag }}:{{ . }}{{ end -}}
{{- with .digest }}@{{ . }}{{ end -}}
{{- end }}

{{/* One probe; the argument is (dict "probe" ... "ports" ...). A port number the service declares becomes its name. */}}
{{- define "service.probe" -}}
{{- $probe := .probe -}}
{{- $port := $probe.port -}}
{{- if and (not (kindIs "invalid" $port)) (not (kindIs "string" $port)) -}}
{{- range .ports -}}
{{- if eq (int .port) (int $port) }}{{ $port = .name }}{{ end -}}
{{- end -}}
{{- end -}}
{{- if eq $probe.type "http" }}
httpGet:
  path: {{ $probe.path | default "/" | toJson }}
  port: {{ $port | toJson }}
{{- else if eq $probe.type "grpc" }}
grpc:
  port: {{ $probe.port | int }}
  {{- with $probe.service }}
  service: {{ . | toJson }}
  {{- end }}
{{- else if eq $probe.type "tcp" }}
tcpSocket:
  port: {{ $port | toJson }}
{{- else }}
exec:
  command: {{ $probe.command | toJson }}
{{- end }}
{{- range $field := list "initialDelaySeconds" "periodSeconds" "failureThreshold" }}
{{- $value := index $probe $field }}
{{- if not (kindIs "invalid" $value) }}
{{ $field }}: {{ $value | int }}
{{- end }}
{{- end }}
{{- end }}

{{/* The container of the server, or of a job; the argument is (dict "root" $ "job" job-or-nil). */}}
{{- define "service.container" -}}
{{- $values := .root.Values -}}
{{- $name := $values.name -}}
{{- $image := $values.image -}}
{{- $command := $values.command -}}
{{- $args := $values.args -}}
{{- $resources := $values.resources -}}
{{- $script := "" -}}
{{- with .job -}}
{{- $name = .name -}}
{{- $image = .image | default $values.image -}}
{{- $command = .command -}}
{{- $args = .args -}}
{{- $resources = .resources | default (dict "requests" $values.resources.requests "limits" (dict "memory" $values.resources.requests.memory)) -}}
{{- with .script -}}
{{- $script = . -}}
{{- $path := printf "/opt/shipcard/%s" $.job.name -}}
{{- $command = ternary (list $path) (list "/bin/sh" $path) (hasPrefix "#!" .) -}}
{{- end -}}
{{- end -}}
name: {{ $name | toJson }}
image: {{ include "service.image" $image | toJson }}
{{- with $command }}
command: {{ . | toJson }}
{{- end }}
{{- with $args }}
args: {{ . | toJson }}
{{- end }}
{{- $envSecrets := list -}}
{{- range include "service.secretSources" .root | fromJsonArray }}
{{- if not .files }}{{ $envSecrets = append $envSecrets .secret }}{{ end -}}
{{- end }}
{{- if or $values.env $envSecrets }}
envFrom:
  {{- if $values.env }}
  - configMapRef:
      name: {{ printf "%s-env" $values.name | toJson }}
  {{- end }}
  {{- range $envSecrets }}
  - secretRef:
      name: {{ . | toJson }}
  {{- end }}
{{- end }}
resources:
  requests:
    cpu: {{ $resources.requests.cpu | toString | toJson }}
    memory: {{ $resources.requests.memory | toString | toJson }}
  limits:
    memory: {{ $resources.limits.memory | default $resources.requests.memory | toString | toJson }}
    {{- with $resources.limits.cpu }}
    cpu: {{ . | toString | toJson }}
    {{- end }}
{{- if not .job }}
{{- with $values.ports }}
ports:
  {{- range . }}
  - name: {{ .name | toJson }}
    containerPort: {{ .port | int }}
    protocol: TCP
  {{- end }}
{{- end }}
{{- $probes := $values.probes | default dict }}
{{- range $kind := list "startup" "readiness" "liveness" }}
{{- with index $probes $kind }}
{{- if ne .type "none" }}
{{ $kind }}Probe:
  {{- include "service.probe" (dict "probe" . "ports" $values.ports) | nindent 2 }}
{{- end }}
{{- end }}
{{- end }}
{{- with $values.shutdown.preStopSleep }}
lifecycle:
  preStop:
    {{- if dig "preStopSleepAction" true ($values.kubernetes | default dict) }}
    sleep:
      seconds: {{ . | int }}
    {{- else }}
    exec:
      command: ["sleep", {{ . | int | toString | toJson }}]
    {{- end }}
{{- end }}
{{- end }}
volumeMounts:
  - name: tmp
    mountPath: /tmp
  {{- range $index, $directory := include "service.secretFileDirectories" .root | fromJsonArray }}
  - name: {{ printf "secret-files-%d" $index | toJson }}
    mountPath: {{ $directory | toJson }}
    readOnly: true
  {{- end }}
  {{- if $script }}
  - name: script
    mountPath: /opt/shipcard
    readOnly: true
  {{- end }}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  runAsNonRoot: true
  capabilities:
    drop:
      - ALL
{{- end }}

{{/* A pod template; the argument is (dict "root" $ "component" "server"|"job" "job" job-or-nil). */}}
{{- define "service.podTemplate" -}}
{{- $values := .root.Values -}}
{{- $script := "" -}}
{{- with .job }}{{ $script = .script | default "" }}{{ end -}}
metadata:
  labels:
    {{- include "service.labels" (list .root .component) | nindent 4 }}
  {{- $awsRole := ($values.serviceAccount | default dict).awsRole }}
  {{- if or $values.env $script $awsRole }}
  annotations:
    {{- if $values.env }}
    shipcard.io/config-hash: {{ $values.configHash | toJson }}
    {{- end }}
    {{- if $script }}
    shipcard.io/script-hash: {{ $script | sha256sum | trunc 16 | toJson }}
    {{- end }}
    {{- with $awsRole }}
    shipcard.io/aws-role: {{ . | toJson }}
    {{- end }}
  {{- end }}
spec:
  serviceAccountName: {{ $values.name | toJson }}
  automountServiceAccountToken: {{ not (empty $awsRole) }}
  enableServiceLinks: false
  {{- if .job }}
  restartPolicy: Never
  {{- end }}
  securityContext:
    runAsNonRoot: true
    runAsUser: 10001
    runAsGroup: 10001
    fsGroup: 10001
    seccompProfile:
      type: RuntimeDefault
  terminationGracePeriodSeconds: {{ $values.shutdown.gracePeriod | int }}
  containers:
    - {{ include "service.container" (dict "root" .root "job" .job) | indent 6 | trim }}
  volumes:
    - name: tmp
      emptyDir: {}
    {{- $fileSecrets := dict }}
    {{- range include "service.secretSources" .root | fromJsonArray }}
    {{- if .files }}{{ $_ := set $fileSecrets .store .secret }}{{ end }}
    {{- end }}
    {{- $secrets := $values.secrets | default dict }}
    {{- range $index, $directory := include "service.secretFileDirectories" .root | fromJsonArray }}
    - name: {{ printf "secret-files-%d" $index | toJson }}
      projected:
        defaultMode: 256
        sources:
          {{- range $secrets.files }}
          {{- if eq (dir .path) $directory }}
          - secret:
              name: {{ get $fileSecrets (.store | default $secrets.store) | toJson }}
              items:
                - key: {{ base .path | toJson }}
                  path: {{ base .path | toJson }}
          {{- end }}
          {{- end }}
    {{- end }}
    {{- if $script }}
    - name: script
      configMap:
        name: {{ printf "%s-scripts" $values.name | toJson }}
        defaultMode: 365
        items:
          - key: {{ printf "%s.sh" .job.name | toJson }}
            path: {{ .job.name | toJson }}
    {{- end }}
{{- end }}

{{/* The spec of a Job; the argument is (dict "root" $ "job" job "ttl" seconds). */}}
{{- define "service.jobSpec" -}}
backoffLimit: {{ .job.retries | int }}
activeDeadlineSeconds: {{ .job.timeoutSeconds | int }}
ttlSecondsAfterFinished: {{ .ttl | int }}
template:
  {{- include "service.podTemplate" (dict "root" .root "component" "job" "job" .job) | nindent 2 }}
{{- end }}

{{/*
NetworkPolicy rules; the argument is (list rules "from"|"to"). A rule without peers admits any
source (or destination), one without ports every port; a peer is pods of a namespace (all, or
those with podLabels) or an address block. shipcard resolves the rules (generator/card/network.py).
*/}}
{{- define "service.trafficRules" -}}
{{- $side := index . 1 -}}
{{- range index . 0 }}
-
  {{- with .peers }}
  {{ $side }}:
    {{- range . }}
    {{- if .cidr }}
    - ipBlock:
        cidr: {{ .cidr | toJson }}
    {{- else }}
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ .namespace | toJson }}
      {{- with .podLabels }}
      podSelector:
        matchLabels:
          {{- toYaml . | nindent 10 }}
      {{- end }}
    {{- end }}
    {{- end }}
  {{- end }}
  {{- with .ports }}
  ports:
    {{- range . }}
    - port: {{ .port | int }}
      protocol: {{ .protocol | toJson }}
    {{- end }}
  {{- end }}
{{- end }}
{{- end }}
