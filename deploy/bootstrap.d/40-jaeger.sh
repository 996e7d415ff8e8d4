# Jaeger v2 (OTLP receiver, in-memory storage, query API), the trace backend of the
# local stack (devstack/jaeger.py), built once per machine from the Go module proxy.
# `go install github.com/jaegertracing/jaeger/cmd/jaeger@v1.76.0` refuses the module
# (its go.mod has a replace directive), so it is built from a small module of our
# own that requires it with the same replace. Measured on the shared 2-core machine
# (load average ~20): 49 min 41 s wall, 9 min 32 s of CPU (user + sys); the binary is 118 MB.
# The module proxy's copy has no UI assets (they are built from jaeger-ui's own
# repository): the binary serves the query API and a placeholder page instead of the UI.
# Skipped when tracing is off (DAIKO_TRACING=false).
JAEGER_VERSION=v1.76.0
if [ "${DAIKO_TRACING:-true}" != "false" ] && { [ ! -x "$TOOLS_BIN/jaeger" ] || [ "$(cat "$TOOLS_BIN/.jaeger.version" 2>/dev/null)" != "$JAEGER_VERSION" ]; }; then
  command -v go >/dev/null 2>&1 || apt_install golang-go
  log "building jaeger $JAEGER_VERSION (Go module proxy)"
  mkdir -p "$TOOLS_BIN"
  jaeger_src=$(mktemp -d)
  cat >"$jaeger_src/go.mod" <<GOMOD
module daiko.local/jaeger-build

go 1.25

require github.com/jaegertracing/jaeger $JAEGER_VERSION

replace github.com/Shopify/sarama => github.com/Shopify/sarama v1.33.0
GOMOD
  printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/jaegertracing/jaeger/cmd/jaeger"\n' >"$jaeger_src/tools.go"
  (cd "$jaeger_src" && GOTOOLCHAIN=$GO_TOOLCHAIN go mod tidy && GOTOOLCHAIN=$GO_TOOLCHAIN go build -o "$TOOLS_BIN/jaeger" github.com/jaegertracing/jaeger/cmd/jaeger)
  rm -rf "$jaeger_src"
  echo "$JAEGER_VERSION" >"$TOOLS_BIN/.jaeger.version"
fi
