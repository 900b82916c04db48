"""
A network run by tests/mpi/test_mpi.py in one process and, under mpiexec, in several; it
writes what a user would look at (gathered on process 0) to the .npz file named on the
command line: spikes, membrane traces, conductances, weights, parameters, spike counts.

    python tests/mpi/network.py out.npz [shortest_delay_ms [target [propagation]]]
    mpiexec -n 3 python tests/mpi/network.py out.npz [shortest_delay_ms [target [propagation]]]

target: "cpu" (default), or "emulated-cuda": the CUDA target on the tests' host emulation
(tests/targets/conftest.py), where no GPU is at hand. propagation: the CUDA propagation
strategy of the projections that can have it ("auto" by default).
"""

import sys
from pathlib import Path

import numpy as np

from mpi4py import MPI  # noqa: F401  (as PyNN's MPI scripts do; pyNN.gpu finds the job)

import pyNN.gpu as sim
from pyNN.random import NumpyRNG, RandomDistribution

output = sys.argv[1]
shortest = float(sys.argv[2]) if len(sys.argv) > 2 else 0.5
target = sys.argv[3] if len(sys.argv) > 3 else "cpu"
propagation = sys.argv[4] if len(sys.argv) > 4 else "auto"
if target == "emulated-cuda":
    import pytest
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from cuda_emulation import install_emulator
    install_emulator(pytest.MonkeyPatch())
    target = "cuda"

sim.setup(timestep=0.1, min_delay=shortest, rng_seed=2024, target=target)
rng = NumpyRNG(seed=77, parallel_safe=True)

excitatory = sim.Population(200, sim.IF_cond_exp(tau_m=RandomDistribution("uniform", (15.0, 25.0), rng=rng)),
                            initial_values={"v": RandomDistribution("uniform", (-65.0, -55.0), rng=rng)},
                            label="excitatory")
inhibitory = sim.Population(50, sim.IF_curr_exp(), initial_values={"v": -60.0}, label="inhibitory")
drive = sim.Population(100, sim.SpikeSourcePoisson(rate=40.0), label="drive")
# one word of neurons: over several processes, some processes have none of it
tiny = sim.Population(20, sim.IF_curr_exp(i_offset=0.9), label="tiny")
# a spike just before the end of the first run, one after
late = sim.Population(1, sim.SpikeSourceArray(spike_times=[59.9, 70.0]), label="late")

