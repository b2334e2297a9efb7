# Disclosure — one command to run, one to test. See README.md.
#
#   make run     install missing Debian packages (when root or with passwordless
#                sudo; else name the command), create .venv, install, check
#                system libraries, migrate, seed the demo cases, serve
#                http://127.0.0.1:8000/ (staff UI; /admin/ for admins)
#   make test    the same packages and .venv, the test requirements, the suite
#   make serve   production: gunicorn on HOST:PORT (needs the production settings,
#                README "Production")
#
# The settings' default is production mode: the development targets (run,
# seed, migrate, worker, test, check) set DJANGO_DEBUG=1 explicitly; serve
# never does.
#
# Overridable: PYTHON (interpreter that creates .venv), VENV, HOST, PORT, WORKERS
# (gunicorn worker processes, default 2 x cores + 1, at most 9),
# PYTEST_ARGS (extra pytest arguments), PYTEST_XDIST (default "-n auto"),
# DISCLOSURE_APT=0 (never run apt-get: only name the missing packages), e.g.
#   make test PYTEST_ARGS="-k ledger -x"
#   make test PYTEST_XDIST=              (one process, no pytest-xdist)

PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
PYTEST_XDIST ?= -n auto

WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); w=$$((2 * n + 1)); [ $$w -gt 9 ] && w=9; echo $$w)

PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
# Development commands: debug mode on explicitly (the default is production).
DEV := DJANGO_DEBUG=1
MANAGE := $(DEV) $(PY) manage.py
# The demo (run, seed, worker) reaches this machine: its re-probes and webhook
# receiver are local endpoints (disclosure.demo.endpoints). Tests never set it.
DEMO_NETWORKS := DISCLOSURE_FETCH_ALLOWED_NETWORKS=$${DISCLOSURE_FETCH_ALLOWED_NETWORKS:-127.0.0.1/32,::1/128}
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev

.DEFAULT_GOAL := help
.PHONY: help run serve smoke-runtime test lint format check check-system system-packages migrate seed worker beat venv install install-dev clean distclean

help:
	@echo "make run           install, check, migrate, seed demo data, serve the staff UI on http://$(HOST):$(PORT)/"
	@echo "make serve         production: collectstatic, then gunicorn on $(HOST):$(PORT) with $(WORKERS) workers"
	@echo "make test          install test requirements and run the whole suite (PYTEST_ARGS=...)"
	@echo "make lint          ruff check + ruff format --check"
	@echo "make format        ruff format + ruff check --fix"
	@echo "make check         system libraries, Django system checks, missing migrations"
	@echo "make system-packages  install missing Debian packages (root/sudo -n), else name them"
	@echo "make worker        Celery worker (CELERY_BROKER_URL, else a folder queue in var/celery)"
	@echo "make beat          Celery beat, the scheduler of periodic work (run one, beside the workers)"
	@echo "make smoke-runtime the make run path (migrate, seed, every demo export, verify_export) in a"
	@echo "                   virtualenv from requirements.txt alone (.venv-runtime; CI runs it)"
	@echo "make clean         remove caches; make distclean also removes .venv, db.sqlite3, var/"

# --- environment -----------------------------------------------------------

# Debian packages (WeasyPrint's libraries, python3-venv), one script shared
# with .ci/run: installed with apt-get as root or with passwordless sudo,
# otherwise named with the one command to run.
system-packages:
	@PYTHON="$(PYTHON)" sh scripts/install_system_packages.sh

# The virtualenv is created once; its python is the target.
$(PY):
	@PYTHON="$(PYTHON)" sh scripts/install_system_packages.sh
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
		echo "ERROR: Disclosure needs Python >= 3.11; '$(PYTHON)' is $$($(PYTHON) --version 2>&1)." >&2; \
		echo "       Use e.g.  make $(MAKECMDGOALS) PYTHON=python3.11" >&2; exit 1; }
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
		echo "ERROR: could not create $(VENV). On Debian/Ubuntu: sudo apt-get install python3-venv" >&2; \
		exit 1; }

venv: $(PY)

# Stamp files: pip runs again only when a requirements file changes (or the
# virtualenv is recreated, since the stamps live inside it).
$(RUNTIME_STAMP): requirements.txt | $(PY)
	$(PIP) install -r requirements.txt
	@touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PIP) install -r requirements-dev.txt
	@touch $@ $(RUNTIME_STAMP)

