# Prometheus and promtool for the local stack's `prometheus` part (devstack/prometheus.py) and the
# alert-rule tests. Debian's package also starts a system Prometheus of its own (its /etc/prometheus
# config, port 9090): the stack runs its own process with its own config and storage under
# .daiko/prometheus, so a system service that this install just started is stopped and disabled
# again. One that was installed before is left alone (someone may run it on purpose); a port it
# holds is reported by `daiko-stack up` like any other taken port.
if ! dpkg-query -W -f='${Status}' prometheus 2>/dev/null | grep -q 'install ok installed'; then
  apt_install prometheus
  if [ -x /etc/init.d/prometheus ]; then
    as_root /etc/init.d/prometheus stop >/dev/null 2>&1 || true
    command -v update-rc.d >/dev/null 2>&1 && as_root update-rc.d prometheus disable >/dev/null 2>&1 || true
  fi
  if [ -d /run/systemd/system ]; then
    as_root systemctl disable --now prometheus.service >/dev/null 2>&1 || true
  fi
fi
