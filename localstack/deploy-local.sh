#!/usr/bin/env bash
# `make deploy-local`: deploy the CDK stack (infra/) onto a local emulator and
# print the API URL. Uses AWS_ENDPOINT_URL when it is set (LocalStack, or the
# e2e test's own MiniStack); otherwise starts MiniStack on 127.0.0.1:4566.
# Expects `make lambdas ARCH=<host arch>` to have run: the emulator runs the
# bootstrap binaries as host processes.
#
# Env: STAGE (default dev), CDK_ARGS (extra "-c key=value"), CDK_OUT (cloud
# assembly dir, default cdk.out), OUTPUTS_FILE (stack outputs JSON).
set -euo pipefail
cd "$(dirname "$0")/.."
STAGE=${STAGE:-dev}
export AWS_REGION=${AWS_REGION:-us-east-1}
export AWS_DEFAULT_REGION=$AWS_REGION
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
if [ -z "${AWS_ENDPOINT_URL:-}" ]; then
  export AWS_ENDPOINT_URL=http://127.0.0.1:${MINISTACK_PORT:-4566}
  localstack/ministack.sh status >/dev/null 2>&1 || localstack/ministack.sh start
fi
# cdklocal refuses AWS_ENDPOINT_URL without an S3 endpoint (asset uploads).
export AWS_ENDPOINT_URL_S3=${AWS_ENDPOINT_URL_S3:-$AWS_ENDPOINT_URL}
ACCOUNT=${CDK_DEFAULT_ACCOUNT:-000000000000}
CDK_OUT=${CDK_OUT:-cdk.out}
OUTPUTS_FILE=${OUTPUTS_FILE:-$CDK_OUT/outputs-$STAGE.json}
ARCH=$(go env GOARCH)
CDKLOCAL=node_modules/.bin/cdklocal
[ -x "$CDKLOCAL" ] || { echo "deploy-local: $CDKLOCAL missing; run it through 'make deploy-local'" >&2; exit 1; }
for f in build/*/bootstrap; do [ -f "$f" ] || { echo "deploy-local: no build/*/bootstrap; run 'make lambdas ARCH=$ARCH'" >&2; exit 1; }; done

# The bootstrap stack (SSM version parameter, asset bucket) is what `cdk deploy`
# checks for; re-running it on a bootstrapped emulator changes nothing.
"$CDKLOCAL" bootstrap --output "$CDK_OUT" -c stage="$STAGE" -c arch="$ARCH" "aws://$ACCOUNT/$AWS_REGION" >&2
# shellcheck disable=SC2086 # CDK_ARGS is a list of flags
"$CDKLOCAL" deploy --require-approval never --progress events --output "$CDK_OUT" \
  -c stage="$STAGE" -c arch="$ARCH" ${CDK_ARGS:-} --outputs-file "$OUTPUTS_FILE" >&2
API_ID=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(next(iter(d.values()))["ApiId"])' "$OUTPUTS_FILE")
TABLE=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(next(iter(d.values()))["TableName"])' "$OUTPUTS_FILE")
echo "Table: $TABLE (mint a key: ONVERA_TABLE=$TABLE AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL go run ./cmd/onvera keys create --org acme --scopes deployments:read,deployments:write)" >&2
echo "${AWS_ENDPOINT_URL%/}/_aws/execute-api/$API_ID"
