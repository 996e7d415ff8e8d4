# The portal (portal/): Node's packages from its lockfile, and Debian's Chromium for the browser tests
# (tests/portal drive it with Playwright; Playwright's own browser downloads are not reachable here).
# Node and npm come with the machine (Debian's nodejs); `npm ci` runs again only when the lockfile changed.
apt_install chromium
if [ -f portal/package-lock.json ]; then
  portal_stamp=portal/node_modules/.daiko-lock.sha256
  portal_lock=$(sha256sum portal/package-lock.json | cut -d' ' -f1)
  if [ ! -f "$portal_stamp" ] || [ "$(cat "$portal_stamp")" != "$portal_lock" ]; then
    log "npm ci in portal/ (its lockfile changed)"
    (cd portal && npm ci --no-audit --no-fund)
    echo "$portal_lock" > "$portal_stamp"
  fi
fi
