# medvault: `make demo` then `make test` on a fresh machine; `make dev` for the Dagster UI.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export MEDVAULT_HOME ?= $(CURDIR)/.medvault
export DAGSTER_HOME ?= $(MEDVAULT_HOME)/dagster

.PHONY: install demo test lint format dev run rules-check bench clean system-deps

$(BIN)/medvault: pyproject.toml setup.py medvault/platform/dicom/_walk.c
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[platform,agent,test]'
	touch $@

install: $(BIN)/medvault

# The SFTP tests start a real OpenSSH sshd on loopback; DCMTK's dcmdump cross-checks stamped images;
# headless Chromium opens the dashboard.
system-deps:
	@{ test -x /usr/sbin/sshd && command -v dcmdump >/dev/null && command -v chromium >/dev/null; } || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server openssh-client dcmtk chromium; \
	  else echo "install OpenSSH server, DCMTK and Chromium: sudo apt-get install -y openssh-server dcmtk chromium" >&2; exit 1; fi; }

demo: install
	$(BIN)/medvault demo

test: install system-deps
	$(BIN)/ruff check .
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .

format: install
	$(BIN)/ruff format medvault tests benchmarks

rules-check: install
	$(BIN)/medvault rules check

run: install
	$(BIN)/medvault run

dev: install
	$(BIN)/python -c "from medvault.instance import ensure_dagster_home; ensure_dagster_home('$(DAGSTER_HOME)')"
	VIRTUAL_ENV=$(CURDIR)/$(VENV) PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/dg dev --host 127.0.0.1 --port 3000

bench: install system-deps
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/runs.py
	$(BIN)/python benchmarks/memory.py
	$(BIN)/python benchmarks/vault_load.py
	$(BIN)/python benchmarks/dicom.py
	$(BIN)/python benchmarks/agent.py

clean:
	rm -rf $(MEDVAULT_HOME)
