# Two commands on a fresh Debian 12 machine (as root): `make demo` and `make test`.
# Each installs the Debian packages it needs (scripts/install-deps) and builds first.
SHELL := /bin/bash
SWIFT ?= $(shell command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)
BIN := .build/debug/tmeops
DEMO_DIR := .demo
FORMAT_PATHS := Sources Plugins Tests Package.swift

.PHONY: all deps build test asan unit-test demo generate generate-check format format-check \
        sandbox-up sandbox-down sandbox-status bench clean release install

all: build

# libssh2 1.11 or later (RSA keys, chacha20-poly1305 and AES-GCM): where the system's is older,
# scripts/build-libssh2 builds it as a static library under .build/deps, found through this path.
export PKG_CONFIG_PATH := $(CURDIR)/.build/deps/libssh2/lib/pkgconfig$(if $(PKG_CONFIG_PATH),:$(PKG_CONFIG_PATH),)

deps:
	@scripts/install-deps
	@scripts/build-libssh2 >/dev/null

build: deps
	$(SWIFT) build

# Unit, end-to-end and sandbox integration tests, with the sandbox required (a missing one fails): the
# sandbox comes up during the build, the release tarball and the format check run in the background,
# and the test classes run in streams at once (scripts/test-streams; CONTRIBUTING.md explains the tiers).
# LANES=1 runs every class in one process, in order.
test: deps
	@scripts/test-suite

# The suite under AddressSanitizer, in its own build folder: the C libraries' handles are where
# use-after-free bugs hide (one did: a released advisory lock's PGconn).
asan: build sandbox-up
	ASAN_OPTIONS=detect_leaks=0 TMEOPS_REQUIRE_SANDBOX=1 $(SWIFT) test --sanitize=address --scratch-path .build-asan --disable-swift-testing

# The unit tests: every class whose name ends in neither Serial nor SandboxTests needs no sandbox.
unit-test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --disable-swift-testing --parallel --num-workers 2 --skip 'Serial/|SandboxTests/'

