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

.PHONY: run test check bench soak build clean deps inmorctl
.PHONY: synth deploy destroy diff infra-test deps-infra
.PHONY: browser-test deps-browser deps-node deps-tools

# The CDK CLI, pinned in package.json; offline: no telemetry, no notices.
CDK       := npx --no-install cdk
CDK_FLAGS := --no-notices
# More CDK options, e.g. CDK_ARGS="-c entityId=https://ta.example.org -c alarmEmail=ops@example.org"
CDK_ARGS  ?=

# The browser test of the admin view: its own npm packages (playwright-core).
BROWSER_TEST_DIR := shared/adminui/testdata/browser

## run: the whole system on 127.0.0.1:$PORT (default 8000), DynamoDB (moto) on $DYNAMODB_PORT (default 8001)
#      The tables are kept in .local/state across restarts; FRESH=1 starts empty.
#      Built, then run in make's place (exec): Ctrl-C, or SIGINT or SIGTERM sent
#      to make, stops it cleanly (see cmd/localstack).
run: deps
	@$(GO) build -o bin/localstack ./cmd/localstack && exec bin/localstack

## test: formatting, vet, and every test (unit, integration against moto, cost, pipeline faults, the CDK app, the admin view in a browser)
test: deps deps-infra deps-browser deps-tools check
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

## bench: the audit hot path (decode, derive, check the attribution MAC, encode, hash the Merkle leaf; batches of 100) and its ratio to the naive aws-lambda-go + encoding/json path, the stream decoder, signing, audit log pages, the Merkle tree (leaf hashing, append hashes, proofs); then each function's cold start against hello-world functions
bench:
	$(GO) test -run=NONE -bench=. -benchmem -count=3 ./shared/auditstream ./shared/streamrecord ./shared/signing ./shared/adminapi ./shared/integrity
	$(GO) test -run=NONE -bench=ColdStart -benchtime=30x ./shared/app

## soak: a benchmark of the local stack over a day's work: 5,000 audited writes through the gateway; prints moto's memory, write latency, change→entry lag and the total time (SOAK_ARGS="-writes 1000" for a shorter run)
soak: deps
	$(GO) run ./cmd/soak $(SOAK_ARGS)

## inmorctl: the operator CLI as bin/inmorctl
inmorctl:
	$(GO) build -o bin/inmorctl ./cmd/inmorctl

## build: the Lambda artifacts under build/<function>/bootstrap, each at most 12 MB
build:
	@for fn in $(FUNCTIONS); do \
		GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $(BUILD_DIR)/$$fn/bootstrap ./functions/$$fn || exit 1; \
		size=$$(stat -c %s $(BUILD_DIR)/$$fn/bootstrap); \
		printf '%-16s %9d bytes\n' $$fn $$size; \
		if [ $$size -gt $(MAX_BINARY_BYTES) ]; then echo "$$fn exceeds 12 MB"; exit 1; fi; \
	done

# MOTO_VERSION is the moto release shared/motoserver/moto_server.py patches
# (shared/motoserver/motoserver.go names the same; a test checks they agree).
MOTO_VERSION := 5.2.1

# apt_install,PACKAGES,WHAT installs Debian packages when make runs as root
# on a machine with apt-get; otherwise it says what to run, and fails.
define apt_install
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing $(1) for $(2) (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1) >/dev/null; \
	else \
		echo "$(2): $(1) missing; run  sudo apt-get update && sudo apt-get install -y $(1)  (or install it another way), then try again"; \
		exit 1; \
	fi
endef

## deps: what the local stack and the tests need besides Go: Python 3 with pip, and moto from PyPI
deps:
	@command -v python3 >/dev/null 2>&1 && python3 -m pip --version >/dev/null 2>&1 || { $(call apt_install,python3 python3-pip,the local DynamoDB (moto)); }
	@python3 -c 'import sys, moto.server, werkzeug; sys.exit(moto.__version__ != "$(MOTO_VERSION)")' 2>/dev/null || \
		python3 -m pip install --quiet 'moto[server]==$(MOTO_VERSION)' || \
		python3 -m pip install --quiet --break-system-packages 'moto[server]==$(MOTO_VERSION)'

## deps-infra: what the CDK app needs besides Go: Node, the pinned CDK CLI (npm ci) and cfn-lint (PyPI)
deps-infra: deps deps-node
	@[ -x node_modules/.bin/cdk ] && [ -f node_modules/go.mod ] || npm ci --no-audit --no-fund --loglevel=error
	@command -v cfn-lint >/dev/null 2>&1 || python3 -m pip install --quiet 'cfn-lint>=1,<2' || \
		python3 -m pip install --quiet --break-system-packages 'cfn-lint>=1,<2'

## infra-test: the CDK app's tests only (assertions, cdk-nag, cfn-lint)
infra-test: deps-infra
	$(GO) test -count=1 ./infra

## deps-browser: what the browser test needs besides Go: playwright-core (npm ci; it downloads no browser) and Debian's chromium
deps-browser: deps-node
	@[ -f $(BROWSER_TEST_DIR)/node_modules/playwright-core/package.json ] || \
		PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix $(BROWSER_TEST_DIR) --no-audit --no-fund --loglevel=error
	@[ -x "$${CHROMIUM:-/usr/bin/chromium}" ] || { $(call apt_install,chromium,the browser test of the admin view); }

## deps-tools: what the tests run besides Go: curl and bash (the README's examples), script from bsdutils (make run on a terminal)
deps-tools:
	@command -v curl >/dev/null 2>&1 || { $(call apt_install,curl,the test of the README's examples); }
	@command -v bash >/dev/null 2>&1 && command -v script >/dev/null 2>&1 || { $(call apt_install,bash bsdutils,the tests of make run); }

## deps-node: Node 20 or newer with npm (the CDK app and the browser test)
deps-node:
	@command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || { $(call apt_install,nodejs npm,the CDK app and the browser test); }
	@node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' || { echo "Node 20 or newer is required, found $$(node --version)"; exit 1; }

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
	rm -rf $(BUILD_DIR) cdk.out bin
