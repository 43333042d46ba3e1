# The two commands of the README: `make reproduce` (the main job) and `make test` (the whole suite).
# Each creates .venv if it is missing and installs the pinned dependencies once (a stamp file
# remembers the install; editing setup.py or settings.ini triggers a new one).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.uqnb-installed
PROFILE ?= default
NBDEV_WORKERS ?= 2

.PHONY: install reproduce test nbdev-test pytest lab docs readme clean-venv

install: $(STAMP)

$(STAMP): setup.py settings.ini pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "[make] installing uqnb and its pinned dependencies into $(VENV) (torch 2.14.1, torchvision 0.29.1, nbdev 2.4.14) ..."
	@$(BIN)/python -m pip install --disable-pip-version-check -q -e ".[dev]" > $(VENV)/pip-install.log 2>&1 \
	  || { grep -v "^WARNING: Location" $(VENV)/pip-install.log; echo "[make] pip install failed (log: $(VENV)/pip-install.log)"; exit 1; }
	@$(BIN)/python -m pip check
	@touch $(STAMP)

# main job: every experiment at the default profile; results in reports/<experiment>/default/, then the HTML docs
reproduce: install
	$(BIN)/uqnb reproduce --profile $(PROFILE)
	$(BIN)/python -m uqnb.docs build

# whole test suite: notebooks clean and exported, library notebooks' tests, then pytest
test: install nbdev-test pytest

nbdev-test: install
	$(BIN)/nbdev_test --n_workers $(NBDEV_WORKERS) --timing

pytest: install
	$(BIN)/python -m pytest tests

# JupyterLab from the project's venv, opening nbs/: its python3 kernel is .venv's Python, with uqnb installed
# (jupyter_client starts the native kernel with the Python that runs JupyterLab); as root it needs --allow-root
lab: install
	$(BIN)/jupyter lab nbs/ $(LAB_ARGS) $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

# the HTML docs in _docs/ (offline): home page from nbs/index.ipynb, API pages, experiment pages, results gallery
docs: install
	$(BIN)/python -m uqnb.docs build

# README.md from nbs/index.ipynb (edit the notebook, then run this; `make test` fails when they differ)
readme: install
	$(BIN)/python -m uqnb.docs readme

clean-venv:
	rm -rf $(VENV)
