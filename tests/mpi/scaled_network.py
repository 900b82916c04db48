"""
A network whose weights pyNN.gpu scales (setup(weight_scaling=...), "balanced", with the
presynaptic rates measured in calibration runs), run by tests/mpi/test_mpi.py in one process
and under mpiexec; writes the spikes, the scaled weights and the scaling records (gathered on
process 0) to the .npz file named on the command line.

    mpiexec -n 2 python tests/mpi/scaled_network.py out.npz
"""

import sys

import numpy as np

from mpi4py import MPI  # noqa: F401

import pyNN.gpu as sim
from pyNN.random import NumpyRNG, RandomDistribution

sim.setup(timestep=0.1, min_delay=0.5, rng_seed=99, weight_scaling=dict(
    policy="balanced", K0={"drive": 40, "recurrent": 25, "generated": 30},
    calibration=dict(duration=150.0, transient=50.0, iterations=3)))
rng = NumpyRNG(seed=13, parallel_safe=True)
cells = sim.Population(150, sim.IF_curr_exp(tau_m=20.0, v_thresh=-52.0), label="cells")
drive = sim.Population(80, sim.SpikeSourcePoisson(rate=25.0), label="sources")
projections = [
    sim.Projection(drive, cells, sim.FixedProbabilityConnector(0.25, rng=rng),
                   sim.StaticSynapse(weight=RandomDistribution("uniform", (0.3, 0.6), rng=rng),
                                     delay=1.0), label="drive"),
    sim.Projection(cells, cells, sim.FixedProbabilityConnector(0.1, rng=rng),
                   sim.StaticSynapse(weight=RandomDistribution("uniform", (-0.3, -0.1), rng=rng),
                                     delay=RandomDistribution("uniform", (0.5, 2.0), rng=rng)),
                   receptor_type="inhibitory", label="recurrent"),
    # regenerated per spike: its weight distribution is scaled, in every process alike
    sim.Projection(drive, cells, sim.FixedProbabilityConnector(0.1, rng=sim.NativeRNG(seed=4)),
                   sim.StaticSynapse(weight=RandomDistribution("uniform", (0.1, 0.3),
                                                               rng=sim.NativeRNG(seed=5)),
                                     delay=1.0), connectivity_format="procedural",
                   label="generated"),
]
cells.record("spikes")
cells[[0, 75, 149]].record("v")
sim.run(200.0)

block = cells.get_data(gather=True)
still_procedural = projections[2].awaiting_generation      # never generated on the host
weights = [sorted(p.get("weight", format="list", gather=True)) for p in projections]
if sim.rank() == 0:
    trains = block.segments[0].spiketrains
    order = np.argsort([int(t.annotations["source_index"]) for t in trains])
    results = {
        "num_processes": sim.num_processes(),
        "spikes": np.concatenate([np.column_stack([
            np.full(len(trains[i]), int(trains[i].annotations["source_index"])),
            trains[i].magnitude]) for i in order]),
        "v": block.segments[0].analogsignals[0].magnitude,
        "still_procedural": still_procedural,
        "records": np.array([[p.scaling.K, p.scaling.factor, p.scaling.dc, p.scaling.rate,
                              p.scaling.w0_mean, p.scaling.w_mean] for p in projections]),
    }
    for k, rows in enumerate(weights):
        results[f"weights{k}"] = np.array(rows)
    np.savez(sys.argv[1], **results)
sim.end()
