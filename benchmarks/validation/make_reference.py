"""
Reference traces for the AdEx and HH models from pyNN.brian2, stored in
tests/validation/reference/*.npz and compared with pyNN.gpu by tests/validation/test_models.py
(which does not need Brian 2).

Brian 2 needs numpy < 2.3, so this runs in its own virtual environment:

    python3 -m venv /tmp/brian_env
    /tmp/brian_env/bin/pip install "numpy<2.3" brian2 PyNN==0.13.0 neo
    /tmp/brian_env/bin/python benchmarks/validation/make_reference.py

Every file holds one single-neuron protocol, described in the file itself (JSON under
"protocol", in PyNN terms, so the test rebuilds the same network from it), the traces sampled
every 0.1 ms, the spike times, and the versions that made it.

Choices, made so that the reference is accurate rather than fast:
* dt = 0.001 ms, and every neuron group integrated with Brian 2's "rk4" (pyNN.brian2 itself
  uses "rk2" for AdEx and forward Euler for HH, at the simulation step). The method is set by
  wrapping pyNN.brian2's BaseNeuronGroup; equations, thresholds, resets and refractoriness
  are pyNN.brian2's.
* pyNN.brian2 detects an AdEx spike at v > v_thresh + 5 delta_T, not at v_spike; the AdEx
  protocols set v_spike = v_thresh + 5 delta_T so both simulators use the same cut-off.
* pyNN.brian2's HH spikes at every step with v > -40 mV (no refractoriness), so the HH files
  store the times of the action-potential peaks, from the trace at 1 us resolution.
* Traces are recorded at every Brian 2 step and subsampled here: pyNN.brian2 labels samples
  as if the monitor step were the simulation step.
* Two slips of pyNN.brian2 0.13.0 are corrected here (see _fix_pynn_brian2): the input of
  EIF_cond_alpha_isfa_ista goes to the alpha function's auxiliary variable (not straight into
  the conductance), and HH's m, h, n can be recorded.
"""

import json
import os
import platform
import sys

import numpy as np

DT = 0.001        # ms, the reference's step
SAMPLE = 0.1      # ms, the stored traces' step
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "validation", "reference")

_EXC_BURST = [float(t) for t in np.arange(30.0, 81.0, 5.0)]
_INH_TRAIN = [float(t) for t in np.arange(120.0, 171.0, 10.0)]
_LATE_EXC = [float(t) for t in np.arange(180.0, 200.5, 2.5)]


def _adex(celltype, **params):
    base = {"v_spike": -40.4, "tau_refrac": 0.0}      # v_thresh + 5 delta_T for the defaults
    base.update(params)
    return {"celltype": celltype, "params": base, "record": ["v", "w", "gsyn_exc", "gsyn_inh"]}


def _hh(**params):
    return {"celltype": "HH_cond_exp", "params": params,
            "record": ["v", "m", "h", "n", "gsyn_exc", "gsyn_inh"]}


def _synaptic(w_exc, w_inh, w_late):
    return [{"receptor": "excitatory", "times": _EXC_BURST, "weight": w_exc, "delay": 1.0},
            {"receptor": "inhibitory", "times": _INH_TRAIN, "weight": w_inh, "delay": 1.0},
            {"receptor": "excitatory", "times": _LATE_EXC, "weight": w_late, "delay": 1.0}]


PROTOCOLS = {
    "adex_exp_step": dict(_adex("EIF_cond_exp_isfa_ista"), dc=[0.65, 20.0, 220.0]),
    "adex_exp_strong": dict(_adex("EIF_cond_exp_isfa_ista"), dc=[1.2, 20.0, 220.0]),
    "adex_exp_refractory": dict(_adex("EIF_cond_exp_isfa_ista", tau_refrac=2.0),
                                dc=[1.2, 20.0, 220.0]),
    "adex_exp_synaptic": dict(_adex("EIF_cond_exp_isfa_ista"),
                              inputs=_synaptic(0.02, 0.05, 0.01)),
    "adex_alpha_step": dict(_adex("EIF_cond_alpha_isfa_ista"), dc=[0.8, 20.0, 220.0]),
    "adex_alpha_synaptic": dict(_adex("EIF_cond_alpha_isfa_ista"),
                                inputs=_synaptic(0.02, 0.05, 0.01)),
    "hh_step": dict(_hh(), dc=[0.1, 20.0, 220.0]),
    "hh_strong": dict(_hh(), dc=[0.4, 20.0, 220.0]),
    "hh_synaptic": dict(_hh(), inputs=_synaptic(0.1, 0.2, 0.05)),
}
T_STOP = 250.0


