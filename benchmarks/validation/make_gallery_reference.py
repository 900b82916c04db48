"""
Reference traces of the single-neuron gallery (gallery.py) from pyNN.brian2, stored in
benchmarks/validation/results/gallery/<cell type>.npz; validate.py and
tests/validation/test_reference_simulator.py compare pyNN.gpu with them, without Brian 2.

    nice -n 10 .venv-brian2/bin/python benchmarks/validation/make_gallery_reference.py \
        [CELLTYPE ...]

The reference is made to be accurate, as in make_reference.py (whose helpers it uses):
dt = 0.001 ms and Brian 2's "rk4" for every neuron group, the two corrections of
pyNN.brian2 0.13.0 listed there, and two more here: its IF_curr_alpha decays the inhibitory
current with tau_syn_E instead of tau_syn_I (_fix_alpha_current), and its
IF_cond_exp_gsfa_grr adds spike-triggered conductances 1e9 times too large
(_fix_adaptation_increments). And one convention is changed to NEST's, which pyNN.gpu
follows: g_s and g_r of IF_cond_exp_gsfa_grr keep decaying while the neuron is refractory
(_adaptation_decays_while_refractory).

Each file holds v every 0.1 ms (trace_v), the spike times (for HH_cond_exp, which
pyNN.brian2 reports at every step above -40 mV, the action-potential peaks instead), the
cell type Brian 2 ran, the versions, the command and the date.
"""

import datetime
import importlib
import json
import os
import platform
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import gallery  # noqa: E402
from make_reference import _fix_pynn_brian2, _use_rk4, peak_times  # noqa: E402

DT = 0.001        # ms, the reference's step
SAMPLE = 0.1      # ms, the stored trace's step
OUT = os.path.join(HERE, "results", "gallery")


def _fix_alpha_current(models):
    """pyNN.brian2 0.13.0's IF_curr_alpha uses tau_syn_e in the equations of the inhibitory
    current; these are the same equations with tau_syn_i there."""
    import brian2
    fixed = brian2.Equations('''
        die/dt = (2.7182818284590451*ye-ie)/tau_syn_e : amp
        dye/dt = -ye/tau_syn_e                        : amp
        dii/dt = (2.7182818284590451*yi-ii)/tau_syn_i : amp
        dyi/dt = -yi/tau_syn_i                        : amp
        i_syn = ie + ii                               : amp
        tau_syn_e                                     : second
        tau_syn_i                                     : second
    ''')
    models.IF_curr_alpha.eqs = models.leaky_iaf + fixed


def _fix_adaptation_increments(brian_cells):
    """pyNN.brian2 0.13.0 multiplies the spike-triggered increments q_sfa and q_rr of
    IF_cond_exp_gsfa_grr by 1e9 once too often (they arrive in siemens and are scaled to nS
    again), so every spike adds a conductance 1e9 times too large and the neuron fires at
    every step. The same reset with the increments as given:
    v = v_reset, g_r += q_rr, g_s += q_sfa."""
    from brian2 import mV, nS
    group = brian_cells.AdaptiveNeuronGroup2

    def init(self, n, equations, **parameters):
        threshold = "v >= {}*mV".format(parameters["v_thresh"][0] / mV)
        self._resetvalue = parameters.pop("v_reset")[0]
        self._q_rvalue = parameters.pop("q_r")[0]
        self._q_svalue = parameters.pop("q_s")[0]
        self._refracvalue = parameters.pop("tau_refrac")[0]
        reset = "v = {}*mV; g_r += {}*nS; g_s += {}*nS".format(
            self._resetvalue / mV, self._q_rvalue / nS, self._q_svalue / nS)
        brian_cells.BaseNeuronGroup.__init__(self, n, equations, threshold, reset=reset,
                                             refractory=self._refracvalue, **parameters)

    group.__init__ = init


