#!/usr/bin/env bash
# The GPU checks of one session, in order of importance (a lease may end early): install,
# the microcircuit (procedural and stored connectivity, double; procedural in float), each
# with a per-kernel profile, the CUDA tests of the parts that changed, the Vogels-Abbott
# scaling sweep, build times. Usage: OUT=... bash benchmarks/gpu_final_check.sh WHEELHOUSE
set -u
W=${1:?wheelhouse}
export PYNN_GPU_MICRO_RUNS="--connectivity procedural --profile-steps 200;--connectivity ragged --profile-steps 200;--connectivity procedural --precision float --profile-steps 200"
bash benchmarks/gpu_session.sh "$W" install micro || exit 1
export PYTHONPATH=/tmp/pynn-gpu-site:$PWD PYTHONUNBUFFERED=1 PYNN_GPU_CACHE_DIR=/tmp/pynn-gpu-cache
echo "[$(date +%T)] CUDA tests of the changed parts"
timeout 150 python3 -m pytest -q -m cuda -p no:cacheprovider tests/targets/test_cuda_target.py \
    tests/targets/test_procedural.py tests/targets/test_poisson_drive.py \
    tests/targets/test_connectivity_formats.py tests/validation/test_float_precision.py \
    tests/targets/test_point_neuron.py tests/targets/test_gap_junctions.py 2>&1 | tee "$OUT/cuda-tests.log" | tail -15
PYNN_GPU_VA_SIZES="4000 16000 64000 256000 1000000" bash benchmarks/gpu_session.sh "$W" va build
echo "[$(date +%T)] done"
