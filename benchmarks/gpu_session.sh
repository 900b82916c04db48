#!/usr/bin/env bash
# Everything a GPU machine without network access needs, in one go: install the project's
# dependencies from a wheelhouse (make wheelhouse), build PyCUDA from its source distribution,
# then run the CUDA tests and the GPU benchmarks. Logs go to $OUT (default ./gpu-logs).
#
#   bash benchmarks/gpu_session.sh WHEELHOUSE [STAGE ...]
#
# Stages (default: all, in this order): install, tests, float, micro, va, build.
#   install  pip install --no-index the pure-Python dependencies, and PyCUDA: from a wheel in
#            WHEELHOUSE if there is one, else built from its sdist (the wheel is kept in
#            $OUT/wheels: copy it into WHEELHOUSE to skip the build next time)
#   tests    pytest -m cuda (CUDA target on the device)
#   float    the float-precision validation tests (pytest -m cuda -k float)
#   micro    benchmarks/microcircuit_gpu.py, once per ';'-separated argument list in
#            $PYNN_GPU_MICRO_RUNS (default: procedural, then stored connectivity)
#   va       benchmarks/vogels_abbott_scaling.py (sizes: $PYNN_GPU_VA_SIZES)
#   build    benchmarks/build_time.py on the CUDA target
#
# Dependencies already on the machine (numpy, scipy, Jinja2, setuptools) are used as they are.
set -u
WHEELHOUSE=${1:?usage: gpu_session.sh WHEELHOUSE [STAGE ...]}
shift
STAGES=${*:-install tests float micro va build}
OUT=${OUT:-$PWD/gpu-logs}
SITE=${PYNN_GPU_SITE:-/tmp/pynn-gpu-site}
mkdir -p "$OUT" "$SITE"
export PYTHONPATH=$SITE:$PWD PYTHONUNBUFFERED=1
export PYNN_GPU_CACHE_DIR=${PYNN_GPU_CACHE_DIR:-/tmp/pynn-gpu-cache}
say() { echo "[$(date +%H:%M:%S)] $*"; }
# the commit the results belong to (pass it when the tree was copied without its history)
export PYNN_GPU_COMMIT=${PYNN_GPU_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null)}

has_stage() { [[ " $STAGES " == *" $1 "* ]]; }

if has_stage install; then
    say "machine: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader)"
    say "$(nvcc --version | tail -1); $(g++ --version | head -1); $(python3 --version)"
    python3 -m pip install -q --no-index --no-deps --target "$SITE" \
        "$WHEELHOUSE"/pynn-*.whl "$WHEELHOUSE"/neo-*.whl "$WHEELHOUSE"/quantities-*.whl \
        "$WHEELHOUSE"/lazyarray-*.whl "$WHEELHOUSE"/threadpoolctl-*.whl "$WHEELHOUSE"/pytools-*.whl \
        "$WHEELHOUSE"/platformdirs-*.whl "$WHEELHOUSE"/mako-*.whl "$WHEELHOUSE"/siphash24-*.whl \
        || exit 1
    # PyCUDA reads its build options from ~/.aksetup-defaults.py; build extensions in parallel
    conf_home=$(mktemp -d)
    if [ ! -e /usr/local/cuda/include/curand.h ]; then
        echo "CUDA_ENABLE_CURAND = False" > "$conf_home/.aksetup-defaults.py"
    fi
    printf '[build_ext]\nparallel = %s\n' "$(nproc)" > "$conf_home/.pydistutils.cfg"
    t0=$(date +%s)
    if ls "$WHEELHOUSE"/pycuda-*.whl > /dev/null 2>&1; then
        python3 -m pip install -q --no-index --no-deps --target "$SITE" "$WHEELHOUSE"/pycuda-*.whl \
            || exit 1
    else    # build a wheel (kept in $OUT/wheels for the next machine) and install it
        HOME=$conf_home CUDA_ROOT=/usr/local/cuda python3 -m pip wheel --no-index --no-deps \
            --no-build-isolation -w "$OUT/wheels" "$WHEELHOUSE"/pycuda-*.tar.gz \
            > "$OUT/pycuda-build.log" 2>&1 || { tail -40 "$OUT/pycuda-build.log"; exit 1; }
        python3 -m pip install -q --no-index --no-deps --target "$SITE" "$OUT"/wheels/pycuda-*.whl \
            || exit 1
    fi
    say "PyCUDA installed in $(( $(date +%s) - t0 )) s"
    python3 - <<'EOF' || exit 1
import pycuda.driver as cuda
cuda.init()
device = cuda.Device(0)
print("PyCUDA", __import__("pycuda").VERSION, "device", device.name(),
      "capability", device.compute_capability(), "driver", cuda.get_driver_version())
EOF
fi

if has_stage tests; then
    say "CUDA tests, double precision"
    timeout 300 python3 -m pytest -q -m cuda -p no:cacheprovider tests \
        2>&1 | tee "$OUT/cuda-tests-double.log" | tail -25
fi

if has_stage float; then
    say "CUDA tests, single precision"
    timeout 240 python3 -m pytest -q -m cuda -k float -p no:cacheprovider tests 2>&1 \
        | tee "$OUT/cuda-tests-float.log" | tail -25
fi

if has_stage micro; then
    # one microcircuit run per ';'-separated argument list
    IFS=';' read -ra runs <<< "${PYNN_GPU_MICRO_RUNS:---connectivity procedural;--connectivity ragged}"
    for i in "${!runs[@]}"; do
        say "microcircuit ${runs[$i]}"
        timeout 300 python3 benchmarks/microcircuit_gpu.py --target cuda ${runs[$i]} \
            --json "$OUT/microcircuit-$i.json" 2>&1 | tee -a "$OUT/microcircuit.log" | tail -3
    done
fi

if has_stage va; then
    say "Vogels-Abbott COBA scaling"
    timeout 400 python3 benchmarks/vogels_abbott_scaling.py run --target cuda \
        --connectivity "${PYNN_GPU_VA_CONNECTIVITY:-ragged}" --out "$OUT/vogels_abbott.jsonl" \
        ${PYNN_GPU_VA_SIZES:+--sizes $PYNN_GPU_VA_SIZES} 2>&1 | tail -8
fi

if has_stage build; then
    say "build time against populations"
    timeout 200 python3 benchmarks/build_time.py --target cuda 2>&1 | tee "$OUT/build_time.log"
fi
say "done"
