# make demo        create .venv if missing, install the project into it, run the demo
# make test        create .venv if missing, install the project with test extras, run pytest
#                  (extra pytest arguments: make test PYTEST_ARGS="-k shim -x")
# make wheelhouse  download everything an offline `pip install 'pynn-gpu[cuda]'` needs into
#                  .wheelhouse/ (make wheelhouse PY=3.12 PLATFORM=manylinux2014_x86_64)
# make gpu-wheelhouse  the part of .wheelhouse that a GPU machine with its own numpy, scipy
#                  and Jinja2 needs (PyNN, neo, ..., the PyCUDA sdist) in .gpu-wheelhouse/,
#                  small enough to send along (make gpu-wheelhouse PY=3.12 for a Python 3.12
#                  machine); there: bash benchmarks/gpu_session.sh .gpu-wheelhouse
# make clean       remove build outputs (not .venv, not .wheelhouse)

PYTHON ?= python3
VENV ?= .venv
VENV_PY := $(VENV)/bin/python
PYTEST_ARGS ?=

WHEELHOUSE ?= .wheelhouse
PY ?= $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
PLATFORM ?= manylinux2014_x86_64
PLATFORM_FLAGS := $(foreach p,$(PLATFORM),--platform $(p))
# PyCUDA is published as a source distribution only: it is built on the target machine, so the
# wheelhouse also needs its build requirements (pyproject: setuptools, wheel, numpy) and its
# run-time requirements (setup.py: pytools, platformdirs, mako); pip resolves theirs
# (typing_extensions, siphash24, MarkupSafe, ...).
PYCUDA ?= pycuda
PYCUDA_REQUIREMENTS := setuptools wheel "numpy>=1.24" pytools platformdirs mako

# Both targets install the project in editable mode (the code runs from this checkout), and
# reinstall only when the packaging files change. The stamps live inside .venv.
INSTALL_INPUTS := setup.cfg setup.py pyproject.toml

.PHONY: demo test wheelhouse gpu-wheelhouse clean

$(VENV_PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-demo: $(INSTALL_INPUTS) | $(VENV_PY)
	$(VENV_PY) -m pip install -e .
	touch $@

$(VENV)/.installed-test: $(INSTALL_INPUTS) | $(VENV_PY)
	$(VENV_PY) -m pip install -e '.[test]'
	touch $@

demo: $(VENV)/.installed-demo
	$(VENV_PY) -m pynn_gpu.demo

test: $(VENV)/.installed-test
	$(VENV_PY) -m pytest -q tests $(PYTEST_ARGS)

wheelhouse:
	mkdir -p $(WHEELHOUSE)
	rm -f $(WHEELHOUSE)/pynn_gpu-*.whl
	$(PYTHON) -m pip wheel --no-deps --wheel-dir $(WHEELHOUSE) .
	$(PYTHON) -m pip download --dest $(WHEELHOUSE) --no-deps --no-binary $(PYCUDA) \
		--python-version $(PY) $(PYCUDA)
	$(PYTHON) -m pip download --dest $(WHEELHOUSE) --only-binary :all: \
		--python-version $(PY) --implementation cp $(PLATFORM_FLAGS) \
		"$$(ls $(WHEELHOUSE)/pynn_gpu-*.whl)[test]" $(PYCUDA_REQUIREMENTS)
	@echo "Offline install: pip install --no-index --find-links $(WHEELHOUSE) 'pynn-gpu[cuda]'"

GPU_WHEELS := pynn neo quantities lazyarray threadpoolctl pytools platformdirs mako siphash24 mpi4py mpich

gpu-wheelhouse: wheelhouse
	mkdir -p .gpu-wheelhouse
	for name in $(GPU_WHEELS); do cp $(WHEELHOUSE)/$$name-*.whl .gpu-wheelhouse/; done
	cp $(WHEELHOUSE)/$(PYCUDA)-*.tar.gz .gpu-wheelhouse/

clean:
	rm -rf build dist *.egg-info
