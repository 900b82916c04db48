"""
PoissonDrive: independent Poisson spike input into a receptor of every target neuron, without
spike-source neurons or synapses (a pyNN.gpu extension).

It stands for many independent presynaptic Poisson sources onto each target, as NEST's
`poisson_generator` connected with a static synapse does, or the cortico-cortical input of
the Potjans & Diesmann (2014) microcircuit: in every step each target neuron receives
n ~ Poisson(rate * dt) events of `weight` on `receptor_type` (nA for current-based receptors,
uS for conductance-based ones), added to the receptor's input of that step exactly as spikes
arriving in it would be (so any cell type with that receptor takes it, models of one's own
that read no injected current among them). Unlike a SpikeSourcePoisson, whose single train
has at most one spike per step, the drive may deliver several events in one step, so `rate`
is the total rate of all the sources it stands for (e.g. K_ext * 8 Hz).

The counts come from the counter-based generator keyed by (seed, injection, neuron, step),
so the C and CUDA targets deliver the same events. The draw is Knuth's multiplication method
(multiply uniforms until the product falls to exp(-mean)), in chunks of mean <= 30 (their
exp(-mean) computed once by the host), taking the four 32-bit words of each Philox block in
turn: a draw of mean m needs m + 1 uniforms, so the microcircuit's 1.5 events per neuron and
step cost one block in 93 % of the steps (one block per uniform would be 2.5). Active for
start <= t < stop. `record()` records the input of the first target, weight times count.
The weight follows PyNN's sign rule for the receptor, as a Projection's does (ConnectionError
at inject_into, or when the weight or receptor of an injected drive is changed).
"""

import math
from types import SimpleNamespace

import numpy as np
from pyNN import errors
from pyNN.standardmodels import StandardCurrentSource, StandardSynapseType, build_translations

from .. import simulator
from ..modeldef import CurrentSourceDef
from .electrodes import (PORTABLE_MATH, _by_population, _check_finite, _check_window,
                         _CurrentSource, _require, _window_arrays)

_MEAN_PER_CHUNK = 30.0      # e^-30 is far above the smallest double the product can reach
# Events per neuron and step at most: each costs a uniform draw, every step (a million per
# 0.1 ms step is 1e10 Hz, far beyond any input a model needs)
MAX_MEAN_PER_STEP = 1e6

POISSON_DRIVE_MODEL = CurrentSourceDef(
    name="poisson_drive",
    params=("weight",),
    int_params=("start_step", "stop_step", "full_chunks"),
    # e^-30 and e^-(the rest of the mean), computed once by the host for both targets
    double_params=("limit_full", "limit_last"),
    per_target=True,
    uses_rng=True,
    into_receptor=True,
    code="""
if (_step >= start_step && _step < stop_step) {
    int _events = 0;
    uint32_t _words[4];
    uint32_t _taken = 0u;               /* words taken: block _taken / 4, word _taken % 4 */
    const int _full_chunks = (int) full_chunks;
    for (int _chunk = 0; _chunk <= _full_chunks; ++_chunk) {
        const double _limit = _chunk < _full_chunks ? limit_full : limit_last;
        double _product = 1.0;
        int _uniforms = 0;
        while (_product > _limit) {
            const uint32_t _index = _taken & 3u;
            if (_index == 0u) UNIFORM_BLOCK_AT(_step, _taken >> 2, _words);
            /* the word chosen without indexing (an indexed array would leave the registers
               on the GPU) */
            const uint32_t _word = _index == 0u ? _words[0] : _index == 1u ? _words[1]
                                 : _index == 2u ? _words[2] : _words[3];
            ++_taken;
            _product *= (double) _word * 2.3283064365386963e-10;   /* 2^-32 */
            ++_uniforms;
        }
        if (_uniforms > 0) _events += _uniforms - 1;
    }
    amplitude_now = weight * (scalar) _events;
}
""",
    support=PORTABLE_MATH,
)


