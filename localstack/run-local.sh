#!/usr/bin/env bash
# `make run`: the whole API on this machine. Uses AWS_ENDPOINT_URL when it is
# set (a LocalStack, say); otherwise starts MiniStack on 127.0.0.1:4566 and
# stops it again on Ctrl-C if this script started it.
set -euo pipefail
cd "$(dirname "$0")/.."
export AWS_REGION=${AWS_REGION:-us-east-1}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
started=""
if [ -z "${AWS_ENDPOINT_URL:-}" ]; then
  export AWS_ENDPOINT_URL=http://127.0.0.1:${MINISTACK_PORT:-4566}
  if ! localstack/ministack.sh status >/dev/null 2>&1; then
    localstack/ministack.sh start
    started=1
  fi
fi
cleanup() { [ -n "$started" ] && localstack/ministack.sh stop; }
trap cleanup EXIT
go build -o bin/localgw ./cmd/localgw
bin/localgw
