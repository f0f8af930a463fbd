# Two commands on a fresh Debian 12 machine (as root): `make demo` and `make test`.
# Each installs the Debian packages it needs (scripts/install-deps) and builds first.
SHELL := /bin/bash
SWIFT ?= $(shell command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)
BIN := .build/debug/tmeops
DEMO_DIR := .demo
FORMAT_PATHS := Sources Plugins Tests Package.swift

.PHONY: all deps build test asan unit-test demo generate generate-check format format-check \
        sandbox-up sandbox-down sandbox-status bench clean

all: build

deps:
	@scripts/install-deps

build: deps
	$(SWIFT) build

# Unit, end-to-end and sandbox integration tests. The sandbox is required: a missing one fails.
test: build generate-check format-check sandbox-up
	@# A hung test must fail CI with a message long before its 90-minute limit.
	TMEOPS_REQUIRE_SANDBOX=1 timeout 2700 $(SWIFT) test --disable-swift-testing

# The suite under AddressSanitizer, in its own build folder: the C libraries' handles are where
# use-after-free bugs hide (one did: a released advisory lock's PGconn).
asan: build sandbox-up
	ASAN_OPTIONS=detect_leaks=0 TMEOPS_REQUIRE_SANDBOX=1 $(SWIFT) test --sanitize=address --scratch-path .build-asan --disable-swift-testing

# Tests that need no sandbox (sandbox tests skip here).
unit-test: build
	$(SWIFT) test --disable-swift-testing --skip SandboxIntegrationTests