install: $(RUNTIME_STAMP)
install-dev: $(DEV_STAMP)

check-system: system-packages $(RUNTIME_STAMP)
	@$(PY) scripts/check_system.py

# --- running ---------------------------------------------------------------

# The development checkout's settings file, read by manage.py (the
# environment wins), so that commands typed by hand run in debug mode too.
.env:
	@printf '# Development settings read by manage.py (written by make; never on a production host)\nDJANGO_DEBUG=1\n# the demo re-probes and webhooks reach the demo endpoints on this machine\nDISCLOSURE_FETCH_ALLOWED_NETWORKS=127.0.0.1/32,::1/128\n' > $@
	@echo "Wrote $@ (DJANGO_DEBUG=1) for manage.py commands typed by hand."

migrate: check-system .env
	$(MANAGE) migrate --noinput

seed: migrate
	$(DEMO_NETWORKS) $(MANAGE) seed_demo

# Exports made in debug mode are signed with a development CA made on first
# use under var/keys/export-signing/; the checkpoints with the development
# ledger key: the command printed verifies a downloaded export against both.
run: seed
	@echo "Verify a demo export (Exports on a case page, or: $(MANAGE) export_case DSC-2022-0001 -o demo.pdf):"
	@echo "  $(MANAGE) verify_export demo.pdf --trust var/keys/export-signing/ca.pem $$($(MANAGE) ledger_public_key --as-arguments 2>/dev/null || echo '--ledger-key HEX (manage.py ledger_public_key)')"
	@echo "Staff UI: http://$(HOST):$(PORT)/  (sign in with a demo login above; admin: http://$(HOST):$(PORT)/admin/)  Ctrl-C to stop"
	$(DEMO_NETWORKS) $(MANAGE) runserver $(HOST):$(PORT)

# Without CELERY_BROKER_URL the worker and beat share a folder queue under
# var/celery (no Redis needed): periodic work such as fetching mail from
# var/mail/inbox runs beside `make run`.
# Development: the worker and the scheduler in two terminals (each its own
# host in production, README "Production"). Without CELERY_BROKER_URL both use
# a folder queue under var/celery, so they run beside `make run` with no Redis.
# The worker may reach this machine (DEMO_NETWORKS).
worker: check-system
	$(DEV) CELERY_BROKER_URL=$${CELERY_BROKER_URL:-filesystem://} \
		$(DEMO_NETWORKS) $(VENV)/bin/celery -A disclosure worker --loglevel=INFO

beat: check-system
	@mkdir -p var/celery
	$(DEV) CELERY_BROKER_URL=$${CELERY_BROKER_URL:-filesystem://} \
		$(VENV)/bin/celery -A disclosure beat --loglevel=INFO \
		--schedule var/celery/beat-schedule

# Production: the settings come from the environment (DJANGO_DEBUG unset or 0,
# SECRET_KEY, DJANGO_ALLOWED_HOSTS, ...; README "Production"). Static files are
# collected into STATIC_ROOT for the reverse proxy to serve at /static/.
serve: check-system
	$(PY) manage.py collectstatic --noinput -v 0
	$(VENV)/bin/gunicorn disclosure.wsgi:application --bind $(HOST):$(PORT) \
		--workers $(WORKERS) --timeout 120 --graceful-timeout 30 \
		--max-requests 2000 --max-requests-jitter 200 --access-logfile -

# --- quality ---------------------------------------------------------------

# A runtime module that imports a dev-only package fails here (CI runs it).
smoke-runtime: system-packages
	PYTHON="$(PYTHON)" bash scripts/runtime_smoke.sh

test: system-packages $(DEV_STAMP)
	@$(PY) scripts/check_system.py --browser
	$(DEV) $(PY) -m pytest $(PYTEST_XDIST) $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(DEV_STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

check: system-packages $(DEV_STAMP)
	@$(PY) scripts/check_system.py --browser
	$(MANAGE) check
	$(MANAGE) makemigrations --check --dry-run

clean:
	rm -rf .pytest_cache .ruff_cache test-results
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) .venv-runtime db.sqlite3 var .env
