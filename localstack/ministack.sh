#!/usr/bin/env bash
# Start or stop MiniStack (the default local AWS endpoint) from the project's
# virtualenv, bound to loopback. Usage: localstack/ministack.sh start|stop|status
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${MINISTACK_PORT:-4566}
PIDFILE=${TMPDIR:-/tmp}/onvera-ministack-$PORT.pid
LOG=${TMPDIR:-/tmp}/onvera-ministack-$PORT.log
URL=http://127.0.0.1:$PORT

healthy() { .venv/bin/python - "$URL" <<'PY' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(sys.argv[1] + "/_localstack/health", timeout=1)
PY
}

case "${1:-}" in
start)
  if healthy; then echo "MiniStack already answers on $URL"; exit 0; fi
  # AWS_ENDPOINT_URL in its own environment keeps the Lambdas it runs local;
  # BIND_HOST keeps it off the network; IOT_MTLS_ENABLED=0 avoids a second listener.
  GATEWAY_PORT=$PORT BIND_HOST=127.0.0.1 IOT_MTLS_ENABLED=0 SFTP_ENABLED=0 AWS_ENDPOINT_URL=$URL \
    LAMBDA_EXECUTOR=local nohup .venv/bin/python -m ministack >"$LOG" 2>&1 &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 100); do healthy && { echo "MiniStack started on $URL (log $LOG)"; exit 0; }; sleep 0.1; done
  echo "MiniStack did not start; see $LOG" >&2; exit 1 ;;
stop)
  if [ -f "$PIDFILE" ]; then kill "$(cat "$PIDFILE")" 2>/dev/null || true; rm -f "$PIDFILE"; echo "MiniStack stopped"; fi ;;
status)
  healthy && echo "up on $URL" || { echo "down"; exit 1; } ;;
*) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