delays = RandomDistribution("uniform", (shortest, 3.0), rng=rng)
connections = [
    sim.Projection(drive, excitatory, sim.FixedProbabilityConnector(0.2, rng=rng),
                   sim.StaticSynapse(weight=RandomDistribution("uniform", (0.002, 0.006), rng=rng),
                                     delay=delays), receptor_type="excitatory"),
    sim.Projection(drive, inhibitory, sim.FixedNumberPreConnector(10, rng=rng),
                   sim.StaticSynapse(weight=0.4, delay=delays), receptor_type="excitatory"),
    sim.Projection(excitatory, excitatory, sim.FixedProbabilityConnector(0.05, rng=rng),
                   sim.TsodyksMarkramSynapse(weight=0.003, delay=delays, U=0.5, tau_rec=100.0),
                   receptor_type="excitatory"),
    sim.Projection(excitatory, inhibitory, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=0.02, delay=shortest), receptor_type="excitatory"),
    sim.Projection(inhibitory, excitatory, sim.FixedProbabilityConnector(0.3, rng=rng),
                   sim.StaticSynapse(weight=0.01, delay=delays), receptor_type="inhibitory"),
    sim.Projection(drive, tiny, sim.FixedProbabilityConnector(0.2, rng=rng),
                   sim.StaticSynapse(weight=0.5, delay=delays), receptor_type="excitatory"),
    sim.Projection(tiny, excitatory, sim.FixedProbabilityConnector(0.2, rng=rng),
                   sim.StaticSynapse(weight=0.004, delay=delays), receptor_type="excitatory"),
    # gap junctions: each process holds the ones onto its neurons, couples with all
    sim.Projection(excitatory, excitatory, sim.FixedNumberPreConnector(2, rng=rng),
                   sim.ElectricalSynapse(weight=0.002)),
    # drawn by the generator, stored: each process generates the synapses onto its neurons
    sim.Projection(drive, excitatory, sim.FixedProbabilityConnector(0.05, rng=sim.NativeRNG(seed=8)),
                   sim.StaticSynapse(weight=0.002, delay=1.5), receptor_type="excitatory"),
    # decided by the distance-dependent generator: each process decides the pairs onto its
    # own neurons (the cells on a line, 1 apart)
    sim.Projection(drive, excitatory, sim.DistanceDependentProbabilityConnector(
                       "0.3 * exp(-d / 40)", rng=sim.NativeRNG(seed=12)),
                   sim.StaticSynapse(weight=0.001, delay=RandomDistribution(
                       "uniform", (shortest, 3.0), rng=sim.NativeRNG(seed=13))),
                   receptor_type="excitatory"),
    # drawn by the fixed-number generator: rows drawn whole, each process keeping the
    # synapses onto its neurons; columns, each process drawing those of its own neurons
    sim.Projection(drive, excitatory, sim.FixedTotalNumberConnector(1500, rng=sim.NativeRNG(seed=14)),
                   sim.StaticSynapse(weight=0.002, delay=RandomDistribution(
                       "uniform", (shortest, 2.0), rng=sim.NativeRNG(seed=15))),
                   receptor_type="excitatory"),
    sim.Projection(drive, inhibitory, sim.FixedNumberPreConnector(4, rng=sim.NativeRNG(seed=16)),
                   sim.StaticSynapse(weight=0.1, delay=1.0), receptor_type="excitatory"),
    # PyNN's own FixedTotalNumber (a seeded NumpyRNG), which splits its total by process:
    # every process builds it as one process would, onto a view, and keeps its part
    sim.Projection(drive, excitatory[5:150], sim.FixedTotalNumberConnector(
                       400, rng=NumpyRNG(seed=17)),
                   sim.StaticSynapse(weight=0.002, delay=1.0), receptor_type="excitatory"),
    # regenerated per spike, never stored: each process regenerates its own neurons' part
    sim.Projection(drive, inhibitory, sim.FixedProbabilityConnector(0.2, rng=sim.NativeRNG(seed=5)),
                   sim.StaticSynapse(weight=RandomDistribution("uniform", (0.05, 0.15),
                                                               rng=sim.NativeRNG(seed=6)),
                                     delay=1.0),
                   receptor_type="excitatory", connectivity_format="procedural"),
    sim.Projection(drive, excitatory, sim.FixedProbabilityConnector(0.1, rng=rng),
                   sim.STDPMechanism(
                       timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0,
                                                           A_plus=0.05, A_minus=0.06),
                       weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=0.01),
                       weight=0.004, delay=delays),
                   receptor_type="excitatory"),
    # half of each delay axonal: handed over when it ends, from all processes' spikes
    sim.Projection(drive, inhibitory, sim.FixedProbabilityConnector(0.1, rng=rng),
                   sim.STDPMechanism(
                       timing_dependence=sim.SpikePairRule(tau_plus=15.0, tau_minus=25.0,
                                                           A_plus=0.05, A_minus=0.05),
                       weight_dependence=sim.MultiplicativeWeightDependence(w_min=0.0,
                                                                            w_max=0.5),
                       weight=0.2, delay=delays, dendritic_delay_fraction=0.5),
                   receptor_type="excitatory"),
    # random transmission: each synapse draws the numbers of its neuron pair, wherever it is
    # stored (each process holds only the synapses onto its own neurons)
    sim.Projection(drive, excitatory, sim.FixedProbabilityConnector(0.2, rng=rng),
                   sim.SimpleStochasticSynapse(weight=0.02, p=0.5, delay=delays),
                   receptor_type="excitatory"),
    sim.Projection(drive, inhibitory, sim.AllToAllConnector(),
                   sim.MultiQuantalSynapse(weight=0.05, n=3, U=0.4, delay=1.0),
                   receptor_type="excitatory"),
]
# the late spikes travel (are exchanged between the processes) from the first run on
connections.append(sim.Projection(late, excitatory, sim.FromListConnector([(0, 5, 0.0, 1.0)]),
                                  sim.StaticSynapse(), receptor_type="excitatory"))
# projections whose synapses the generators make (each process its own part), not PyNN's code
generated = sum(c._procedural is not None for c in connections)
for connection in connections:
    if not connection.synapse_type.model.needs_last_spike:
        connection.propagation = propagation

noise = sim.NoisyCurrentSource(mean=0.05, stdev=0.1, dt=1.0)
noise.inject_into(excitatory[60:140])
step = sim.StepCurrentSource(times=[20.0, 60.0], amplitudes=[0.5, 0.0])
step.inject_into(inhibitory[[1, 45]])

for population in (excitatory, inhibitory, drive, tiny):
    population.record("spikes")
