# The local OpenID Connect provider (devstack/oidc.py, deploy/oidc): panva's oidc-provider on Node.js.
# `daiko-stack up` runs `npm ci` in deploy/oidc whenever its lockfile changed; this only makes sure
# Node.js and npm exist (oidc-provider 9 wants Node.js 20 or later).
command -v npm >/dev/null 2>&1 || apt_install nodejs npm
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' \
  || log "Node.js $(node --version) is older than the 20 that deploy/oidc (oidc-provider 9) needs"
