{{/*
Names, labels and the pieces every Daiko pod shares. Secrets are only ever referenced (secretKeyRef,
secret volumes): no template renders a secret value.
*/}}

{{- define "daiko.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* A part's name: <release>-daiko-<part>. Call with (list $ "orders"). */}}
{{- define "daiko.name" -}}
{{- $root := index . 0 -}}
{{- printf "%s-%s" (include "daiko.fullname" $root) (index . 1) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "daiko.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ $root.Chart.Name }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "daiko.labels" -}}
{{- $root := index . 0 -}}
{{ include "daiko.selectorLabels" . }}
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
app.kubernetes.io/part-of: daiko
helm.sh/chart: {{ printf "%s-%s" $root.Chart.Name $root.Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "daiko.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "daiko.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "daiko.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* An env entry read from a Secret: (list NAME SECRET KEY). */}}
{{- define "daiko.secretEnv" -}}
- name: {{ index . 0 }}
  valueFrom:
    secretKeyRef:
      name: {{ index . 1 | quote }}
      key: {{ index . 2 | quote }}
{{- end -}}

{{/* Plain env entries from a map of DAIKO_ settings, sorted by name. */}}
{{- define "daiko.mapEnv" -}}
{{- range $name, $value := . }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end -}}
{{- end -}}

{{/* Where the mounted certificates are found inside the pods. */}}
{{- define "daiko.temporalTlsDir" -}}/etc/daiko/temporal-tls{{- end -}}
{{- define "daiko.kafkaCaDir" -}}/etc/daiko/kafka-ca{{- end -}}

{{/*
Every Daiko process: environment, Temporal, Kafka (without a password), sign-in, rate limits.
The Temporal TLS settings are given twice: DAIKO_TEMPORAL_TLS_* for the SDK, TEMPORAL_TLS_* for the
temporal CLI (daiko search-attributes, the worker's health check).
*/}}
{{- define "daiko.commonEnv" -}}
- name: DAIKO_ENVIRONMENT
  value: {{ .Values.environment | quote }}
- name: DAIKO_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
- name: PYTHONDONTWRITEBYTECODE
  value: "1"
- name: DAIKO_TEMPORAL_ADDRESS
  value: {{ .Values.temporal.address | quote }}
- name: DAIKO_TEMPORAL_NAMESPACE
  value: {{ .Values.temporal.namespace | quote }}
- name: DAIKO_TEMPORAL_TASK_QUEUE
  value: {{ .Values.temporal.taskQueue | quote }}
{{- with .Values.temporal.tls }}
{{- if .enabled }}
- name: DAIKO_TEMPORAL_TLS
  value: "true"
- name: TEMPORAL_TLS
  value: "true"
{{- if .existingSecret }}
- name: DAIKO_TEMPORAL_TLS_CERT
  value: {{ printf "%s/%s" (include "daiko.temporalTlsDir" $) .certKey | quote }}
- name: DAIKO_TEMPORAL_TLS_KEY
  value: {{ printf "%s/%s" (include "daiko.temporalTlsDir" $) .keyKey | quote }}
- name: TEMPORAL_TLS_CLIENT_CERT_PATH
  value: {{ printf "%s/%s" (include "daiko.temporalTlsDir" $) .certKey | quote }}
- name: TEMPORAL_TLS_CLIENT_KEY_PATH
  value: {{ printf "%s/%s" (include "daiko.temporalTlsDir" $) .keyKey | quote }}
{{- if .caKey }}
- name: DAIKO_TEMPORAL_TLS_CA
  value: {{ printf "%s/%s" (include "daiko.temporalTlsDir" $) .caKey | quote }}
- name: TEMPORAL_TLS_SERVER_CA_CERT_PATH
  value: {{ printf "%s/%s" (include "daiko.temporalTlsDir" $) .caKey | quote }}
{{- end }}
{{- end }}
{{- if .serverName }}
- name: DAIKO_TEMPORAL_TLS_SERVER_NAME
  value: {{ .serverName | quote }}
- name: TEMPORAL_TLS_SERVER_NAME
  value: {{ .serverName | quote }}
{{- end }}
{{- end }}
{{- end }}
- name: DAIKO_KAFKA_BOOTSTRAP
  value: {{ .Values.kafka.bootstrap | quote }}
- name: DAIKO_KAFKA_SECURITY_PROTOCOL
  value: {{ .Values.kafka.securityProtocol | quote }}
- name: DAIKO_KAFKA_SASL_MECHANISM
  value: {{ .Values.kafka.saslMechanism | quote }}
{{- if and (eq .Values.kafka.securityProtocol "SASL_SSL") .Values.kafka.ca.existingSecret }}
- name: DAIKO_KAFKA_SSL_CAFILE
  value: {{ printf "%s/%s" (include "daiko.kafkaCaDir" .) .Values.kafka.ca.key | quote }}
{{- end }}
- name: DAIKO_JWT_ALGORITHM
  value: {{ .Values.auth.algorithm | quote }}
{{- if .Values.auth.jwksUrl }}
- name: DAIKO_JWT_JWKS_URL
  value: {{ .Values.auth.jwksUrl | quote }}
{{- end }}
- name: DAIKO_JWT_ISSUER
  value: {{ .Values.auth.issuer | quote }}
- name: DAIKO_JWT_AUDIENCE
  value: {{ .Values.auth.audience | quote }}
{{- if and (eq .Values.auth.algorithm "HS256") .Values.auth.hs256.existingSecret }}
{{ include "daiko.secretEnv" (list "DAIKO_JWT_SECRET" .Values.auth.hs256.existingSecret .Values.auth.hs256.key) }}
{{- end }}
- name: DAIKO_RATE_LIMIT_ENABLED
  value: {{ .Values.rateLimit.enabled | quote }}
{{- if .Values.rateLimit.storageFromSecret.name }}
{{ include "daiko.secretEnv" (list "DAIKO_RATE_LIMIT_STORAGE" .Values.rateLimit.storageFromSecret.name .Values.rateLimit.storageFromSecret.key) }}
{{- else }}
- name: DAIKO_RATE_LIMIT_STORAGE
  value: {{ .Values.rateLimit.storage | quote }}
{{- end }}
{{- include "daiko.mapEnv" .Values.extraEnv }}
{{- end -}}

{{/* One service's database: host, port, its database name and its own credentials. (list $ "orders") */}}
{{- define "daiko.postgresEnv" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
{{- $db := index $root.Values.postgres $name -}}
- name: DAIKO_POSTGRES_HOST
  value: {{ $db.host | quote }}
- name: DAIKO_POSTGRES_PORT
  value: {{ $db.port | quote }}
- name: {{ printf "DAIKO_%s_DATABASE" (upper $name) }}
  value: {{ $db.database | quote }}
{{ include "daiko.secretEnv" (list "DAIKO_POSTGRES_USER" $db.existingSecret $db.usernameKey) }}
{{ include "daiko.secretEnv" (list "DAIKO_POSTGRES_PASSWORD" $db.existingSecret $db.passwordKey) }}
{{- end -}}

{{/* One principal's Kafka login: (list $ "orders"). */}}
{{- define "daiko.kafkaUserEnv" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
{{- $user := index $root.Values.kafka.users $name -}}
- name: {{ printf "DAIKO_%s_KAFKA_USERNAME" (upper $name) }}
  value: {{ $user.username | quote }}
{{ include "daiko.secretEnv" (list (printf "DAIKO_%s_KAFKA_PASSWORD" (upper $name)) $user.existingSecret $user.passwordKey) }}
{{- end -}}

{{/*
Everything one service's process needs, and nothing of another service's: its port, its database,
its Kafka principal and its own secrets. The worker and the orders migration use "orders".
(list $ "orders")
*/}}
{{- define "daiko.serviceEnv" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
{{- $values := index $root.Values $name -}}
{{ include "daiko.commonEnv" $root }}
- name: {{ printf "DAIKO_%s_PORT" (upper $name) }}
  value: {{ $values.port | quote }}
{{ include "daiko.postgresEnv" (list $root $name) }}
{{ include "daiko.kafkaUserEnv" (list $root $name) }}
{{- $secret := $root.Values.appSecrets.existingSecret }}
{{- $keys := $root.Values.appSecrets.keys }}
{{- if eq $name "orders" }}
{{ include "daiko.secretEnv" (list "DAIKO_LEDGER_PUBLIC_KEYS" $secret $keys.ledgerPublicKeys) }}
{{- else if eq $name "deposits" }}
{{ include "daiko.secretEnv" (list "DAIKO_LEDGER_SIGNING_KEY" $secret $keys.ledgerSigningKey) }}
{{ include "daiko.secretEnv" (list "DAIKO_BANK_DETAILS_KEY" $secret $keys.bankDetailsKey) }}
{{ include "daiko.secretEnv" (list "DAIKO_PAYPAL_CLIENT_SECRET" $secret $keys.paypalClientSecret) }}
{{- with $values.paypal }}
{{- if $root.Values.paypalSandbox.enabled }}
- name: DAIKO_PAYPAL_BASE_URL
  value: {{ printf "http://%s:%v" (include "daiko.name" (list $root "paypal-sandbox")) $root.Values.paypalSandbox.port | quote }}
{{- else }}
- name: DAIKO_PAYPAL_BASE_URL
  value: {{ .baseUrl | quote }}
{{- end }}
{{- range $setting, $value := dict "DAIKO_PAYPAL_CLIENT_ID" .clientId "DAIKO_PAYPAL_WEBHOOK_ID" .webhookId "DAIKO_PAYPAL_RETURN_URL" .returnUrl "DAIKO_PAYPAL_CANCEL_URL" .cancelUrl }}
{{- if $value }}
- name: {{ $setting }}
  value: {{ $value | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- else if eq $name "messaging" }}
{{- with $values.attachments }}
- name: DAIKO_ATTACHMENT_STORAGE
  value: {{ .storage | quote }}
{{- if eq .storage "s3" }}
- name: DAIKO_S3_ENDPOINT
  value: {{ .s3.endpoint | quote }}
- name: DAIKO_S3_REGION
  value: {{ .s3.region | quote }}
- name: DAIKO_S3_BUCKET
  value: {{ required "messaging.attachments.s3.bucket is required when storage is s3" .s3.bucket | quote }}
- name: DAIKO_S3_PREFIX
  value: {{ .s3.prefix | quote }}
{{ include "daiko.secretEnv" (list "DAIKO_S3_ACCESS_KEY_ID" .s3.existingSecret .s3.accessKeyIdKey) }}
{{ include "daiko.secretEnv" (list "DAIKO_S3_SECRET_ACCESS_KEY" .s3.existingSecret .s3.secretAccessKeyKey) }}
{{- else }}
- name: DAIKO_ATTACHMENT_DIR
  value: /var/lib/daiko/attachments
{{- end }}
{{- end }}
{{- end }}
{{- include "daiko.mapEnv" $values.env }}
{{- end -}}

{{/* The volumes every Daiko pod mounts: a writable /tmp (the root FS is read-only) and the CAs and client certificate. */}}
{{- define "daiko.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- if and .Values.temporal.tls.enabled .Values.temporal.tls.existingSecret }}
- name: temporal-tls
  secret:
    secretName: {{ .Values.temporal.tls.existingSecret | quote }}
    defaultMode: 0440
{{- end }}
{{- if and (eq .Values.kafka.securityProtocol "SASL_SSL") .Values.kafka.ca.existingSecret }}
- name: kafka-ca
  secret:
    secretName: {{ .Values.kafka.ca.existingSecret | quote }}
    items:
      - key: {{ .Values.kafka.ca.key | quote }}
        path: {{ .Values.kafka.ca.key | quote }}
    defaultMode: 0444
{{- end }}
{{- end -}}

{{- define "daiko.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if and .Values.temporal.tls.enabled .Values.temporal.tls.existingSecret }}
- name: temporal-tls
  mountPath: {{ include "daiko.temporalTlsDir" . }}
  readOnly: true
{{- end }}
{{- if and (eq .Values.kafka.securityProtocol "SASL_SSL") .Values.kafka.ca.existingSecret }}
- name: kafka-ca
  mountPath: {{ include "daiko.kafkaCaDir" . }}
  readOnly: true
{{- end }}
{{- end -}}

{{/* Pod-level fields shared by every Daiko pod: (list $ "orders"). */}}
{{- define "daiko.podSpecCommon" -}}
{{- $root := index . 0 -}}
{{- $part := index . 1 -}}
serviceAccountName: {{ include "daiko.serviceAccountName" $root }}
automountServiceAccountToken: false
securityContext:
  {{- toYaml $root.Values.podSecurityContext | nindent 2 }}
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if $root.Values.spreadAcrossNodes }}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "daiko.selectorLabels" (list $root $part) | nindent 8 }}
{{- end }}
{{- end -}}

{{/* A HorizontalPodAutoscaler on CPU for one Deployment: (list $ "orders" .Values.orders.autoscaling). */}}
{{- define "daiko.hpa" -}}
{{- $root := index . 0 -}}
{{- $part := index . 1 -}}
{{- $scaling := index . 2 -}}
{{- if $scaling.enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "daiko.name" (list $root $part) }}
  labels:
    {{- include "daiko.labels" (list $root $part) | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "daiko.name" (list $root $part) }}
  minReplicas: {{ $scaling.minReplicas }}
  maxReplicas: {{ $scaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $scaling.targetCPUUtilizationPercentage }}
{{- end }}
{{- end -}}

{{/* A PodDisruptionBudget for one Deployment: (list $ "orders" .Values.orders.pdb). */}}
{{- define "daiko.pdb" -}}
{{- $root := index . 0 -}}
{{- $part := index . 1 -}}
{{- $pdb := index . 2 -}}
{{- if $pdb.enabled }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "daiko.name" (list $root $part) }}
  labels:
    {{- include "daiko.labels" (list $root $part) | nindent 4 }}
spec:
  maxUnavailable: {{ $pdb.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "daiko.selectorLabels" (list $root $part) | nindent 6 }}
{{- end }}
{{- end -}}
