# SocialGov — the two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint install browser oidc-provider frontend assets bench wrk demo-scale clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

## make run: serve the product on embedded SQLite (./var) with the demo trust, in development mode.
run: $(STAMP)
	$(BIN)/socialgov run --host 127.0.0.1 --port 8000

## Debian packages the tests use: Chromium for the browser tests (Playwright cannot download its own here)
## and docker-compose to validate docker-compose.yml (no Docker engine is needed for that).
SYSTEM_PKGS := $(if $(shell command -v chromium),,chromium) $(if $(shell command -v docker-compose),,docker-compose)
browser:
	@if [ -n "$(strip $(SYSTEM_PKGS))" ]; then \
	  echo "installing $(strip $(SYSTEM_PKGS)) (Debian packages) for the tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PKGS) >/dev/null) \
	  || { echo "could not install $(SYSTEM_PKGS): run 'apt-get install -y $(SYSTEM_PKGS)' as root"; exit 1; }; fi

## The local OpenID provider the SSO tests sign in against (npm package oidc-provider).
OIDC_PROVIDER := tests/oidc_provider
$(OIDC_PROVIDER)/node_modules/.package-lock.json: $(OIDC_PROVIDER)/package-lock.json
	@command -v node >/dev/null || { echo "Node.js >= 20 is needed for the OIDC tests"; exit 1; }
	npm ci --prefix $(OIDC_PROVIDER) --no-audit --no-fund
oidc-provider: $(OIDC_PROVIDER)/node_modules/.package-lock.json

## The web UI's npm packages (frontend/package.json): govuk-frontend, htmx, sass, and axe-core for the browser tests.
FRONTEND := frontend
$(FRONTEND)/node_modules/.package-lock.json: $(FRONTEND)/package-lock.json
	@command -v node >/dev/null || { echo "Node.js >= 20 is needed for the web UI's assets and browser tests"; exit 1; }
	npm ci --prefix $(FRONTEND) --no-audit --no-fund
frontend: $(FRONTEND)/node_modules/.package-lock.json

## make assets: rebuild the committed CSS/JS in api/static/ (the app serves them; `make run` never needs npm).
assets: frontend
	npm run --prefix $(FRONTEND) build

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

## make test: lint, then the whole suite on SQLite *and* PostgreSQL (databases are created by the suite).
test: $(STAMP) browser oidc-provider frontend lint
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

## wrk (Debian package): the bench's HTTP load generator, in C so it leaves the server the CPU it needs.
wrk:
	@command -v wrk >/dev/null || { echo "installing wrk (Debian package) for the bench"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null) \
	  || echo "could not install wrk: the bench falls back to Python HTTP clients"; }

bench: $(STAMP) wrk
	$(BIN)/python bench/foundation.py
	$(BIN)/python bench/sla_sweep.py
	$(BIN)/python bench/post_checks.py
	$(BIN)/python bench/web_pages.py
	$(BIN)/python bench/inbox_page.py > docs/bench/inbox_page.json
	$(BIN)/python bench/trust_overview.py

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
