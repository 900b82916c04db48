#!/usr/bin/env bash
# Where a microcircuit step's time goes on a lent GPU: install (gpu_session.sh), then the
# full-scale microcircuit with a per-kernel profile (kernel times inside CUDA graphs) with
# stored (device-generated) rows in double and float, and procedural connectivity; then the
# CUDA tests of the parts that touch propagation, recording and the step clock.
# Usage: OUT=... bash benchmarks/gpu_profile.sh WHEELHOUSE
set -u
W=${1:?wheelhouse}
bash benchmarks/gpu_session.sh "$W" install || exit 1
export PYTHONPATH=/tmp/pynn-gpu-site:$PWD PYTHONUNBUFFERED=1 PYNN_GPU_CACHE_DIR=/tmp/pynn-gpu-cache
say() { echo "[$(date +%T)] $*"; }
micro() {   # micro NAME ARGS...: one full-scale run, its JSON and log into $OUT
    local name=$1; shift
    say "microcircuit $name: $*"
    timeout 240 python3 benchmarks/microcircuit_gpu.py --target cuda --json "$OUT/micro-$name.json" \
        "$@" 2>&1 | tee "$OUT/micro-$name.log" | tail -3
}
micro ragged --connectivity ragged --profile-steps 720
micro ragged-float --connectivity ragged --precision float --profile-steps 720
micro procedural --connectivity procedural --profile-steps 720
NCU=$(command -v ncu || ls /usr/local/cuda/bin/ncu 2>/dev/null)
if [ -n "$NCU" ] && [ -z "${PYNN_GPU_SKIP_NCU:-}" ]; then
    say "Nsight Compute: one steady-state step of each kernel (stored rows, double)"
    timeout ${PYNN_GPU_NCU_TIMEOUT:-150} "$NCU" --kernel-name regex:"inject|update|propagate" \
        --launch-skip 3000 --launch-count 3 --section SpeedOfLight --section Occupancy \
        --section LaunchStats --section WarpStateStats --section MemoryWorkloadAnalysis \
        python3 benchmarks/microcircuit_gpu.py --target cuda --connectivity ragged \
        --duration 20 > "$OUT/ncu.txt" 2>&1
    grep -E "inject_|update_|propagate_|Duration|Throughput|Achieved Occupancy|Registers|Block Size|Stall|ERR|error" \
        "$OUT/ncu.txt" | head -60
fi
if [ -n "${PYNN_GPU_SKIP_TESTS:-}" ]; then say "done"; exit 0; fi
say "CUDA tests"
timeout ${PYNN_GPU_TEST_TIMEOUT:-200} python3 -m pytest -q -m cuda -p no:cacheprovider \
    tests/targets/test_cuda_target.py tests/targets/test_connectivity_formats.py \
    tests/targets/test_procedural.py tests/targets/test_recording.py \
    tests/targets/test_synapse_types.py tests/validation/test_float_precision.py 2>&1 \
    | tee "$OUT/cuda-tests.log" | tail -8
say "done"