def _chunk_limits(mean):
    """The mean split into chunks of _MEAN_PER_CHUNK and a rest, as exp(-chunk) limits."""
    full = int(mean // _MEAN_PER_CHUNK)
    rest = mean - full * _MEAN_PER_CHUNK
    return {"full_chunks": np.array([full], dtype=np.int64),
            "limit_full": np.array([math.exp(-_MEAN_PER_CHUNK)], dtype=np.float64),
            "limit_last": np.array([math.exp(-rest)], dtype=np.float64)}


class PoissonDrive(_CurrentSource, StandardCurrentSource):
    """Poisson input of total `rate` (Hz) with events of `weight` into `receptor_type` of
    each target neuron, independently per neuron (see the module docstring)."""

    default_parameters = {"rate": 0.0, "weight": 0.0, "start": 0.0, "stop": 1e12}
    translations = build_translations(
        ("rate", "rate"),
        ("weight", "weight"),
        ("start", "start"),
        ("stop", "stop"),
    )
    model = POISSON_DRIVE_MODEL

    def __init__(self, receptor_type="excitatory", **parameters):
        object.__setattr__(self, "receptor_type", receptor_type)
        super().__init__(**parameters)

    def __setattr__(self, name, value):
        if name == "receptor_type":     # checked against the populations it is injected into
            populations = self._targets()
            self._check_targets(populations, value, self._native["weight"])
            if populations and value != self.__dict__.get("receptor_type"):
                # the receptor is part of the drive's group: the target builds it again
                simulator.state.structure_changed()
        super().__setattr__(name, value)

    def inject_into(self, cells):
        # into a receptor's input, as spikes arrive: any cell type with the receptor
        populations = [population for population, _ in _by_population(cells,
                                                                      needs_current=False)]
        # everything checked before anything is injected
        self._check_targets(populations, self.receptor_type, self._native["weight"])
        super().inject_into(cells)

    def _targets(self):
        """The populations this drive is injected into."""
        populations = []
        for source, population, _ in simulator.state.current_sources:
            if source is self and all(population is not p for p in populations):
                populations.append(population)
        return populations

    def _check_targets(self, populations, receptor_type, weight):
        """The receptor exists, and the weight has the sign PyNN's rule allows for it: a
        Projection with this weight onto this receptor is accepted or refused alike
        (ConnectionError)."""
        for population in populations:
            celltype = population.celltype
            if receptor_type not in celltype.receptor_types:
                raise errors.ConnectionError(
                    f"PoissonDrive: {celltype.__class__.__name__} has no receptor "
                    f"{receptor_type!r} (it has {', '.join(celltype.receptor_types)})")
        for population in populations:
            # PyNN's own check, given what it reads of a projection
            as_projection = SimpleNamespace(post=population, receptor_type=receptor_type)
            try:
                StandardSynapseType.parameter_checks["weight"](np.array([weight]),
                                                               as_projection)
            except errors.ConnectionError as error:
                kind = ("conductance-based" if population.celltype.conductance_based
                        else "current-based")
                raise errors.ConnectionError(
                    f"PoissonDrive: weight={weight:g} is not allowed onto the {kind} receptor "
                    f"{receptor_type!r} of {population.label} "
                    f"({population.celltype.__class__.__name__}): {error} (PyNN's rule, as "
                    f"for a Projection)") from None

    def _validate(self, p, dt):
        _check_finite(p, "rate", "weight")
        highest = MAX_MEAN_PER_STEP / (dt * 1e-3)
        _require(0 <= p["rate"] <= highest,
                 f"rate must be from 0 to {highest:g} Hz ({MAX_MEAN_PER_STEP:g} events per "
                 f"neuron and step of {dt:g} ms; got {p['rate']})")
        _check_window(p)
        # a new weight after injection: the same rule as at injection
        self._check_targets(self._targets(), self.receptor_type, p["weight"])

    def kernel_arrays(self, dt, scalar):
        p = self._native
        return {"weight": np.array([p["weight"]], dtype=scalar),
                **_chunk_limits(p["rate"] * dt * 1e-3),
                **_window_arrays(p, dt)}
