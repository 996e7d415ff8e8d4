#!/usr/bin/env bash
# Installs everything the local stack and the tests need on a fresh Debian machine
# (Python 3.11, Java 17 + Maven, PostgreSQL server, the Python environment and
# Kafka's jars). Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=deploy/bootstrap-lib.sh
. deploy/bootstrap-lib.sh

missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v runuser >/dev/null 2>&1 || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PYTHON=${PYTHON:-}
if [ -z "$PYTHON" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      PYTHON=$candidate; break
    fi
  done
fi
[ -n "$PYTHON" ] || { log "Python 3.11 is required (set PYTHON=/path/to/python3.11)"; exit 1; }

if [ ! -x .venv/bin/python ]; then
  log "creating .venv with $PYTHON"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.daiko-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  log "installing Python dependencies"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  touch "$stamp"
fi

.venv/bin/python -c 'from daiko.settings import DaikoSettings; from devstack.parts import resolve_kafka_jars; resolve_kafka_jars(DaikoSettings().state_dir / "kafka" / "libs", announce=True)'
# Each optional part installs itself: one script per part, run in name order.
for script in deploy/bootstrap.d/*.sh; do
  [ -e "$script" ] || continue
  # shellcheck source=/dev/null
  . "$script"
done
log "ready"
