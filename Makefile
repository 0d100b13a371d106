# The two commands of this project: `make run` (the local stack) and
# `make test` (every test). See README.md.

GO        ?= go
FUNCTIONS := $(notdir $(wildcard functions/*))
BUILD_DIR := build
# Lambda artifacts: one static linux/arm64 bootstrap per function.
LAMBDA_FLAGS := -tags lambda.norpc -trimpath -ldflags="-s -w"
MAX_BINARY_BYTES := 12582912

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION = 20
export CDK_DISABLE_CLI_TELEMETRY = true

.PHONY: run test check bench build clean deps

## run: the whole system on 127.0.0.1:$PORT (default 8000), DynamoDB (moto) on $DYNAMODB_PORT (default 8001)
run: deps
	$(GO) run ./cmd/localstack

## test: formatting, vet, and every test (unit, integration against moto, cost, pipeline faults)
test: deps check
	$(GO) test -count=1 -race ./...

## check: gofmt and go vet
check:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

## bench: the audit hot path (decode, derive, encode), the stream decoder, signing
bench:
	$(GO) test -run=NONE -bench=. -benchmem -count=3 ./shared/auditstream ./shared/streamrecord ./shared/signing

## build: the Lambda artifacts under build/<function>/bootstrap, each at most 12 MB
build:
	@for fn in $(FUNCTIONS); do \
		GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $(BUILD_DIR)/$$fn/bootstrap ./functions/$$fn || exit 1; \
		size=$$(stat -c %s $(BUILD_DIR)/$$fn/bootstrap); \
		printf '%-16s %9d bytes\n' $$fn $$size; \
		if [ $$size -gt $(MAX_BINARY_BYTES) ]; then echo "$$fn exceeds 12 MB"; exit 1; fi; \
	done

## deps: what the local stack and the tests need besides Go (moto, from PyPI)
deps:
	@python3 -c 'import moto.server, werkzeug' 2>/dev/null || python3 -m pip install --quiet 'moto[server]>=5.1,<6'

clean:
	rm -rf $(BUILD_DIR) cdk.out
