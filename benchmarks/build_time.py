"""
Build time against the number of populations: 1, 10 and 100 (or --populations ...)
populations of 100 IF_curr_exp neurons, each projecting to the next (FixedProbability 0.1),
spikes recorded. Populations and projections with the same code share one kernel, so the
generated code, and the compile time, should not grow with their number; the rest of the
build (construction, the first run) should grow linearly.

Each build starts with an empty compile cache. Targets: cpu (the system C compiler), cuda
(PyCUDA and a GPU), and nvcc: the CUDA source of the same network compiled with nvcc
alone, which needs no GPU.

    python benchmarks/build_time.py --target nvcc cpu
"""

import argparse
import json
import os
import re
import subprocess
import tempfile
import time

import pynn_gpu as sim
from pynn_gpu import codegen, simulator
from pynn_gpu.targets import cuda


def build_network(n_populations):
    rng = sim.NativeRNG(seed=1)
    populations = [sim.Population(100, sim.IF_curr_exp(), label=f"p{i}")
                   for i in range(n_populations)]
    for i, population in enumerate(populations):
        population.record("spikes")
        sim.Projection(population, populations[(i + 1) % n_populations],
                       sim.FixedProbabilityConnector(0.1, rng=rng),
                       sim.StaticSynapse(weight=0.1, delay=1.0))


def measure(target, n_populations):
    os.environ["PYNN_GPU_CACHE_DIR"] = tempfile.mkdtemp(prefix="pynn_gpu_build_time_")
    sim.setup(timestep=0.1, target="cpu" if target == "nvcc" else target)
    try:
        t_start = time.perf_counter()
        build_network(n_populations)
        t_built = time.perf_counter()
        sim.run(0.1)
        t_run = time.perf_counter()
        engine = simulator.state.engine
        if target != "nvcc":
            source = engine.program.code.source
            # construction: the script's Population and Projection calls; first run: build
            # (the network's graph and arrays, code generation, compilation) and one step
            return dict(construction_s=t_built - t_start, first_run_s=t_run - t_built,
                        codegen_s=engine.timings["codegen"], compile_s=engine.timings["compile"],
                        kernels=_kernels(source, target), source_lines=source.count("\n"))
        t0 = time.perf_counter()
        code = codegen.generate(engine.graph, "cuda")
        t1 = time.perf_counter()
    finally:
        sim.end()
    with tempfile.TemporaryDirectory() as tmp:
        source_path = os.path.join(tmp, "network.cu")
        with open(source_path, "w") as f:
            f.write(code.source)
        command = cuda.nvcc_command(cuda.find_nvcc(), source_path,
                                    os.path.join(tmp, "network.cubin"), arch="sm_90")
        t2 = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        t3 = time.perf_counter()
    return dict(codegen_s=t1 - t0, compile_s=t3 - t2, kernels=_kernels(code.source, "cuda"),
                source_lines=code.source.count("\n"))


def _kernels(source, target):
    if target in ("cuda", "nvcc"):
        return len(re.findall(r"^//@launch ", source, re.M))
    return len(re.findall(r"^static void (update|propagate)_", source, re.M))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", nargs="+", default=["cpu", "nvcc"])
    parser.add_argument("--populations", type=int, nargs="+", default=[1, 10, 100])
    args = parser.parse_args()
    for target in args.target:
        for n in args.populations:
            result = dict(target=target, populations=n, **measure(target, n))
            print(json.dumps({k: round(v, 3) if isinstance(v, float) else v
                              for k, v in result.items()}), flush=True)


if __name__ == "__main__":
    main()
