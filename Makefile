# Two commands on a fresh machine: `make run` and `make test`. Each installs
# what it needs: Go modules, and MiniStack into the project virtualenv.
SHELL := /bin/bash
VENV := .venv
MINISTACK_VERSION := 1.5.33
STAMP := $(VENV)/.ministack-$(MINISTACK_VERSION)
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
test: venv deps vet
	$(LOCAL_ENV) go test -count=1 -timeout 20m ./...

vet:
	go vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*'))" || { gofmt -l .; echo "gofmt: files above need formatting"; exit 1; }

clean:
	rm -rf bin build cdk.out