# The main job: a real deploy into the sandbox host. Production runs version 1 of the sample app with
# its database migrated by hand to 009; development is at 014. tmeops adopts the hand-made state, shows
# the drift and its plan, deploys version 2 (backup, push, migrate test, test instance, migrate apply,
# swap, validation), then a broken version 3 that is stopped and rolled back by itself; then the same
# on three servers behind a load balancer (a rolling deploy, server by server).
LOCAL_ENGINE = DOCKER_HOST=unix://$$(../scripts/sandbox env | sed -n 's/^SANDBOX_LOCAL_DOCKER_SOCKET=//p')
demo: build sandbox-up
	scripts/sandbox seed
	scripts/sandbox config --write $(DEMO_DIR) --migrations
	@echo; echo "\$$ tmeops version"; cd $(DEMO_DIR) && ../$(BIN) version
	@echo; echo "\$$ tmeops ssh check -e sandbox"; cd $(DEMO_DIR) && ../$(BIN) ssh check -e sandbox
	@echo; echo "# production was migrated by hand to 009; development is at 014"
	@echo; echo "\$$ tmeops migrate adopt -e sandbox"; cd $(DEMO_DIR) && ../$(BIN) migrate adopt -e sandbox
	@echo; echo "\$$ tmeops migrate status -e sandbox"; cd $(DEMO_DIR) && ../$(BIN) migrate status -e sandbox
	@echo; echo "\$$ tmeops schema diff --from sandbox --to development"; cd $(DEMO_DIR) && ../$(BIN) schema diff --from sandbox --to development || \
		echo "(exit $$?: drift, as expected)"
	@echo; echo "\$$ tmeops schema plan --from sandbox --to development"; cd $(DEMO_DIR) && ../$(BIN) schema plan --from sandbox --to development
	@echo; echo "# deploy version 2, which needs migrations 010-014"
	@echo; echo "\$$ tmeops preflight -e sandbox"; cd $(DEMO_DIR) && ../$(BIN) preflight -e sandbox
	@echo; echo "\$$ tmeops image verify tme-portal-server:sandbox-2"; cd $(DEMO_DIR) && $(LOCAL_ENGINE) ../$(BIN) image verify tme-portal-server:sandbox-2
	@echo; echo "\$$ tmeops deploy -e sandbox --image tme-portal-server:sandbox-2"; cd $(DEMO_DIR) && \
		$(LOCAL_ENGINE) ../$(BIN) deploy -e sandbox --image tme-portal-server:sandbox-2 --message "v2: revision numbers"
	@echo; echo "\$$ tmeops releases -e sandbox"; cd $(DEMO_DIR) && ../$(BIN) releases -e sandbox
	@echo; echo "\$$ tmeops validate -e sandbox"; cd $(DEMO_DIR) && ../$(BIN) validate -e sandbox
	@echo; echo "\$$ tmeops backup verify latest -e sandbox"; cd $(DEMO_DIR) && ../$(BIN) backup verify latest -e sandbox
	@echo; echo "\$$ tmeops backup list -e sandbox"; cd $(DEMO_DIR) && ../$(BIN) backup list -e sandbox
	@echo; echo "# a broken version 3 (its /api/health answers 500): its test instance fails, so production is never touched"
	@echo; echo "\$$ tmeops deploy -e sandbox --image tme-portal-server:sandbox-3"; cd $(DEMO_DIR) && \
		{ $(LOCAL_ENGINE) ../$(BIN) deploy -e sandbox --image tme-portal-server:sandbox-3 --message "v3"; status=$$?; \
		  test $$status -eq 1 && echo "(exit 1: refused before production changed, as intended)"; }
	@echo; echo "\$$ tmeops releases -e sandbox"; cd $(DEMO_DIR) && ../$(BIN) releases -e sandbox
	@echo; echo "\$$ tmeops releases -e sandbox --show latest   # the failing container's own words, kept"; cd $(DEMO_DIR) && ../$(BIN) releases -e sandbox --show latest
	@echo; echo "\$$ tmeops validate -e sandbox   # version 2 still serving"; cd $(DEMO_DIR) && ../$(BIN) validate -e sandbox
	@echo; echo "# the same app on three servers behind a load balancer (environment fleet; the database on the first)"
	scripts/sandbox seed fleet
	@echo; echo "\$$ tmeops migrate adopt -e fleet"; cd $(DEMO_DIR) && ../$(BIN) migrate adopt -e fleet
	@echo; echo "\$$ tmeops deploy -e fleet --image tme-portal-server:sandbox-2"; cd $(DEMO_DIR) && \
		$(LOCAL_ENGINE) ../$(BIN) deploy -e fleet --image tme-portal-server:sandbox-2 --message "v2 on three servers"
	@echo; echo "\$$ tmeops validate -e fleet"; cd $(DEMO_DIR) && ../$(BIN) validate -e fleet
	@echo; echo "\$$ tmeops deploy -e fleet --image tme-portal-server:sandbox-3"; cd $(DEMO_DIR) && \
		{ $(LOCAL_ENGINE) ../$(BIN) deploy -e fleet --image tme-portal-server:sandbox-3 --message "v3"; status=$$?; \
		  test $$status -eq 1 && echo "(exit 1: refused at its test instance; no server was touched)"; }
	@echo; echo "\$$ curl http://127.0.0.1:8080/api/health   # the load balancer: version 2 on every server"; \
		for i in 1 2 3; do curl -fsS http://127.0.0.1:8080/api/health; echo; done
	@echo; echo "# the same three servers as a Docker Swarm (environment cluster): Swarm rolls the app out, tmeops keeps the rest"
	@echo; echo "\$$ tmeops cluster up -e cluster"; cd $(DEMO_DIR) && ../$(BIN) cluster up -e cluster
	@echo; echo "\$$ tmeops deploy -e cluster --image tme-portal-server:sandbox-2   # a service of 3 replicas; front doors take port 80 node by node"; \
		cd $(DEMO_DIR) && $(LOCAL_ENGINE) ../$(BIN) deploy -e cluster --image tme-portal-server:sandbox-2 --message "v2 as a swarm service"
	@echo; echo "\$$ tmeops cluster status -e cluster"; cd $(DEMO_DIR) && ../$(BIN) cluster status -e cluster
	@echo; echo "# version 4 passes its health check and its test instance, then dies 4 s after it starts: only Swarm's update monitor sees it"
	@echo; echo "\$$ tmeops deploy -e cluster --image tme-portal-server:sandbox-4"; cd $(DEMO_DIR) && \
		{ $(LOCAL_ENGINE) ../$(BIN) deploy -e cluster --image tme-portal-server:sandbox-4 --message "v4" > /tmp/tmeops-demo-v4.log 2>&1; status=$$?; \
		  grep -v "^      task " /tmp/tmeops-demo-v4.log | tail -n 12; \
		  test $$status -eq 4 && echo "(exit 4: Swarm rolled it back by itself; version 2 serves)"; }
	@echo; echo "\$$ curl http://127.0.0.1:8080/api/health   # through the front doors: version 2 on every node"; \
		for i in 1 2 3; do curl -fsS http://127.0.0.1:8080/api/health; echo; done
	@echo; echo "# the fleet back to plain containers, out of its swarm"
	scripts/sandbox seed fleet
	@echo; echo "# the next change: development gets production's data and is tested locally"
	@echo; echo "\$$ tmeops db pull --from sandbox --to development --fresh --yes   # fresh: the verified backup predates v2's migrations"
	@cd $(DEMO_DIR) && ../$(BIN) db pull --from sandbox --to development --fresh --yes
	@echo; echo "\$$ tmeops schema diff --from development --to sandbox"; cd $(DEMO_DIR) && ../$(BIN) schema diff --from development --to sandbox
	@echo; echo "\$$ tmeops test-instance up -e development --image tme-portal-server:sandbox-2"; cd $(DEMO_DIR) && \
		$(LOCAL_ENGINE) ../$(BIN) test-instance up -e development --image tme-portal-server:sandbox-2 && \
		$(LOCAL_ENGINE) ../$(BIN) test-instance down -e development
	@echo; echo "demo: the sandbox stays up (scripts/sandbox status); its tmeops.yml is in $(DEMO_DIR)/"

