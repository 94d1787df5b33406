# Kizuna - GNU Makefile.
#
#   make            build build/kizuna
#   make test       build and run the whole test suite (unit + end-to-end), then the
#                   dashboard in Chromium (tests/web; make test-web runs only that)
#   make asan       the C suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   make web        build the dashboard (web/src -> web/dist; npm ci when needed)
#   make demo       generate the demo world, import it, train its churn models, serve it
#                   with the dashboard
#   make bench      import benchmark beside DuckDB (needs ../shared/bench, node, npm)
#   make lint       banned functions and other mechanical checks
#   make install    install the binary and the dashboard (PREFIX=/usr/local)
#   make clean
#
# System libraries are found with pkg-config; when one is missing the Makefile runs
# scripts/install-deps.sh (apt-get on Debian/Ubuntu) once.

SHELL   := /bin/bash
CC      ?= cc
PREFIX  ?= /usr/local
BUILD   ?= build
OPT     ?= -O2 -g
PKGS      := sqlite3 libcjson libzstd inih xgboost libmicrohttpd libsodium libcurl md4c-html
TEST_PKGS := criterion

WARN := -Wall -Wextra -Wpedantic -Wshadow -Wformat=2 -Wstrict-prototypes \
        -Wmissing-prototypes -Wpointer-arith -Wwrite-strings -Wundef -Wvla \
        -Wcast-align -Wimplicit-fallthrough -Wold-style-definition -Werror=implicit-function-declaration
ifeq ($(WERROR),1)
WARN += -Werror
endif

# Recursive (=) so that pkg-config runs after the dependency check has installed things.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))
TEST_LIBS  = $(shell pkg-config --libs $(TEST_PKGS))

CPPFLAGS += -Isrc -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
CFLAGS   += -std=c11 $(OPT) $(WARN) -MMD -MP
LDLIBS   += -lm -lpthread

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
CPPFLAGS += -DKZ_VERSION='"$(VERSION)"'

