# Rollcall's tasks. Every target has a help line; `make` lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash

GO ?= go
BIN := bin/rollcall
# PostgreSQL tests run when POSTGRES_TEST_URL is set or a server answers on 127.0.0.1:5432.
PG_LOCAL := postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
POSTGRES_TEST_URL ?= $(shell (command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432) && echo '$(PG_LOCAL)')
export POSTGRES_TEST_URL
FUZZTIME ?= 30s

##@ Use

.PHONY: help
help: ## list targets
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*##/ {printf "  %-14s %s\n", $$1, $$2} /^##@/ {printf "\n%s\n", substr($$0, 5)}' $(MAKEFILE_LIST)

.PHONY: run
run: build ## build and serve on the embedded default (SQLite file rollcall.db); prints the SCIM URL and token at first start
	./$(BIN) serve

.PHONY: build
build: ## build bin/rollcall
	$(GO) build -o $(BIN) ./cmd/rollcall

##@ Check

.PHONY: test
test: lint ## lint, then every test with -race (PostgreSQL suites too when a server answers); what CI runs
	@if [ -z "$$POSTGRES_TEST_URL" ]; then echo "note: no PostgreSQL at 127.0.0.1:5432 and POSTGRES_TEST_URL unset: PostgreSQL tests skip (they fail when CI is set)"; fi
	$(GO) test -race -count=1 ./...

.PHONY: test-postgres
test-postgres: ## the PostgreSQL suites only, against POSTGRES_TEST_URL (required)
	@test -n "$$POSTGRES_TEST_URL" || { echo "POSTGRES_TEST_URL is not set and no server answers on 127.0.0.1:5432"; exit 1; }
	$(GO) test -race -count=1 ./storage/postgres/... ./cmd/...

.PHONY: lint
lint: ## gofmt, go vet, staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

.PHONY: conformance
conformance: ## the SCIM conformance suite against SCIM_CONFORMANCE_URL with SCIM_CONFORMANCE_TOKEN [SCIM_CONFORMANCE_TOKEN2]
	@test -n "$$SCIM_CONFORMANCE_URL" || { echo "set SCIM_CONFORMANCE_URL (e.g. http://127.0.0.1:8080/scim/v2) and SCIM_CONFORMANCE_TOKEN"; exit 1; }
	$(GO) run ./cmd/rollcall conformance

.PHONY: fuzz
fuzz: ## run each fuzz target for FUZZTIME (default 30s)
	@set -e; for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
			echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$pkg; \
		done; \
	done

##@ Measure

# make bench: BENCH_USERS users for the large lookup and paging (the small lookup has 10 000),
# each measurement BENCH_DURATION, on a fresh database BENCH_DB of the server at BENCH_PG.
BENCH_USERS ?= 1000000
BENCH_DURATION ?= 10s
BENCH_PG ?= postgres://postgres@127.0.0.1:5432
BENCH_DB ?= rollcall_bench
BENCH_LOG_LEVEL ?= info

.PHONY: bench
bench: build ## Go benchmarks, then the load scenarios against a server on PostgreSQL (see BENCHMARKS.md); BENCH_USERS=20000 for a quick run
	$(GO) test -run '^$$' -bench . -benchmem ./...
	@set -euo pipefail; \
	db='$(BENCH_PG)/$(BENCH_DB)?sslmode=disable'; \
	small=$$(( $(BENCH_USERS) < 10000 ? $(BENCH_USERS) : 10000 )); \
	group=$$(( $(BENCH_USERS) / 2 < 100000 ? $(BENCH_USERS) / 2 : 100000 )); \
	echo "bench: fresh database $(BENCH_DB) on $(BENCH_PG)" >&2; \
	PGOPTIONS='-c client_min_messages=warning' psql '$(BENCH_PG)/postgres?sslmode=disable' -q -v ON_ERROR_STOP=1 \
		-c 'DROP DATABASE IF EXISTS $(BENCH_DB)' -c 'CREATE DATABASE $(BENCH_DB)'; \
	: >bin/bench-serve.out; : >bin/bench-server.log; \
	ROLLCALL_DATABASE="$$db" ROLLCALL_ADDR=127.0.0.1:0 ROLLCALL_LOG_LEVEL=$(BENCH_LOG_LEVEL) \
		./$(BIN) serve >>bin/bench-serve.out 2>>bin/bench-server.log & pid=$$!; \
	trap 'kill $$pid 2>/dev/null || true; wait $$pid 2>/dev/null || true' EXIT; \
	for _ in $$(seq 1 150); do grep -q '^Rollcall is serving' bin/bench-serve.out && break; \
		kill -0 $$pid 2>/dev/null || { cat bin/bench-server.log >&2; exit 1; }; sleep 0.2; done; \
	url=$$(sed -n 's/^SCIM base URL: //p' bin/bench-serve.out); \
	token=$$(sed -n 's/^SCIM bearer token[^:]*: //p' bin/bench-serve.out); \
	test -n "$$url" -a -n "$$token" || { echo "bench: no SCIM URL and token from rollcall serve" >&2; cat bin/bench-serve.out bin/bench-server.log >&2; exit 1; }; \
	echo "bench: rollcall serve (pid $$pid) at $$url; server log in bin/bench-server.log" >&2; \
	cmd="./$(BIN) load --url $$url --database '$$db' --server-pid $$pid --scenario all --duration $(BENCH_DURATION) --small-users $$small --users $(BENCH_USERS) --group-size $$group --json bin/bench.json"; \
	echo "bench: ROLLCALL_LOAD_TOKEN=… $$cmd" >&2; \
	{ echo "$$ ROLLCALL_LOAD_TOKEN=… $$cmd"; ROLLCALL_LOAD_TOKEN=$$token eval "$$cmd"; } 2>&1 | tee bin/bench.txt >&2; \
	kill $$pid; wait $$pid || true; trap - EXIT; \
	echo "bench: server stopped; results in bin/bench.txt and bin/bench.json" >&2; \
	grep -v '^load: ' bin/bench.txt