def _adaptation_decays_while_refractory(models):
    """pyNN.brian2's IF_cond_exp_gsfa_grr stops the decay of g_s and g_r while the neuron is
    refractory; NEST's iaf_cond_exp_sfa_rr (and pyNN.gpu) clamp only v. The reference here
    follows NEST: the same equations without "(unless refractory)" on g_s and g_r, and
    exponential synapses (pyNN.brian2 attaches the alpha equations but sends the input to
    the conductance itself, which makes them exponential anyway)."""
    import brian2
    from pyNN.brian2.standardmodels import receptors
    adaptation = brian2.Equations('''
        i_adapt = -g_r*(v-E_r) - g_s*(v-E_s) : amp
        i_total = i_adapt + i_syn + i_offset + i_inj : amp
        dv/dt = (v_rest-v)/tau_m + i_total/c_m : volt (unless refractory)
        dg_s/dt = -g_s/tau_s    : siemens
        dg_r/dt = -g_r/tau_r    : siemens
        tau_m                   : second
        tau_s                   : second
        tau_r                   : second
        c_m                     : farad
        v_rest                  : volt
        i_offset                : amp
        i_inj                   : amp
        E_r                     : volt
        E_s                     : volt
    ''')
    models.IF_cond_exp_gsfa_grr.eqs = adaptation + receptors.conductance_based_exponential_synapses


def run(sim, name):
    """One gallery protocol on pyNN.brian2 at DT; returns the arrays to store."""
    sim.setup(timestep=DT, min_delay=DT)
    as_celltype, params = None, None
    if name == "IF_facets_hardware1":
        as_celltype, params = "IF_cond_exp", gallery.FACETS_AS_IF_COND_EXP
    # Brian 2 applies an input at the end of the step it arrives in, pyNN.gpu (and NEST) at
    # its start: one reference step less of delay makes both jump at t_spike + delay.
    cell = gallery.build(sim, name, delay_shift=DT, as_celltype=as_celltype, params=params)
    sim.run(gallery.T_STOP)
    segment = cell.get_data().segments[0]
    v = np.asarray(segment.filter(name="v")[0].magnitude)[:, 0].astype(np.float64)
    spikes = np.asarray(segment.spiketrains[0].magnitude, dtype=np.float64)
    sim.end()
    # traces: recorded every Brian 2 step, labelled as if the step were the simulation step
    times = np.arange(len(v)) * DT
    every = int(round(SAMPLE / DT))
    if name == "HH_cond_exp":
        spikes = peak_times(times, v, height=-63.0 + 30.0)
    else:
        spikes = spikes + DT        # Brian 2 labels a spike with the start of its step
    return {"trace_v": v[::every], "spikes": spikes, "ran_as": as_celltype or name}


def main():
    import brian2
    import neo
    import pyNN
    import pyNN.brian2 as sim
    brian_cells = importlib.import_module("pyNN.brian2.cells")
    _use_rk4(brian_cells)
    _fix_adaptation_increments(brian_cells)
    models = importlib.import_module("pyNN.brian2.standardmodels.cells")
    _fix_pynn_brian2(models)
    _fix_alpha_current(models)
    _adaptation_decays_while_refractory(models)
    brian2.prefs.codegen.target = "cython"
    brian2.defaultclock.dt = DT * brian2.ms
    info = {"brian2": brian2.__version__, "PyNN": pyNN.__version__, "numpy": np.__version__,
            "neo": neo.__version__, "python": platform.python_version(), "method": "rk4",
            "dt_ms": DT, "sample_ms": SAMPLE, "date": datetime.date.today().isoformat(),
            "command": "nice -n 10 .venv-brian2/bin/python "
                       "benchmarks/validation/make_gallery_reference.py " + " ".join(sys.argv[1:])}
    os.makedirs(OUT, exist_ok=True)
    for name in sys.argv[1:] or list(gallery.GALLERY):
        result = run(sim, name)
        path = os.path.join(OUT, f"{name}.npz")
        np.savez_compressed(path, info=json.dumps(info), **result)
        print(f"{name}: {len(result['spikes'])} spikes, first "
              f"{np.round(result['spikes'][:3], 3)} -> {os.path.relpath(path)}", flush=True)


if __name__ == "__main__":
    main()
