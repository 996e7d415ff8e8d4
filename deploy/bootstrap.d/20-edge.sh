# The edge (devstack/edge.py): Debian's nginx, run as a process of our own with its own
# generated config, pid and logs under .daiko/edge. The package's own service is never
# used; if the package install started it, it listens on port 80 only, not on ours.
apt_install nginx
