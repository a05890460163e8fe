# Vitrine: `make run` serves the app and a worker; `make test` runs ruff and the whole suite.
# Everything a fresh Debian machine lacks is installed here, so CI and newcomers need nothing else.

SHELL := /bin/bash
VENV := .venv
PYTHON := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Django 6.1 needs Python 3.12+; Debian 12's python3 is 3.11, so look for a newer one (pyenv included).
PYTHON_CANDIDATES := python3.13 python3.12 $(wildcard $(HOME)/.pyenv/versions/3.1[2-9]*/bin/python3) \
	$(wildcard /root/.pyenv/versions/3.1[2-9]*/bin/python3) python3
BOOTSTRAP_PYTHON = $(shell for candidate in $(PYTHON_CANDIDATES); do \
	if $$candidate -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
	echo $$candidate; break; fi; done)

MODEL_FILES :=
-include mk/*.mk

.PHONY: run test lint install install-test system-deps models bench migrate clean

$(VENV)/.installed: pyproject.toml
	@if [ -z "$(BOOTSTRAP_PYTHON)" ]; then echo "Python 3.12 or newer is needed (Django 6.1). Install python3.12 and retry." >&2; exit 1; fi
	@[ -x $(PYTHON) ] || $(BOOTSTRAP_PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[test]'
	@touch $@

install: $(VENV)/.installed

var:
	mkdir -p var/media var/models var/cache

models: install var $(MODEL_FILES)

migrate: install var
	$(PYTHON) manage.py migrate --no-input

# Debian packages: Chromium for the browser tests, CJK fonts for tests that draw Chinese text,
# PostgreSQL and Redis for the scale-out and fault tests, wrk for bench/load.py.
system-deps:
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	[ -d /usr/share/fonts/opentype/noto ] || missing="$$missing fonts-noto-cjk"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	[ -x /usr/bin/redis-server ] || missing="$$missing redis-server"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v wrk >/dev/null || missing="$$missing wrk"; \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

run: install models migrate
	@$(PYTHON) manage.py load_scene_presets
	@$(PYTHON) manage.py ensure_demo_team
	$(PYTHON) manage.py serve

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: install system-deps models lint
	$(PYTHON) -m pytest $(PYTEST_ARGS)

bench: install models
	$(PIP) install --quiet -e '.[test,bench]'
	@for script in bench/*.py; do echo "== $$script"; $(PYTHON) $$script || exit 1; done

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
