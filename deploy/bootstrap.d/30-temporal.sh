# The Temporal server as production runs it (on PostgreSQL), its SQL schema tool and the Web UI server,
# all built from the Go module proxy into the machine's tools folder (devstack/temporal_server.py runs them).
# The first build takes about 3-4 minutes on 2 cores; later runs only check the versions.
go_install temporal-server go.temporal.io/server/cmd/server@v1.32.2
go_install temporal-sql-tool go.temporal.io/server/cmd/tools/sql@v1.32.2

# The UI server's own pins include versions the module proxy does not serve: deploy/temporal-ui is a small
# module that requires it with served versions (go.mod, go.sum), so this build is reproducible.
temporal_ui_target="deploy/temporal-ui $(cat deploy/temporal-ui/go.mod deploy/temporal-ui/go.sum | sha256sum | cut -c1-16)"
if [ ! -x "$TOOLS_BIN/temporal-ui-server" ] || [ "$(cat "$TOOLS_BIN/.temporal-ui-server.version" 2>/dev/null)" != "$temporal_ui_target" ]; then
  command -v go >/dev/null 2>&1 || apt_install golang-go
  log "building temporal-ui-server from deploy/temporal-ui (Go module proxy)"
  mkdir -p "$TOOLS_BIN"
  (cd deploy/temporal-ui && GOTOOLCHAIN=$GO_TOOLCHAIN go build -trimpath -o "$TOOLS_BIN/temporal-ui-server" github.com/temporalio/ui-server/v2/cmd/server)
  echo "$temporal_ui_target" >"$TOOLS_BIN/.temporal-ui-server.version"
fi
unset temporal_ui_target
