# Two commands on a fresh machine: `make run` and `make test`. Each installs
# what it needs: Go modules, and MiniStack into the project virtualenv.
SHELL := /bin/bash
VENV := .venv
MINISTACK_VERSION := 1.5.33
STAMP := $(VENV)/.ministack-$(MINISTACK_VERSION)
SCHEMATHESIS_VERSION := 4.32.5
SCHEMATHESIS := $(VENV)/.schemathesis-$(SCHEMATHESIS_VERSION)
# Local credentials and region only for the local targets; deploy uses yours.
LOCAL_ENV := AWS_REGION=$${AWS_REGION:-us-east-1} AWS_ACCESS_KEY_ID=$${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=$${AWS_SECRET_ACCESS_KEY:-test}
FUNCTIONS := $(notdir $(wildcard functions/*))

.PHONY: run test venv deps vet unit clean

$(STAMP):
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check ministack==$(MINISTACK_VERSION)
	touch $@

venv: $(STAMP)

deps:
	go mod download

## run: the API on 127.0.0.1:8080 (PORT overrides) against MiniStack or $$AWS_ENDPOINT_URL
run: venv deps
	./localstack/run-local.sh

## test: vet, unit and integration tests (the harness starts its own MiniStack)
test: venv deps vet $(SCHEMATHESIS) cfn-lint-install checkov-install
	$(LOCAL_ENV) go test -count=1 -timeout 20m ./...
	$(MAKE) test-e2e-cdk

# OpenAPI conformance: schemathesis fuzzes a live gateway from the served
# document (test/conformance, also part of `make test`).
$(SCHEMATHESIS): $(STAMP)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check schemathesis==$(SCHEMATHESIS_VERSION)
	touch $@

.PHONY: conformance
## conformance: openapi.yaml against a live gateway: kin-openapi, the CLI binary, schemathesis
conformance: venv deps $(SCHEMATHESIS)
	$(LOCAL_ENV) go test -count=1 -timeout 20m -v ./test/conformance/

## openapi: regenerate pkg/openapi/openapi.json (served) from openapi.yaml (edited)
.PHONY: openapi
openapi:
	go run ./pkg/openapi/gen

vet:
	go vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*'))" || { gofmt -l .; echo "gofmt: files above need formatting"; exit 1; }

clean:
	rm -rf bin build cdk.out

# ---- infrastructure (infra/, cdk.json): see localstack/README.md ----
# Lambdas for AWS are arm64; `deploy-local` builds for this host (MiniStack runs
# the bootstrap binaries as plain host processes).
ARCH ?= arm64
HOST_ARCH := $(shell go env GOARCH)
STAGE ?= dev
CDK := node_modules/.bin/cdk
CDKLOCAL := node_modules/.bin/cdklocal
NODE_STAMP := node_modules/.installed
CFN_LINT_VERSION := 1.58.0
CFN_LINT := $(VENV)/.cfn-lint-$(CFN_LINT_VERSION)
CHECKOV_VERSION := 3.3.30
CHECKOV := $(VENV)/.checkov-$(CHECKOV_VERSION)
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: lambdas synth deploy deploy-local test-e2e-cdk cfn-lint-install checkov-install

## lambdas: build/<name>/bootstrap for every functions/<name> (ARCH=arm64|amd64)
lambdas:
	GOOS=linux GOARCH=$(ARCH) CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -ldflags "-s -w" -o build/.bin/ ./functions/...
	@for f in $(FUNCTIONS); do mkdir -p build/$$f && mv -f build/.bin/$$f build/$$f/bootstrap; done

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(CFN_LINT): $(STAMP)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check cfn-lint==$(CFN_LINT_VERSION)
	touch $@

cfn-lint-install: $(CFN_LINT)

.PHONY: templates
## templates: synthesize the deployment stacks (infra/apps) into pkg/provision/cfn/templates/<app>.json
templates:
	go run ./infra/apps/gen -out pkg/provision/cfn/templates

# checkov gets a virtualenv of its own inside .venv: it pins boto3/botocore,
# packaging and networkx to versions that would downgrade what MiniStack,
# schemathesis and cfn-lint use from .venv. infra/stack/checkov_test.go runs it.
$(CHECKOV): $(STAMP)
	python3 -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/pip install --quiet --disable-pip-version-check checkov==$(CHECKOV_VERSION)
	touch $@

checkov-install: $(CHECKOV)

## synth: cdk.out/ for STAGE (arm64 Lambdas); extra context via CDK_ARGS="-c key=value"
synth: lambdas $(NODE_STAMP)
	$(CDK) synth -q -c stage=$(STAGE) -c arch=$(ARCH) $(CDK_ARGS)

## deploy: the whole stack into the account/region of your AWS credentials (STAGE=prod ...)
deploy: lambdas $(NODE_STAMP)
	$(CDK) deploy --require-approval never -c stage=$(STAGE) -c arch=$(ARCH) $(CDK_ARGS) --outputs-file cdk.out/outputs-$(STAGE).json
	@echo "API: $$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(next(iter(d.values()))["ApiUrl"])' cdk.out/outputs-$(STAGE).json)"

## deploy-local: the same stack onto MiniStack (started if needed) or $$AWS_ENDPOINT_URL; prints the API URL
deploy-local: venv $(NODE_STAMP)
	$(MAKE) lambdas ARCH=$(HOST_ARCH)
	STAGE=$(STAGE) ./localstack/deploy-local.sh

## test-e2e-cdk: deploy onto a MiniStack of its own and drive create -> ready -> delete -> destroyed
test-e2e-cdk: venv $(NODE_STAMP)
	$(MAKE) lambdas ARCH=$(HOST_ARCH)
	$(LOCAL_ENV) go test -count=1 -timeout 15m -tags e2e ./infra/e2e/

# ---- performance (issue 6): cmd/bench; see README "Performance" ----
RIE := bin/aws-lambda-rie

$(RIE):
	GOBIN=$(CURDIR)/bin go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@latest

.PHONY: bench
## bench: the issue-6 budgets against a MiniStack of its own; prints one table and writes bench/RESULTS.md (BENCH_ARGS="-only calls,depth -depths 1000")
bench: venv deps $(RIE)
	@mkdir -p bench
	$(LOCAL_ENV) go run ./cmd/bench -rie $(RIE) -out bench/RESULTS.md $(BENCH_ARGS)
