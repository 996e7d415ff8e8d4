# Functions shared by deploy/bootstrap.sh and the scripts in deploy/bootstrap.d/.
# Sourced, not run: every function is idempotent (a second call only checks).

log() { printf '[bootstrap] %s\n' "$*"; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# apt_install PACKAGE... : installs the Debian packages that are missing.
apt_install() {
  local wanted=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || wanted+=("$package")
  done
  [ ${#wanted[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${wanted[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${wanted[@]}"
}

# Go programs (Temporal server, Jaeger, Helm, ...) are built from the Go module
# proxy once per machine into DAIKO_TOOLS_BIN (every clone shares them), with the
# version each was built from beside it, so a version bump rebuilds.
# devstack/tools.py finds them at the same place.
TOOLS_BIN=${DAIKO_TOOLS_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/daiko/bin}
GO_TOOLCHAIN=${GO_TOOLCHAIN:-go1.27.3}

# go_install NAME MODULE/PATH@VERSION : builds the program once as $TOOLS_BIN/NAME.
go_install() {
  local name=$1 target=$2 marker="$TOOLS_BIN/.$1.version"
  if [ -x "$TOOLS_BIN/$name" ] && [ "$(cat "$marker" 2>/dev/null)" = "$target" ]; then return 0; fi
  command -v go >/dev/null 2>&1 || apt_install golang-go
  log "building $name from $target (Go module proxy)"
  mkdir -p "$TOOLS_BIN"
  local tmp; tmp=$(mktemp -d)
  GOTOOLCHAIN=$GO_TOOLCHAIN GOBIN="$tmp" go install "$target"
  mv "$tmp/$(basename "${target%@*}")" "$TOOLS_BIN/$name"
  rm -rf "$tmp"
  echo "$target" >"$marker"
}
