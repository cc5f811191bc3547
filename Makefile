# Set-up and the README's commands. Every target creates .venv and installs what it needs.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PORT ?= 8866

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install browser test lint dashboard demo clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# torch first: 2.13.0 is the CPU build; any other spec may pull gigabytes of CUDA packages.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# The browser test drives Debian's Chromium (never a downloaded one).
browser:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver; }

test: install browser
	$(PY) -m ruff check giffusion_nb tests
	$(PY) -m pytest

lint: install
	$(PY) -m ruff check giffusion_nb tests
	$(PY) -m ruff format --check giffusion_nb tests

# Loopback only; websocket messages big enough for the panel's 500 MB upload limit. Voilà reads
# voila.json here: kernels whose page is gone are shut down after a minute idle. The giffusion
# template (share/jupyter) is Voilà's lab template without the stylesheets it fetches from a CDN.
dashboard: install
	JUPYTER_PATH=$(CURDIR)/share/jupyter $(VENV)/bin/voila notebooks/giffusion.ipynb \
		--template=giffusion --no-browser --Voila.ip=127.0.0.1 --port=$(PORT) \
		--Voila.tornado_settings="{'websocket_max_message_size': 536870912}"

demo: install
	$(VENV)/bin/giffusion-nb demo

clean:
	rm -rf $(VENV) outputs .pytest_cache
