#!/usr/bin/env bash
# LocalStack (Docker + auth token) for those who prefer it to MiniStack.
# Usage: localstack/localstack.sh up|down|status
# Then: AWS_ENDPOINT_URL=http://127.0.0.1:4566 make deploy-local
set -euo pipefail
cd "$(dirname "$0")"
URL=http://127.0.0.1:4566
healthy() { curl -fsS "$URL/_localstack/health" >/dev/null 2>&1; }
case "${1:-}" in
up)
  command -v docker >/dev/null || { echo "no docker here; use MiniStack: make deploy-local" >&2; exit 1; }
  : "${LOCALSTACK_AUTH_TOKEN:?set LOCALSTACK_AUTH_TOKEN (the LocalStack image requires one)}"
  docker compose up -d
  for _ in $(seq 1 120); do healthy && { echo "LocalStack up on $URL"; exit 0; }; sleep 1; done
  echo "LocalStack did not become healthy; docker compose logs localstack" >&2; exit 1 ;;
down) docker compose down ;;
status) healthy && echo "up on $URL" || { echo "down"; exit 1; } ;;
*) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