LIB_SRC  := $(sort $(shell find src -name '*.c' ! -name main.c))
TEST_SRC := $(sort $(wildcard tests/support/*.c tests/unit/*.c tests/e2e/*.c))
GEN_OBJ  := $(BUILD)/gen/openapi.o
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(GEN_OBJ)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)
MAIN_OBJ := $(BUILD)/src/main.o

.PHONY: all test test-web web asan demo bench lint install clean deps check-deps docs

all: $(BUILD)/kizuna

# ---- dependencies -----------------------------------------------------------
$(BUILD)/.deps-ok:
	@mkdir -p $(BUILD)
	@pkg-config --exists $(PKGS) $(TEST_PKGS) 2>/dev/null || ./scripts/install-deps.sh --no-web
	@pkg-config --exists $(PKGS) $(TEST_PKGS) || { \
	  echo "missing libraries: pkg-config cannot find some of: $(PKGS) $(TEST_PKGS)" >&2; \
	  echo "run scripts/install-deps.sh, or install them by hand" >&2; exit 1; }
	@touch $@

deps:
	./scripts/install-deps.sh

# ---- build ------------------------------------------------------------------
# `make V=1` shows the full commands.
Q := $(if $(V),,@)

$(BUILD)/%.o: %.c | $(BUILD)/.deps-ok
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) -c $< -o $@

# docs/openapi.yaml is served by the binary: embedded as a C array
$(BUILD)/gen/openapi.c: docs/openapi.yaml scripts/embed.sh
	@mkdir -p $(dir $@)
	$(Q)./scripts/embed.sh kz_openapi_doc $< > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/%.o: $(BUILD)/gen/%.c | $(BUILD)/.deps-ok
	@$(if $(V),,echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/libkizuna.a: $(LIB_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(BUILD)/kizuna: $(MAIN_OBJ) $(BUILD)/libkizuna.a
	@$(if $(V),,echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

$(BUILD)/test-kizuna: $(TEST_OBJ) $(BUILD)/libkizuna.a
	@$(if $(V),,echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(TEST_LIBS) $(LDLIBS)

# ---- the dashboard ------------------------------------------------------------
# web/ is a Vite + Preact + TypeScript app (docs/dashboard.md); web/dist is what
# `kizuna serve --web-root` serves. npm ci installs exactly web/package-lock.json
# (npm writes node_modules/.package-lock.json at the end of each install). The
# folders of web/src are prerequisites too, so that removing a file rebuilds.
WEB_SRC := $(shell find web/src 2>/dev/null) web/index.html web/package.json web/package-lock.json \
           web/vite.config.ts web/tsconfig.json

web: web/dist/index.html

web/node_modules/.package-lock.json: web/package-lock.json
	@command -v npm >/dev/null || { echo "make web: npm is missing (scripts/install-deps.sh installs node and npm)" >&2; exit 1; }
	cd web && npm ci --no-audit --no-fund

web/dist/index.html: $(WEB_SRC) web/node_modules/.package-lock.json
	cd web && npm run build

# ---- checks -----------------------------------------------------------------
# The end-to-end tests find the binary and the fixtures through the environment.
# OMP_WAIT_POLICY=PASSIVE: XGBoost's OpenMP threads would otherwise spin at
# every barrier, and tests running side by side would steal each other's cores.
TEST_ENV = KIZUNA_BIN=$(abspath $(BUILD)/kizuna) KIZUNA_FIXTURES=$(abspath tests/fixtures) OMP_WAIT_POLICY=PASSIVE

test: lint $(BUILD)/kizuna $(BUILD)/test-kizuna
	$(TEST_ENV) $(BUILD)/test-kizuna $(TEST_FLAGS)
	@$(MAKE) --no-print-directory test-web

# The dashboard in headless Chromium against the real server on the demo world
# (tests/web/run.mjs; screenshots in build/web-screenshots/). Chromium comes from
# the distribution: scripts/install-deps.sh installs it when it is missing.
CHROMIUM ?= /usr/bin/chromium
test-web: $(BUILD)/kizuna web/dist/index.html
	@test -x $(CHROMIUM) || ./scripts/install-deps.sh
	KIZUNA_BIN=$(abspath $(BUILD)/kizuna) KIZUNA_WEB_ROOT=$(abspath web/dist) CHROMIUM=$(CHROMIUM) \
	  OMP_WAIT_POLICY=PASSIVE node tests/web/run.mjs

# Criterion runs each test in a child process whose sanitizer reports would not
# fail the test, so the log is searched for them as well. The C suite only: the
# browser tests are make test's.
ASAN_FLAGS = OPT="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
             LDFLAGS="-fsanitize=address,undefined"
# One worker: Criterion's pool of two leaks 48 bytes of its own now and then
# (in criterion_run_all_tests), which would fail the run for nothing of ours.
asan:
	$(MAKE) BUILD=build-asan $(ASAN_FLAGS) lint build-asan/kizuna build-asan/test-kizuna
	@set -o pipefail; LSAN_OPTIONS=suppressions=$(abspath tests/lsan.supp):print_suppressions=0 \
	  UBSAN_OPTIONS=print_stacktrace=1 \
	  KIZUNA_BIN=$(abspath build-asan/kizuna) KIZUNA_FIXTURES=$(abspath tests/fixtures) OMP_WAIT_POLICY=PASSIVE \
	  build-asan/test-kizuna -j1 $(TEST_FLAGS) 2>&1 | tee build-asan/test.log
	@if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" build-asan/test.log; then \
	  echo "asan: sanitizer reports above (build-asan/test.log)" >&2; exit 1; fi

lint:
	@./scripts/lint.sh

# ---- demo and bench -----------------------------------------------------------
DEMO_DIR ?= demo
DEMO_LISTEN ?= 127.0.0.1:8080
DEMO_USER ?= demo
DEMO_PASSWORD ?= kizuna-demo
# The demo world, imported, its churn models trained, a demo login, and the
# server running on it with the dashboard (Ctrl-C stops it).
demo: $(BUILD)/kizuna web/dist/index.html
	@rm -rf $(DEMO_DIR)/data $(DEMO_DIR)/kizuna.db $(DEMO_DIR)/kizuna.db-wal $(DEMO_DIR)/kizuna.db-shm $(DEMO_DIR)/kizuna.db.engine
	$(BUILD)/kizuna demo --out $(DEMO_DIR)/data
	$(BUILD)/kizuna --db $(DEMO_DIR)/kizuna.db import $(DEMO_DIR)/data
	@echo
	$(BUILD)/kizuna --db $(DEMO_DIR)/kizuna.db status
	@echo
	OMP_WAIT_POLICY=PASSIVE $(BUILD)/kizuna --db $(DEMO_DIR)/kizuna.db churn train
	@printf '%s\n' '$(DEMO_PASSWORD)' | $(BUILD)/kizuna --db $(DEMO_DIR)/kizuna.db user add --name $(DEMO_USER) --role admin --password-stdin
	@tok=$$($(BUILD)/kizuna --db $(DEMO_DIR)/kizuna.db user token --name $(DEMO_USER) | tail -1); \
	  echo; \
	  echo "Kizuna is serving the demo world at http://$(DEMO_LISTEN)/"; \
	  echo "  dashboard:  open http://$(DEMO_LISTEN)/ in a browser"; \
	  echo "  demo login: '$(DEMO_USER)', password '$(DEMO_PASSWORD)' (the dashboard, or POST /api/v1/login)"; \
	  echo "  API token:  $$tok"; \
	  echo "  try:        curl -s -H 'Authorization: Bearer '$$tok http://$(DEMO_LISTEN)/api/v1/accounts?limit=5"; \
	  echo "Ctrl-C stops it."
	OMP_WAIT_POLICY=PASSIVE $(BUILD)/kizuna --db $(DEMO_DIR)/kizuna.db --set server.web_root=web/dist \
	  serve --listen $(DEMO_LISTEN)

$(BUILD)/bench/rowstore: bench/rowstore.c $(BUILD)/libkizuna.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

$(BUILD)/bench/metrics: bench/metrics.c $(BUILD)/libkizuna.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

$(BUILD)/bench/rules: bench/rules.c $(BUILD)/libkizuna.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

bench: $(BUILD)/kizuna $(BUILD)/bench/rowstore $(BUILD)/bench/metrics $(BUILD)/bench/rules web/dist/index.html
	./bench/import.sh
	@echo; echo "== events as SQL rows or as column blocks (bench/rowstore.c)"
	$(BUILD)/bench/rowstore 10000000
	@echo; ./bench/metrics.sh
	@echo; ./bench/churn.sh
	@echo; ./bench/anomaly.sh
	@echo; echo "== playbook rules: the cost per ingested event of 100 rules (bench/rules.c)"
	$(BUILD)/bench/rules 5000000
	@echo; ./bench/server.sh
	@echo; ./bench/web.sh

# the generated parts of the documentation (the test says when they are stale)
docs: $(BUILD)/kizuna
	KZ=$(BUILD)/kizuna ./scripts/config-doc.sh

# The dashboard goes to share/kizuna/web (its old files replaced): serve it with
# --web-root $(PREFIX)/share/kizuna/web or server.web_root.
WEB_DEST = $(DESTDIR)$(PREFIX)/share/kizuna/web
install: $(BUILD)/kizuna web/dist/index.html
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(BUILD)/kizuna $(DESTDIR)$(PREFIX)/bin/kizuna
	rm -rf $(WEB_DEST)
	install -d $(WEB_DEST)
	cd web/dist && find . -type d -exec install -d $(WEB_DEST)/{} \; && find . -type f -exec install -m 644 {} $(WEB_DEST)/{} \;

clean:
	rm -rf build build-asan web/dist

-include $(LIB_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(MAIN_OBJ:.o=.d)