# The main job so far: the simulated production host comes up and tmeops talks to its configuration.
demo: build sandbox-up
	scripts/sandbox seed
	scripts/sandbox config --write $(DEMO_DIR) --migrations
	@echo; echo "\$$ tmeops version"; cd $(DEMO_DIR) && ../$(BIN) version
	@echo; echo "\$$ tmeops config check"; cd $(DEMO_DIR) && ../$(BIN) config check
	@echo; echo "\$$ tmeops plugins"; cd $(DEMO_DIR) && ../$(BIN) plugins
	@echo; echo "\$$ tmeops ssh check -e sandbox"; cd $(DEMO_DIR) && ../$(BIN) ssh check -e sandbox
	@echo; echo "\$$ tmeops ssh exec -e sandbox -- docker ps"; cd $(DEMO_DIR) && ../$(BIN) ssh exec -e sandbox -- \
		env DOCKER_HOST=unix://$$(../scripts/sandbox env | sed -n 's/^SANDBOX_DOCKER_SOCKET=//p') docker ps --format '{{.Names}}  {{.Status}}'
	@echo; echo "\$$ tmeops transfer put (a 64 MiB release file) and get it back"; cd $(DEMO_DIR) && \
		head -c 67108864 /dev/urandom > release.bin && ../$(BIN) transfer put release.bin /home/tme-user/releases/ -e sandbox --mkdir && \
		../$(BIN) transfer get /home/tme-user/releases/release.bin release-copy.bin -e sandbox && cmp release.bin release-copy.bin && \
		rm -f release.bin release-copy.bin
	@echo; echo "# build -> verify -> push of app version 2, from the local engine to the sandbox host"
	cp scripts/sandbox.d/app-v2.Dockerfile $(DEMO_DIR)/Dockerfile
	@echo; echo "\$$ tmeops image build"; cd $(DEMO_DIR) && DOCKER_HOST=unix://$$(../scripts/sandbox env | sed -n 's/^SANDBOX_LOCAL_DOCKER_SOCKET=//p') \
		../$(BIN) image build 2>/dev/null
	@echo; echo "\$$ tmeops image verify tme-portal-server:latest"; cd $(DEMO_DIR) && DOCKER_HOST=unix://$$(../scripts/sandbox env | sed -n 's/^SANDBOX_LOCAL_DOCKER_SOCKET=//p') \
		../$(BIN) image verify tme-portal-server:latest
	@echo; echo "\$$ tmeops image push tme-portal-server:latest -e sandbox"; cd $(DEMO_DIR) && DOCKER_HOST=unix://$$(../scripts/sandbox env | sed -n 's/^SANDBOX_LOCAL_DOCKER_SOCKET=//p') \
		../$(BIN) image push tme-portal-server:latest -e sandbox
	@echo; echo "\$$ tmeops image tag-backup -e sandbox"; cd $(DEMO_DIR) && ../$(BIN) image tag-backup -e sandbox
	@echo; echo "# the runbook's schema phase: production was migrated by hand to 009; development is at 014"
	@echo; echo "\$$ tmeops migrate status -e sandbox"; cd $(DEMO_DIR) && ../$(BIN) migrate status -e sandbox | head -4; echo "  ..."
	@echo; echo "\$$ tmeops migrate adopt -e sandbox"; cd $(DEMO_DIR) && ../$(BIN) migrate adopt -e sandbox
	@echo; echo "\$$ tmeops schema diff --from sandbox --to development"; cd $(DEMO_DIR) && ../$(BIN) schema diff --from sandbox --to development || \
		echo "(exit $$?: drift, as expected)"
	@echo; echo "\$$ tmeops schema plan --from sandbox --to development"; cd $(DEMO_DIR) && ../$(BIN) schema plan --from sandbox --to development
	@echo; echo "\$$ tmeops backup create -e sandbox --label pre-migrate"; cd $(DEMO_DIR) && ../$(BIN) backup create -e sandbox --label pre-migrate
	@echo; echo "\$$ tmeops backup verify latest -e sandbox"; cd $(DEMO_DIR) && ../$(BIN) backup verify latest -e sandbox
	@echo; echo "\$$ tmeops backup list -e sandbox"; cd $(DEMO_DIR) && ../$(BIN) backup list -e sandbox
	@echo; echo "\$$ tmeops migrate test -e sandbox --expect development"; cd $(DEMO_DIR) && ../$(BIN) migrate test -e sandbox --expect development
	@echo; echo "\$$ tmeops migrate apply -e sandbox"; cd $(DEMO_DIR) && ../$(BIN) migrate apply -e sandbox
	@echo; echo "\$$ tmeops schema diff --from sandbox --to development"; cd $(DEMO_DIR) && ../$(BIN) schema diff --from sandbox --to development
	@echo; echo "\$$ tmeops validate -e sandbox"; cd $(DEMO_DIR) && ../$(BIN) validate -e sandbox
	@echo; echo "\$$ tmeops config show -e sandbox"; cd $(DEMO_DIR) && ../$(BIN) config show -e sandbox
	@echo; echo "\$$ tmeops help swap"; cd $(DEMO_DIR) && ../$(BIN) help swap
	@echo; echo "demo: the sandbox stays up (scripts/sandbox status); its tmeops.yml is in $(DEMO_DIR)/"

# Regenerate the team plugin registry from Plugins/*/plugin.yml.
generate: build
	$(BIN) plugin generate

generate-check: build
	$(BIN) plugin generate --check

format:
	$(SWIFT) format --in-place --recursive $(FORMAT_PATHS)

format-check:
	$(SWIFT) format lint --strict --recursive $(FORMAT_PATHS)

sandbox-up: deps
	scripts/sandbox up

sandbox-down:
	scripts/sandbox down

sandbox-status:
	scripts/sandbox status

# Figures for docs/PERFORMANCE.md, measured with a release build.
bench: build sandbox-up
	$(SWIFT) build -c release --product tmeops
	TMEOPS_BINARY=$(CURDIR)/.build/release/tmeops bench/cli-startup
	TMEOPS_BINARY=$(CURDIR)/.build/release/tmeops bench/transfer
	TMEOPS_BINARY=$(CURDIR)/.build/release/tmeops bench/schema
	bench/sandbox-up

clean:
	rm -rf .build $(DEMO_DIR)
