"""
The single-neuron gallery: every cell type driven by the same protocol, for any PyNN backend.

One neuron, 300 ms, recorded v and spikes:

* 0-100 ms, synaptic input from a SpikeSourceArray: four excitatory spikes (10, 15, 20,
  25 ms) and two inhibitory ones (40, 45 ms), delay 1 ms; the weights keep the neuron below
  threshold, so this part tests the synaptic kernels and the subthreshold integration;
* 100-250 ms, a step current (DCSource) that makes it fire: this part tests thresholds,
  resets, refractoriness and spike times; then 50 ms of recovery.

Parameters are PyNN's defaults except where a model needs a change to be comparable or
to make the protocol informative (stated in GALLERY). tau_syn_I differs from tau_syn_E so
that a mix-up of the two would show.
"""

T_STOP = 300.0           # ms
EXC_TIMES = [10.0, 15.0, 20.0, 25.0]
INH_TIMES = [40.0, 45.0]
INPUT_DELAY = 1.0        # ms
STEP = (100.0, 250.0)    # ms, on and off

# the same value, the AdEx cut-off pyNN.brian2 uses (v_thresh + 5 delta_T with the defaults)
_ADEX = dict(v_spike=-40.4)
_SYN_TAUS = dict(tau_syn_E=0.5, tau_syn_I=1.5)

GALLERY = {
    # cell type: parameters, step amplitude (nA), excitatory / inhibitory weight
    # (nA, uS or, for IF_curr_delta, mV)
    "IF_curr_exp": dict(params=_SYN_TAUS, amplitude=1.2, weights=(2.0, -2.0)),
    "IF_curr_alpha": dict(params=_SYN_TAUS, amplitude=1.2, weights=(2.0, -2.0)),
    "IF_curr_delta": dict(params={}, amplitude=1.2, weights=(2.0, -2.0)),
    "IF_cond_exp": dict(params=_SYN_TAUS, amplitude=1.2, weights=(0.02, 0.05)),
    "IF_cond_alpha": dict(params=_SYN_TAUS, amplitude=1.2, weights=(0.02, 0.05)),
    "IF_cond_exp_gsfa_grr": dict(params=_SYN_TAUS, amplitude=1.5, weights=(0.02, 0.05)),
    "IF_facets_hardware1": dict(params={}, amplitude=0.6, weights=(0.001, 0.004)),
    "EIF_cond_exp_isfa_ista": dict(params=_ADEX, amplitude=1.0, weights=(0.01, 0.05)),
    "EIF_cond_alpha_isfa_ista": dict(params=_ADEX, amplitude=1.0, weights=(0.005, 0.02)),
    "HH_cond_exp": dict(params={}, amplitude=0.3, weights=(0.02, 0.05)),
    "Izhikevich": dict(params={}, amplitude=0.01, weights=(0.5, -0.5)),
}

# pyNN.brian2 has no IF_facets_hardware1: PyNN defines it as IF_cond_exp with these fixed
# values (cm 0.2 nF, tau_refrac 1 ms, e_rev_E 0 mV, i_offset 0, tau_m = cm / g_leak) and its
# own defaults for the rest.
FACETS_AS_IF_COND_EXP = dict(cm=0.2, tau_refrac=1.0, e_rev_E=0.0, i_offset=0.0,
                             tau_m=0.2 / 0.040, tau_syn_E=30.0, tau_syn_I=30.0,
                             v_reset=-80.0, e_rev_I=-80.0, v_rest=-65.0, v_thresh=-55.0)

# not in the gallery: pyNN.brian2 0.13 has no GIF_cond_exp, and its escape noise makes single
# spike times random; it is compared statistically with pyNN.neuron instead (gif_protocol.py)
NOT_IN_REFERENCE = ["GIF_cond_exp"]


def build(sim, name, delay_shift=0.0, as_celltype=None, params=None):
    """Build the protocol for cell type `name` in `sim` (after setup()); return the cell.
    `delay_shift` is taken off the input delay (see make_gallery_reference.py);
    `as_celltype`/`params` build another cell type in its place (IF_facets_hardware1)."""
    spec = GALLERY[name]
    celltype = getattr(sim, as_celltype or name)(**(params or spec["params"]))
    cell = sim.Population(1, celltype, label=name)
    exc, inh = spec["weights"]
    for times, weight, receptor in ((EXC_TIMES, exc, "excitatory"),
                                    (INH_TIMES, inh, "inhibitory")):
        # a second, silent source: pyNN.brian2 fails on a one-cell SpikeSourceArray
        source = sim.Population(2, sim.SpikeSourceArray(spike_times=[times, []]))
        sim.Projection(source, cell, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=weight, delay=INPUT_DELAY - delay_shift),
                       receptor_type=receptor)
    sim.DCSource(amplitude=spec["amplitude"], start=STEP[0], stop=STEP[1]).inject_into(cell)
    cell.record(["spikes", "v"])
    return cell