# The release tarball: dist/tmeops-VERSION-linux-ARCH.tar.gz (static Swift runtime, completions, man pages).
release:
	scripts/release

# Installs the release build, its completions and man pages under PREFIX (default /usr/local).
PREFIX ?= /usr/local
install:
	@stage=$$(scripts/release --stage) && install -d "$(DESTDIR)$(PREFIX)" && cp -R "$$stage/." "$(DESTDIR)$(PREFIX)/" && \
		echo "installed $(DESTDIR)$(PREFIX)/bin/tmeops ($$("$(DESTDIR)$(PREFIX)/bin/tmeops" version))"

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
	TMEOPS_BINARY=$(CURDIR)/.build/release/tmeops bench/backup
	TMEOPS_BINARY=$(CURDIR)/.build/release/tmeops bench/validate
	TMEOPS_BINARY=$(CURDIR)/.build/release/tmeops bench/deploy
	TMEOPS_BINARY=$(CURDIR)/.build/release/tmeops bench/pull
	TMEOPS_BINARY=$(CURDIR)/.build/release/tmeops bench/hosts
	TMEOPS_BINARY=$(CURDIR)/.build/release/tmeops bench/swarm
	TMEOPS_BINARY=$(CURDIR)/.build/release/tmeops bench/wan
	bench/sandbox-up

clean:
	rm -rf .build $(DEMO_DIR)
