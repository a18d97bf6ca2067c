# dpkit: `make demo`, `make test`, `make bench` each create .venv when it is missing.
PY      ?= python3
VENV    := .venv
VPY     := $(VENV)/bin/python
STAMP   := $(VENV)/.dpkit-installed

.PHONY: venv demo test bench lint clean

$(STAMP): pyproject.toml
	@test -x $(VPY) || $(PY) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	# torch first, pinned, so that opacus does not pull a CUDA build
	$(VPY) -m pip install -q torch==2.13.0
	$(VPY) -m pip install -q -e ".[all,dev]"
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/dpkit demo

test: $(STAMP)
	$(VPY) -m pytest -q -n 2 tests dpkit

BENCH_STAMP := $(VENV)/.dpkit-bench-installed

$(BENCH_STAMP): $(STAMP)
	$(VPY) -m pip install -q -e ".[all,dev,bench]"
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(VPY) -m benchmarks

lint: $(STAMP)
	$(VENV)/bin/ruff check dpkit tests benchmarks examples docs/plots conftest.py
	$(VENV)/bin/mypy dpkit

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