def build(sim, protocol, delay_shift=0.0):
    """The protocol's network on any PyNN backend `sim`; returns the recorded population.
    `delay_shift` is taken off every delay (see run_protocol)."""
    celltype = getattr(sim, protocol["celltype"])(**protocol["params"])
    cell = sim.Population(1, celltype)
    if protocol.get("dc"):
        amplitude, start, stop = protocol["dc"]
        sim.DCSource(amplitude=amplitude, start=start, stop=stop).inject_into(cell)
    for spec in protocol.get("inputs", []):
        # a second, silent source: pyNN.brian2 fails on a one-cell SpikeSourceArray
        source = sim.Population(2, sim.SpikeSourceArray(spike_times=[spec["times"], []]))
        sim.Projection(source, cell, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=spec["weight"],
                                         delay=spec["delay"] - delay_shift),
                       receptor_type=spec["receptor"])
    return cell


def peak_times(t, v, height):
    """Times of the local maxima of v above `height` (action potential peaks)."""
    inner = (v[1:-1] > v[:-2]) & (v[1:-1] >= v[2:]) & (v[1:-1] >= height)
    return t[1:-1][inner]


def _use_rk4(brian_cells):
    original = brian_cells.BaseNeuronGroup.__init__

    def init(self, *args, **kwargs):
        kwargs["method"] = "rk4"
        original(self, *args, **kwargs)

    brian_cells.BaseNeuronGroup.__init__ = init


def _fix_pynn_brian2(models):
    """Two slips of pyNN.brian2 0.13.0 that would spoil the reference:
    * EIF_cond_alpha_isfa_ista sends input to ge, the conductance, instead of ye, the
      alpha function's auxiliary variable: its conductance would be a decaying exponential.
      IF_cond_alpha in the same module uses ye/yi; so do we here.
    * HH_cond_exp translates the recorded m, h, n with a name where a function is needed,
      so recording them fails; a unit scale factor gives the function."""
    from pyNN.standardmodels import build_translations
    models.EIF_cond_alpha_isfa_ista.post_synaptic_variables = {"excitatory": "ye",
                                                               "inhibitory": "yi"}
    hh = models.HH_cond_exp
    hh.state_variable_translations = dict(hh.state_variable_translations)
    hh.state_variable_translations.update(build_translations(("h", "h", 1), ("m", "m", 1),
                                                             ("n", "n", 1)))


def run_protocol(name, protocol):
    import pyNN.brian2 as sim
    sim.setup(timestep=DT, min_delay=DT)
    # Brian 2 applies an input after the state update of the step it arrives in, i.e. at the
    # end of that step; pyNN.gpu and NEST at its start (t_spike + delay). One step less of
    # delay makes the conductance jump at t_spike + delay in both.
    cell = build(sim, protocol, delay_shift=DT)
    cell.record(["spikes"] + protocol["record"])
    sim.run(T_STOP)
    segment = cell.get_data().segments[0]
    every = int(round(SAMPLE / DT))
    traces = {}
    for signal in segment.analogsignals:
        values = np.asarray(signal.magnitude)[:, 0]
        traces[signal.name] = values
    spikes = np.asarray(segment.spiketrains[0].magnitude)
    sim.end()
    times = np.arange(len(traces["v"])) * DT
    result = {f"trace_{k}": v[::every].astype(np.float64) for k, v in traces.items()}
    if protocol["celltype"] == "HH_cond_exp":
        height = protocol["params"].get("v_offset", -63.0) + 30.0
        result["ap_peaks"] = peak_times(times, traces["v"], height)
    else:
        # Brian 2 labels a spike with the start of the step it was detected in
        result["spikes"] = spikes + DT
    return result


def main():
    import importlib

    import brian2
    import neo
    import pyNN
    # (the attribute pyNN.brian2.cells is the standard-models module; the module is not)
    _use_rk4(importlib.import_module("pyNN.brian2.cells"))
    _fix_pynn_brian2(importlib.import_module("pyNN.brian2.standardmodels.cells"))
    brian2.prefs.codegen.target = "cython"
    # pyNN.brian2's spike generators run on Brian 2's default clock: give it the same step
    brian2.defaultclock.dt = DT * brian2.ms
    versions = {"brian2": brian2.__version__, "PyNN": pyNN.__version__,
                "numpy": np.__version__, "neo": neo.__version__,
                "python": platform.python_version(), "method": "rk4", "dt_ms": DT,
                "sample_ms": SAMPLE, "script": "benchmarks/validation/make_reference.py"}
    os.makedirs(OUT, exist_ok=True)
    names = sys.argv[1:] or list(PROTOCOLS)
    for name in names:
        protocol = dict(PROTOCOLS[name], t_stop=T_STOP)
        result = run_protocol(name, protocol)
        path = os.path.join(OUT, f"{name}.npz")
        np.savez_compressed(path, protocol=json.dumps(protocol), versions=json.dumps(versions),
                            **result)
        spikes = result.get("spikes", result.get("ap_peaks"))
        print(f"{name}: {len(spikes)} spikes, first {np.round(spikes[:5], 3)} -> {path}")


if __name__ == "__main__":
    main()
