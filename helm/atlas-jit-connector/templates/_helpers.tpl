{{/* Chart name, overridable with nameOverride. */}}
{{- define "atlas-jit-connector.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name used for resource names: "<release>-<chart>", or the release name when it already
contains the chart name. Truncated to 63 characters (DNS label limit).
*/}}
{{- define "atlas-jit-connector.fullname" -}}
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

{{/* Chart name and version for the helm.sh/chart label. */}}
{{- define "atlas-jit-connector.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels that select this release's pods. Never change them: Deployment selectors are immutable. */}}
{{- define "atlas-jit-connector.selectorLabels" -}}
app.kubernetes.io/name: {{ include "atlas-jit-connector.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Standard labels on every resource, with commonLabels merged in: a key the chart sets too (component,
version) takes the value commonLabels gives, rendered once. Written out after it, the key would be
in the mapping twice, which kustomize and other strict YAML parsers refuse. The selector labels
always stay the chart's (deployment.yaml refuses commonLabels that set them).
*/}}
{{- define "atlas-jit-connector.labels" -}}
{{- $labels := dict "helm.sh/chart" (include "atlas-jit-connector.chart" .) "app.kubernetes.io/version" (.Chart.AppVersion | trunc 63) "app.kubernetes.io/managed-by" .Release.Service "app.kubernetes.io/component" "connector" }}
{{- $labels = mergeOverwrite $labels (deepCopy .Values.commonLabels) (fromYaml (include "atlas-jit-connector.selectorLabels" .)) }}
{{- toYaml $labels }}
{{- end }}

{{/* The standard labels with a resource's own extra labels (e.g. additionalLabels) over them, each key once. */}}
{{- define "atlas-jit-connector.labelsWith" -}}
{{- $labels := mergeOverwrite (fromYaml (include "atlas-jit-connector.labels" .context)) (deepCopy (.extra | default dict)) }}
{{- toYaml $labels }}
{{- end }}

{{/*
The ServiceAccount the pods run as: a dedicated one, never the namespace's default, which every pod
of the namespace that names no account runs as: the cloud identity annotated on it (the IRSA role
or managed identity that reads the Atlas credential) would be theirs as well.
*/}}
{{- define "atlas-jit-connector.serviceAccountName" -}}
{{- if eq .Values.serviceAccount.name "default" }}
{{- fail "serviceAccount.name is \"default\", the namespace's default ServiceAccount: every pod in the namespace that names no account runs as it, so the cloud identity it carries (the IRSA role or Azure managed identity that reads the Atlas credential) would be theirs too; leave serviceAccount.name empty with serviceAccount.create=true, or name a dedicated ServiceAccount" }}
{{- end }}
{{- if .Values.serviceAccount.create }}
{{- default (include "atlas-jit-connector.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false: name an existing ServiceAccount that carries the pod's cloud identity (do not use the namespace's default account)" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
CONNECTOR_ID. Required rather than generated: the control plane routes jobs (and deep-discovery
clusters tagged apono-connector-id) by it, so it must survive reinstalls and `helm template`
pipelines, which a lookup-generated id would not.
*/}}
{{- define "atlas-jit-connector.connectorId" -}}
{{- required "connector.id is required: set it to the id the control plane shows for this connector (1-63 letters, digits, dot, dash or underscore) and keep it the same on every upgrade, e.g. --set connector.id=prod-eu-west-1" .Values.connector.id }}
{{- end }}

{{/* Image reference: repository@digest when a digest is set, otherwise repository:tag. */}}
{{- define "atlas-jit-connector.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Secret holding the control-plane token: the user's existing Secret, or the chart-owned one. */}}
{{- define "atlas-jit-connector.tokenSecretName" -}}
{{- if .Values.controlPlane.existingSecret.name }}
{{- .Values.controlPlane.existingSecret.name }}
{{- else }}
{{- printf "%s-control-plane" (include "atlas-jit-connector.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "atlas-jit-connector.tokenSecretKey" -}}
{{- if .Values.controlPlane.existingSecret.name }}
{{- .Values.controlPlane.existingSecret.key }}
{{- else -}}
token
{{- end }}
{{- end }}

{{/* Where the token file is mounted (CONTROL_PLANE_TOKEN_FILE). */}}
{{- define "atlas-jit-connector.tokenDir" -}}
/var/run/secrets/atlas-jit-connector/control-plane
{{- end }}

{{/* Where the extra CA bundle is mounted (CA_BUNDLE_FILE). */}}
{{- define "atlas-jit-connector.caBundleDir" -}}
/etc/atlas-jit-connector/ca
{{- end }}

{{/* Whether the admin Service is rendered (explicitly, or because a ServiceMonitor or the helm test needs it). */}}
{{- define "atlas-jit-connector.serviceEnabled" -}}
{{- if or .Values.service.enabled .Values.metrics.serviceMonitor.enabled .Values.tests.enabled }}true{{ end }}
{{- end }}

{{/*
Labels of the `helm test` pod: deliberately not the selector labels, so that the Deployment, the
Service, the PodDisruptionBudget and the NetworkPolicy never select it.
*/}}
{{- define "atlas-jit-connector.testSelectorLabels" -}}
app.kubernetes.io/name: {{ include "atlas-jit-connector.name" . }}-test
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: test
{{- end }}

{{/* The TCP port a URL connects to: its explicit port, else 80 for http and 443 otherwise. */}}
{{- define "atlas-jit-connector.urlPort" -}}
{{- $url := urlParse . -}}
{{- $port := regexFind ":[0-9]+$" $url.host | trimPrefix ":" -}}
{{- if $port }}{{ $port }}{{ else if eq $url.scheme "http" }}80{{ else }}443{{ end -}}
{{- end }}

{{/*
Fails on a URL value with user:password@ (or a user name alone), naming the value, never quoting it:
the schema lets such a URL through because its pattern errors quote the value, password included,
into the terminal, the CI log or a GitOps controller's status. Every one of these values lands in
the ConfigMap; the control-plane and Atlas URLs take no credentials at all (the connector refuses
them, exit 78). Called from the ConfigMap, which every install renders.
*/}}
{{- define "atlas-jit-connector.checkUrlCredentials" -}}
{{- $urls := dict "controlPlane.url" .Values.controlPlane.url "atlas.baseUrl" .Values.atlas.baseUrl "proxy.httpsProxy" .Values.proxy.httpsProxy "proxy.httpProxy" .Values.proxy.httpProxy -}}
{{- range $name := keys $urls | sortAlpha }}
{{- if regexMatch "^([A-Za-z][A-Za-z0-9+.-]*://)?[^/?#]*@" (get $urls $name | toString) }}
{{- if hasPrefix "proxy." $name }}
{{- fail (printf "%s carries a user name or password (user:password@), which would be stored in clear text in the ConfigMap: keep the proxy URL there without them (the NetworkPolicy opens its port from it) and set HTTPS_PROXY (or HTTP_PROXY) with them in extraEnv from a Secret (valueFrom.secretKeyRef), as docs/operations.md shows" $name) }}
{{- else }}
{{- fail (printf "%s carries a user name or password (user:password@): the connector sends no credentials from this URL and refuses it at start (exit 78); remove them (the control-plane token goes in controlPlane.existingSecret, the Atlas credential in the secret store)" $name) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Fails on a URL value whose explicit port is not a TCP port (1-65535): the connector refuses such a
URL at start (exit 78), and the NetworkPolicy would carry a port the API server rejects. Called
from the ConfigMap, which every install renders. Names the value, never the URL (it may hold more
than a host).
*/}}
{{- define "atlas-jit-connector.checkUrlPorts" -}}
{{- $urls := dict "controlPlane.url" .Values.controlPlane.url "atlas.baseUrl" .Values.atlas.baseUrl "proxy.httpsProxy" .Values.proxy.httpsProxy "proxy.httpProxy" .Values.proxy.httpProxy "aws.secretsManagerEndpoint" .Values.aws.secretsManagerEndpoint -}}
{{- range $name := keys $urls | sortAlpha }}
{{- with get $urls $name }}
{{- $port := regexFind ":[0-9]+$" (urlParse .).host | trimPrefix ":" }}
{{- if and $port (or (lt (atoi $port) 1) (gt (atoi $port) 65535)) }}
{{- fail (printf "%s has port %s: a TCP port is 1-65535 (the connector refuses the URL at start, exit 78, and the NetworkPolicy could not open the port); correct the port, or leave it out for the scheme's default (443, or 80 for http://)" $name $port) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The egress ports of the NetworkPolicy's HTTPS rule, as a JSON list: 443 (Atlas, the cloud identity
and secret endpoints) and the port of each configured control-plane, Atlas, proxy and Secrets
Manager endpoint URL. For the proxies, networkPolicy.proxy.targetPort when set: a NetworkPolicy
matches the port of the destination pod, after a Service has translated its own port to the pod's,
so an in-cluster proxy behind a Service whose port differs is reached on its targetPort.
*/}}
{{- define "atlas-jit-connector.egressPorts" -}}
{{- $ports := list 443 -}}
{{- $proxyTargetPort := int .Values.networkPolicy.proxy.targetPort -}}
{{- range (list .Values.controlPlane.url .Values.atlas.baseUrl) }}
{{- if . }}
{{- $ports = append $ports (include "atlas-jit-connector.urlPort" . | atoi) }}
{{- end }}
{{- end }}
{{- range (list .Values.proxy.httpsProxy .Values.proxy.httpProxy) }}
{{- if and . (gt $proxyTargetPort 0) }}
{{- $ports = append $ports $proxyTargetPort }}
{{- else if . }}
{{- $ports = append $ports (include "atlas-jit-connector.urlPort" . | atoi) }}
{{- end }}
{{- end }}
{{- with .Values.aws.secretsManagerEndpoint }}
{{- $ports = append $ports (include "atlas-jit-connector.urlPort" . | atoi) }}
{{- end }}
{{- toJson (uniq $ports) }}
{{- end }}

{{/* Milliseconds of a one-unit duration such as 30s, 1m or 500ms (the schema's form). */}}
{{- define "atlas-jit-connector.durationMs" -}}
{{- $units := dict "ms" 1 "s" 1000 "m" 60000 "h" 3600000 -}}
{{- mul (regexFind "^[0-9]+" . | atoi) (get $units (regexFind "[a-z]+$" .) | default 0) -}}
{{- end }}
