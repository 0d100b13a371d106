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
.PHONY: synth deploy destroy diff infra-test deps-infra
.PHONY: browser-test deps-browser

# The CDK CLI, pinned in package.json; offline: no telemetry, no notices.
CDK       := npx --no-install cdk
CDK_FLAGS := --no-notices
# More CDK options, e.g. CDK_ARGS="-c entityId=https://ta.example.org -c alarmEmail=ops@example.org"
CDK_ARGS  ?=

# The browser test of the admin view: its own npm packages (playwright-core).
BROWSER_TEST_DIR := shared/adminui/testdata/browser

## run: the whole system on 127.0.0.1:$PORT (default 8000), DynamoDB (moto) on $DYNAMODB_PORT (default 8001)
run: deps
	$(GO) run ./cmd/localstack

## test: formatting, vet, and every test (unit, integration against moto, cost, pipeline faults, the CDK app, the admin view in a browser)
test: deps deps-infra check
	$(GO) test -count=1 -race ./...
	@$(MAKE) --no-print-directory browser-test

## browser-test: the admin view in headless chromium on a local stack; screenshots in build/screenshots/
browser-test: deps deps-browser
	$(GO) vet -tags browser ./shared/localstack
	$(GO) test -count=1 -tags browser -run '^TestAdminUIInBrowser$$' ./shared/localstack

## check: gofmt and go vet
check:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

## bench: the audit hot path (decode, derive, encode; batches of 100), the stream decoder, signing, audit log pages
bench:
	$(GO) test -run=NONE -bench=. -benchmem -count=3 ./shared/auditstream ./shared/streamrecord ./shared/signing ./shared/api

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

## deps-infra: what the CDK app needs besides Go: Node, the pinned CDK CLI (npm ci) and cfn-lint (PyPI)
deps-infra:
	@command -v node >/dev/null 2>&1 || { echo "Node 20 or newer is required for the CDK app"; exit 1; }
	@[ -x node_modules/.bin/cdk ] && [ -f node_modules/go.mod ] || npm ci --no-audit --no-fund --loglevel=error
	@command -v cfn-lint >/dev/null 2>&1 || python3 -m pip install --quiet 'cfn-lint>=1,<2'

## infra-test: the CDK app's tests only (assertions, cdk-nag, cfn-lint)
infra-test: deps-infra
	$(GO) test -count=1 ./infra

## deps-browser: what the browser test needs besides Go: playwright-core (npm ci; it downloads no browser) and Debian's chromium
deps-browser:
	@command -v node >/dev/null 2>&1 || { echo "Node 20 or newer is required for the browser test"; exit 1; }
	@[ -f $(BROWSER_TEST_DIR)/node_modules/playwright-core/package.json ] || \
		PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix $(BROWSER_TEST_DIR) --no-audit --no-fund --loglevel=error
	@[ -x "$${CHROMIUM:-/usr/bin/chromium}" ] || echo "chromium is missing (apt-get install -y chromium; .ci/run installs it): the browser test will fail"

## synth: the Lambda artifacts, then the CloudFormation template in cdk.out/ (offline, no AWS account), linted
synth: build deps-infra
	$(CDK) synth $(CDK_FLAGS) --quiet $(CDK_ARGS)
	cfn-lint --ignore-checks W3005 -- cdk.out/*.template.json

## diff: what a deploy would change (needs AWS credentials)
diff: build deps-infra
	$(CDK) diff $(CDK_FLAGS) $(CDK_ARGS)

## deploy: build and deploy the stack (needs AWS credentials and a bootstrapped account); outputs in cdk-outputs.json
deploy: build deps-infra
	$(CDK) deploy $(CDK_FLAGS) --require-approval broadening --outputs-file cdk-outputs.json $(CDK_ARGS)

## destroy: delete the stack (the audit table, the signing key and, unless retainData=false, the data tables are kept)
destroy: build deps-infra
	$(CDK) destroy $(CDK_FLAGS) $(CDK_ARGS)

clean:
	rm -rf $(BUILD_DIR) cdk.out
