"""
Error of the explicit gap-junction coupling (pynn_gpu.gap_junctions) for two coupled neurons.

1. Two identical passive IF_curr_exp neurons (tau_m = 20 ms, cm = 0.5 nF) started 20 mV
   apart, coupled by g = 0.005 uS: the difference of their potentials against the closed form
   exp(-(1/tau_m + 2 g/cm) t), at t = 40 ms.
2., 3. A neuron driven by i_offset (tau_m = 10 ms, cm = 0.25 nF) coupled by g = 0.02 uS to an
   identical neuron without input: the second neuron's potential against a run at
   dt = 0.001 ms. With 0.5 nA (2.) the driver fires about every 8 ms, and the error also
   holds what its spike times on the coarser grid contribute; with 0.15 nA (3.) it stays
   below threshold and the error is the coupling scheme's alone.

Run: .venv/bin/python benchmarks/validation/gap_junction_error.py   (C target, double)
"""

import numpy as np

import pynn_gpu as sim

REFERENCE_DT = 0.001


def passive_pair(dt, t_stop=40.0, tau_m=20.0, cm=0.5, g=0.005):
    sim.setup(timestep=dt, target="cpu")
    cells = sim.Population(2, sim.IF_curr_exp(tau_m=tau_m, cm=cm, v_rest=-65.0,
                                              v_thresh=1000.0))
    cells.initialize(v=np.array([-50.0, -70.0]))
    sim.Projection(cells[0:1], cells[1:2], sim.AllToAllConnector(),
                   sim.ElectricalSynapse(weight=g))
    cells.record("v")
    sim.run(t_stop)
    v = cells.get_data().segments[0].filter(name="v")[0].magnitude
    sim.end()
    difference = v[-1, 0] - v[-1, 1]
    exact = 20.0 * np.exp(-(1 / tau_m + 2 * g / cm) * t_stop)
    return difference, exact


def driven_pair(dt, drive, t_stop=100.0, g=0.02):
    """v of the silent neuron every 0.1 ms, and the driver's spike count."""
    sim.setup(timestep=dt, target="cpu")
    cells = sim.Population(2, sim.IF_curr_exp(tau_m=10.0, cm=0.25, v_rest=-65.0,
                                              v_reset=-60.0, v_thresh=-55.0, tau_refrac=2.0,
                                              i_offset=np.array([drive, 0.0])))
    sim.Projection(cells[0:1], cells[1:2], sim.AllToAllConnector(),
                   sim.ElectricalSynapse(weight=g))
    cells.record(["v", "spikes"], sampling_interval=0.1)
    sim.run(t_stop)
    segment = cells.get_data().segments[0]
    sim.end()
    v = segment.filter(name="v")[0].magnitude[:, 1]
    return v, len(segment.spiketrains[0])


def main():
    print("1. passive pair, difference at 40 ms against the closed form")
    print("   dt (ms)   simulated (mV)      exact (mV)       relative error   predicted")
    for dt in (0.1, 0.05, 0.01):
        difference, exact = passive_pair(dt)
        predicted = 40.0 * dt * (2 * 0.005 / 0.5) * (1 / 40.0 + 0.005 / 0.5)
        print(f"   {dt:<8g}  {difference:.12f}  {exact:.12f}  {difference / exact - 1:+.3e}"
              f"       {-predicted:+.3e}")
    for number, drive in ((2, 0.5), (3, 0.15)):
        print(f"{number}. driver i_offset = {drive} nA: silent neuron's v against "
              f"dt = {REFERENCE_DT} ms (0-100 ms)")
        reference, reference_spikes = driven_pair(REFERENCE_DT, drive)
        print(f"   reference: {reference_spikes} driver spikes, "
              f"mean v of the silent neuron {reference.mean():.4f} mV")
        print("   dt (ms)   driver spikes   max |error| (mV)   error of the mean (mV)")
        for dt in (0.1, 0.01):
            v, spikes = driven_pair(dt, drive)
            n = min(len(v), len(reference))
            error = v[:n] - reference[:n]
            print(f"   {dt:<8g}  {spikes:<14d}  {np.max(np.abs(error)):.3e}          "
                  f"{v[:n].mean() - reference[:n].mean():+.3e}")


if __name__ == "__main__":
    main()
