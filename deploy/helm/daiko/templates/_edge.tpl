{{/*
nginx.conf of the edge. Runs unprivileged on a read-only root filesystem: the pid file and every
temporary path are under /tmp (an emptyDir). Each API prefix is a location whose proxy_pass ends in
"/", so nginx replaces the prefix by "/" (the prefix is stripped); the services see the client's
address in X-Forwarded-For (uvicorn --proxy-headers) for their per-IP rate limits.
*/}}
{{- define "daiko.edgeConfig" -}}
{{- $edge := .Values.edge -}}
worker_processes {{ $edge.workerProcesses }};
pid /tmp/nginx.pid;
error_log /dev/stderr warn;

events {
  worker_connections 1024;
}

http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log /dev/stdout;
  server_tokens off;
  sendfile on;
  keepalive_timeout 65;

  client_body_temp_path /tmp/client_body;
  proxy_temp_path /tmp/proxy;
  fastcgi_temp_path /tmp/fastcgi;
  uwsgi_temp_path /tmp/uwsgi;
  scgi_temp_path /tmp/scgi;

  client_max_body_size {{ $edge.clientMaxBodySize }};

  {{- range $name := list "orders" "deposits" "messaging" }}

  upstream {{ $name }} {
    server {{ include "daiko.name" (list $ $name) }}:{{ (index $.Values $name).port }};
    keepalive 16;
  }
  {{- end }}

  server {
    listen {{ $edge.containerPort }};
    root {{ $edge.portalRoot }};

    {{- range $header, $value := $edge.securityHeaders }}
    add_header {{ $header }} {{ $value | quote }} always;
    {{- end }}

    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;
    proxy_set_header X-Forwarded-Host $host;
    proxy_read_timeout {{ $edge.proxyReadTimeout }};
    {{- range $name := list "orders" "deposits" "messaging" }}

    # /api/{{ $name }}/<path> -> the {{ $name }} service's /<path>
    location /api/{{ $name }}/ {
      proxy_pass http://{{ $name }}/;
      # Server-sent events from the services reach the browser as they are written.
      proxy_buffering off;
    }
    {{- end }}

    # The edge itself (probes): it answers, and it has a portal to serve.
    location = /healthz {
      access_log off;
      default_type text/plain;
      return 200 "ok\n";
    }
    location = /readyz {
      access_log off;
      try_files /index.html =503;
    }

    # Built assets carry a content hash in their name: cache them for good.
    location /assets/ {
      expires 1y;
      add_header Cache-Control "public, immutable" always;
      {{- range $header, $value := $edge.securityHeaders }}
      add_header {{ $header }} {{ $value | quote }} always;
      {{- end }}
      try_files $uri =404;
    }

    # The portal is a single-page app: every other path is its index.html.
    location / {
      add_header Cache-Control "no-cache" always;
      {{- range $header, $value := $edge.securityHeaders }}
      add_header {{ $header }} {{ $value | quote }} always;
      {{- end }}
      try_files $uri $uri/ /index.html;
    }
  }
}
{{- end -}}
