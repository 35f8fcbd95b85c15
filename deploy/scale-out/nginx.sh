#!/usr/bin/env bash
# Runs nginx (the Debian package: apt-get install nginx-light) in the foreground as a load balancer on
# 127.0.0.1:LISTEN_PORT over voice-stream instances on the given loopback ports. Unprivileged: config, pid, logs and
# temp files live in a fresh folder (printed first). Stop it with SIGTERM/SIGQUIT.
#   deploy/scale-out/nginx.sh LISTEN_PORT UPSTREAM_PORT [UPSTREAM_PORT...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ "$#" -lt 2 ]; then
  echo "usage: $0 LISTEN_PORT UPSTREAM_PORT [UPSTREAM_PORT...]" >&2
  exit 2
fi
nginx_bin="${NGINX_BIN:-$(command -v nginx || echo /usr/sbin/nginx)}"
if [ ! -x "$nginx_bin" ]; then
  echo "nginx not found (apt-get install nginx-light)" >&2
  exit 3
fi
listen="$1"
shift
prefix="$(mktemp -d "${TMPDIR:-/tmp}/vs-nginx-XXXXXX")"
chmod 755 "$prefix" # readable by the worker user when started as root
upstreams=""
for port in "$@"; do
  upstreams+="        server 127.0.0.1:${port} max_fails=3 fail_timeout=10s;"$'\n'
done
awk -v prefix="$prefix" -v listen="$listen" -v upstreams="$upstreams" '
  /__UPSTREAMS__/ { printf "%s", upstreams; next }
  { gsub(/__PREFIX__/, prefix); gsub(/__LISTEN__/, listen); print }
' "$here/nginx.conf.template" > "$prefix/nginx.conf"
echo "nginx: prefix $prefix, listening on 127.0.0.1:$listen"
"$nginx_bin" -t -q -p "$prefix" -c "$prefix/nginx.conf"
exec "$nginx_bin" -p "$prefix" -c "$prefix/nginx.conf"