excitatory[[0, 63, 64, 130, 199]].record(["v", "gsyn_exc"])
inhibitory[[1, 45]].record("v")

# counted by their generators before anything is built, each process onto its own neurons
# (rows, and FixedNumberPre's columns): nothing generated on the host for it
stored_generated = [c for c in connections if c.awaiting_generation and not c.is_procedural]
counted_in_degrees = np.concatenate([c.in_degree.per_neuron for c in stored_generated])
counted_never_generated = all(c.awaiting_generation for c in stored_generated)

sim.run(60.0)
excitatory.set(tau_refrac=RandomDistribution("uniform", (1.0, 3.0), rng=rng))
inhibitory[30:50].set(i_offset=0.3)
# values drawn for every synapse in one process's order, each process taking its own: a
# projection built by PyNN's code per postsynaptic cell, and one from the generator
connections[2].set(weight=RandomDistribution("uniform", (0.002, 0.004), rng=rng))
connections[2].initialize(u=RandomDistribution("uniform", (0.2, 0.6), rng=rng))
connections[8].set(weight=RandomDistribution("uniform", (0.001, 0.003), rng=rng))
# a shorter delay than any so far: over several processes, more frequent exchanges from now
connections.append(sim.Projection(drive, inhibitory, sim.FixedNumberPostConnector(5, rng=rng),
                                  sim.StaticSynapse(weight=0.3, delay=max(0.1, shortest - 0.2)),
                                  receptor_type="excitatory"))
# plastic projections whose spikes take an axonal delay, created now: the spikes of the
# last run, still in the histories (or, over several processes, in the exchanged spikes),
# never reach them


def axonal_stdp(delay):
    return sim.STDPMechanism(
        timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0, A_plus=0.05,
                                            A_minus=0.06),
        weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=0.01),
        weight=0.005, delay=delay, dendritic_delay_fraction=0.0)


connections.append(sim.Projection(late, excitatory, sim.AllToAllConnector(), axonal_stdp(3.0),
                                  receptor_type="excitatory"))
connections.append(sim.Projection(drive, excitatory, sim.FixedProbabilityConnector(0.2, rng=rng),
                                  axonal_stdp(2.0), receptor_type="excitatory"))
sim.run(40.0)

# counted by its generator in every process, onto that process's neurons: never stored
regenerated = next(c for c in connections if c.connectivity_format == "procedural")
procedural_counts = {"procedural_size": regenerated.size(gather=True),
                     "procedural_in_degree": regenerated.in_degree.per_neuron,
                     "procedural_never_generated": regenerated.awaiting_generation}
results = {"num_processes": sim.num_processes(), "generated": generated, **procedural_counts,
           "counted_in_degrees": counted_in_degrees,
           "counted_never_generated": counted_never_generated,
           # on the C target generated by now, on the CUDA target still counted
           "in_degrees_after_run": np.concatenate([c.in_degree.per_neuron
                                                   for c in stored_generated]),
           # the procedural projection stays procedural in every process
           "procedural_groups": sum(row["format"] == "procedural"
                                    for row in sim.connectivity_report())}
for population in (excitatory, inhibitory, drive, tiny):
    block = population.get_data(gather=True)
    counts = population.get_spike_counts(gather=True)
    if sim.rank() == 0:
        trains = block.segments[0].spiketrains
        order = np.argsort([int(t.annotations["source_index"]) for t in trains])
        results[f"{population.label}_spikes"] = np.concatenate(
            [np.column_stack([np.full(len(trains[i]), int(trains[i].annotations["source_index"])),
                              trains[i].magnitude]) for i in order] or [np.zeros((0, 2))])
        results[f"{population.label}_counts"] = np.array(
            [counts[cell] for cell in population.all_cells])
        for signal in block.segments[0].analogsignals:
            channels = np.asarray(signal.array_annotations["channel_index"])
            results[f"{population.label}_{signal.name}"] = signal.magnitude[:, np.argsort(channels)]
tau_m = excitatory.get("tau_m", gather=True)
tau_refrac = excitatory.get("tau_refrac", gather=True)
weights = [sorted(p.get(["weight"] if p.is_gap_junction else ["weight", "delay"], format="list",
                         gather=True)) for p in connections]
sizes = [p.size(gather=True) for p in connections]
if sim.rank() == 0:
    results["tau_m"] = np.asarray(tau_m)
    results["tau_refrac"] = np.asarray(tau_refrac)
    for k, rows in enumerate(weights):
        results[f"connections{k}"] = np.array(rows)
    results["sizes"] = np.array(sizes)
    np.savez(output, **results)
sim.end()
