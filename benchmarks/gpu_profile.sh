#!/usr/bin/env bash
# Where a microcircuit step's time goes on a lent GPU: install (gpu_session.sh), then the
# full-scale microcircuit with a per-kernel profile, once per ';'-separated argument list
# in $PYNN_GPU_MICRO_RUNS (default: stored rows in double and float, each with the
# planner's propagation and with "balanced"; other plans with e.g. "--connectivity ragged
# --spike-lanes 4" or "--propagation balanced --balanced-threads 65536"), then the CUDA tests
# of propagation (every layout, "balanced" too), recording, drives, generated and procedural
# connectivity, plasticity and two processes
# sharing the GPU over MPI, then (if
# $PYNN_GPU_PLASTICITY holds plasticity_cost.py's arguments) the cost of STDP, then (if
# $PYNN_GPU_DELAYS holds delay_cost.py's arguments) the cost of heterogeneous delays, then (if
# $PYNN_GPU_VA_SIZES is set) the Vogels-Abbott scaling sweep, once per propagation in
# $PYNN_GPU_VA_PROPAGATION (default "post balanced").
# Usage: OUT=... bash benchmarks/gpu_profile.sh WHEELHOUSE
set -u
W=${1:?wheelhouse}
bash benchmarks/gpu_session.sh "$W" install || exit 1
export PYTHONPATH=/tmp/pynn-gpu-site:$PWD PYTHONUNBUFFERED=1 PYNN_GPU_CACHE_DIR=/tmp/pynn-gpu-cache
say() { echo "[$(date +%T)] $*"; }
IFS=';' read -ra runs <<< "${PYNN_GPU_MICRO_RUNS:---connectivity ragged;--connectivity ragged --propagation balanced;--connectivity ragged --precision float;--connectivity ragged --precision float --propagation balanced}"
for i in "${!runs[@]}"; do
    say "microcircuit ${runs[$i]}"
    timeout 240 python3 benchmarks/microcircuit_gpu.py --target cuda --profile-steps 720 \
        ${runs[$i]} --json "$OUT/micro-$i.json" 2>&1 | tee "$OUT/micro-$i.log" | tail -3
done
say "CUDA tests"
timeout ${PYNN_GPU_TEST_TIMEOUT:-200} python3 -m pytest -q -m cuda -p no:cacheprovider \
    tests/targets/test_cuda_target.py tests/targets/test_poisson_drive.py \
    tests/targets/test_fixed_number_generation.py tests/targets/test_connectivity_formats.py \
    tests/targets/test_electrodes.py tests/targets/test_recording.py \
    tests/targets/test_plasticity.py tests/targets/test_distance_probability.py \
    tests/targets/test_procedural.py tests/targets/test_pattern_connectors.py \
    tests/mpi/test_mpi.py 2>&1 \
    | tee "$OUT/cuda-tests.log" | tail -8
if [ -n "${PYNN_GPU_PLASTICITY:-}" ]; then
    say "plasticity cost: $PYNN_GPU_PLASTICITY"
    timeout 240 python3 benchmarks/plasticity_cost.py --target cuda $PYNN_GPU_PLASTICITY \
        --json "$OUT/plasticity.json" 2>&1 | tail -3
fi
if [ -n "${PYNN_GPU_DELAYS:-}" ]; then
    say "delay cost: $PYNN_GPU_DELAYS"
    timeout 240 python3 benchmarks/delay_cost.py --target cuda $PYNN_GPU_DELAYS \
        --json "$OUT/delays.json" 2>&1 | tail -3
fi
if [ -n "${PYNN_GPU_VA_SIZES:-}" ]; then
    for propagation in ${PYNN_GPU_VA_PROPAGATION:-post balanced}; do
        say "Vogels-Abbott scaling: $PYNN_GPU_VA_SIZES, propagation $propagation"
        timeout ${PYNN_GPU_VA_TIMEOUT:-300} python3 benchmarks/vogels_abbott_scaling.py run \
            --target cuda --connectivity ragged --propagation $propagation \
            --out "$OUT/vogels_abbott.jsonl" --sizes $PYNN_GPU_VA_SIZES 2>&1 | tail -8
    done
fi
say "done"
