"""
Gap junctions: PyNN's ElectricalSynapse.

What a connection means
-----------------------
A Projection with `ElectricalSynapse(weight=g)` makes one junction per connection, between
the presynaptic neuron i and the postsynaptic neuron j, of conductance g (uS). It is
bidirectional, as PyNN documents it and as its NEURON backend builds it (a `Gap` at each end,
sharing g); NEST's `gap_junction` gives the same coupling when connected with
make_symmetric=True. (PyNN 0.13's NEST backend does not offer ElectricalSynapse.) So

    I_j += g (v_i - v_j)      and      I_i += g (v_j - v_i)      [nA = uS x mV]

A pair listed twice (i -> j and j -> i) is two junctions, twice the coupling, as in NEURON.
The currents enter the neurons where electrodes' currents do (`i_inj`), so every cell type
that accepts current injection and has a membrane potential `v` can be coupled; spike
sources cannot. The receptor_type of the projection plays no part. Gap junctions act at once:
ElectricalSynapse has no delay parameter, and giving one is an error.

The coupling scheme
-------------------
At the start of every step, before any neuron is updated, each junction's current is
computed from the membrane potentials at that moment and held constant over the step, like
an electrode's current; then every neuron advances with its own scheme. For neurons that are
linear below threshold and integrated exactly (IF_curr_exp, ...) this is exact for each
neuron and explicit (forward Euler) in the coupling only: for two identical passive
compartments (time constant tau_m, capacitance cm) coupled by g, the difference of their
potentials decays per step by

    r = exp(-dt/tau_m) - (2 g tau_m / cm) (1 - exp(-dt/tau_m))

instead of exp(-dt k), k = 1/tau_m + 2 g/cm (their mean is not affected). The error is of
first order: after time t the difference is too small by the fraction
t dt (2 g/cm) (1/(2 tau_m) + g/cm), to leading order. The scheme is stable while r > -1, i.e.
dt (g_total / cm) < about 1, g_total being the summed conductance of a neuron's junctions;
`check_stability` warns when a network exceeds it. Measured (docs/numerics.md,
benchmarks/validation/gap_junction_error.py): with tau_m = 20 ms, cm = 0.5 nF, g = 0.005 uS
and dt = 0.1 ms the difference is 0.28 % too small after 40 ms; a neuron coupled to a
subthreshold driven one is within 3.4e-3 mV of a dt = 0.001 ms reference.

NEST instead iterates each communication interval until the potentials exchanged converge
(waveform relaxation, Hahne et al. 2015), which removes most of this error at the cost of
repeating the neuron updates; pyNN.gpu does one pass per step, which keeps a step to one
launch more on the GPU and no Python in the loop.

Targets: the C target adds the currents one junction after another; the CUDA target runs one
thread per junction and adds them atomically (all gap projections share one kernel, merged
as in pynn_gpu.ir.merge), so where three or more currents reach one neuron in a step their
sum may differ from the C target's in the last bit.
"""

import logging

import numpy as np
from pyNN import errors

from .distributed import populations_of
from .ir.graph import GapJunctionGroup

logger = logging.getLogger("PyNN")


def is_gap_junction(projection):
    return getattr(projection.synapse_type, "is_gap_junction", False)


def check_population(population):
    """A population whose neurons a gap junction can couple, or a ConnectionError why not."""
    model = population.celltype.model
    name = type(population.celltype).__name__
    if model.receptors == ():
        raise errors.ConnectionError(
            f"gap junctions couple membrane potentials: {population.label} ({name}) is a "
            "spike source, which has none")
    v = next((s for s in model.state if s.name == "v"), None)
    if v is None or v.ctype != "scalar":
        raise errors.ConnectionError(
            f"gap junctions couple membrane potentials: {population.label} ({name}) has no "
            "membrane potential v")
    if not population.celltype.injectable:
        raise errors.ConnectionError(
            f"gap junctions inject current: {population.label} ({name}) cannot receive current")


def check_values(values):
    """Connection values of a gap projection: non-negative weights and no delay."""
    if "delay" in values:
        raise errors.ConnectionError(
            "gap junctions act instantaneously: ElectricalSynapse connections have no delay")
    weights = np.atleast_1d(np.asarray(values.get("weight", []), dtype=float))
    bad = ~(weights >= 0)
    if bad.any():
        raise errors.InvalidParameterValueError(
            f"a gap junction's weight is a conductance (uS) and must be >= 0 "
            f"(got {weights[bad][0]:g})")


class GapJunctionPart:
    """The junctions of one projection between one pair of populations: `junctions` holds
    their pre and post indices and weights (all processes' junctions, over several)."""

    def __init__(self, group, projection, junctions, populations):
        self.group, self.projection, self.junctions = group, projection, junctions
        self.populations = populations      # (pre, post) population indices
        self.version = projection._version

    def arrays(self, scalar):
        return {"pre": np.ascontiguousarray(self.junctions["pre"], dtype=np.int32),
                "post": np.ascontiguousarray(self.junctions["post"], dtype=np.int32),
                "weight": np.ascontiguousarray(self.junctions["weight"], dtype=scalar)}


def coupled_populations(state):
    """Indices of the populations that gap junctions reach (they need `i_inj`); in every
    process the same (a process couples its neurons to other processes' ones)."""
    indices = set()
    for projection in state.projections:
        if is_gap_junction(projection):
            for side in (projection.pre, projection.post):
                indices.update(state.populations.index(p) for p in populations_of(side))
    return indices


def _junction_table(state, projection):
    """Per junction: pre and post population and index, weight. A process holds the
    junctions onto its own neurons; over several, each needs all of them (a junction
    couples both ways), put together in process order."""
    n = len(projection)
    table = {"pre_population": np.broadcast_to(projection._pre_population, (n,)),
             "pre": projection._pre_parent_index, "weight": projection._weights,
             "post_population": np.broadcast_to(projection._post_population, (n,)),
             "post": projection._post_parent_index}
    table = {key: np.asarray(values) for key, values in table.items()}
    if state.num_processes > 1:
        table = {key: np.concatenate(state.mpi_comm.allgather(values))
                 for key, values in table.items()}
    return table


def _pairs(state, table):
    """(pre population, post population, {pre, post, weight}) per pair of populations."""
    n_populations = len(state.populations)
    pairs = table["pre_population"].astype(np.int64) * n_populations + table["post_population"]
    for pair in np.unique(pairs):
        selection = np.nonzero(pairs == pair)[0]
        yield (int(pair // n_populations), int(pair % n_populations),
               {key: table[key][selection] for key in ("pre", "post", "weight")})


def build(state, graph, groups, arrays, scalar):
    """Add a GapJunctionGroup per projection and population pair; return their parts."""
    parts = []
    for projection in state.projections:
        if not is_gap_junction(projection):
            continue
        for pre_index, post_index, junctions in _pairs(state, _junction_table(state, projection)):
            name = f"gj{len(graph.gap_junctions)}"
            group = GapJunctionGroup(name=name, label=projection.label or name,
                                     pre=groups[pre_index], post=groups[post_index],
                                     n_junctions=len(junctions["pre"]))
            graph.gap_junctions.append(group)
            part = GapJunctionPart(group, projection, junctions, (pre_index, post_index))
            parts.append(part)
            for key, values in part.arrays(scalar).items():
                arrays[f"{name}_{key}"] = values if values.size else np.zeros(1, values.dtype)
    check_stability(state, parts)
    return parts


def refresh(state, parts, arrays, scalar):
    """Weights set since the last run: update the arrays; return the names to push. (Over
    several processes every process takes part: the weights come from all of them.)"""
    changed = {id(part.projection): part.projection for part in parts
               if part.projection._version != part.version}
    if state.num_processes > 1:
        from mpi4py import MPI
        if not state.mpi_comm.allreduce(bool(changed), op=MPI.LOR):
            return []
        changed = {id(part.projection): part.projection for part in parts}
    names = []
    for projection in changed.values():
        table = _junction_table(state, projection)
        mine = [part for part in parts if part.projection is projection]
        for part, (_, _, junctions) in zip(mine, _pairs(state, table)):
            part.junctions = junctions
            name = f"{part.group.name}_weight"
            arrays[name][:part.group.n_junctions] = part.arrays(scalar)["weight"]
            names.append(name)
            part.version = projection._version
    # new weights, or a capacitance set() since the last check (cm = 0.001 with g = 0.02)
    if names or any(not np.array_equal(_capacitance(state, index), checked)
                    for index, checked in state.gap_capacitances.items()):
        check_stability(state, parts)
    return names


def _capacitance(state, index):
    """The capacitance (nF) of each neuron of population `index`: its cm, or the implicit
    one of a model without cm (Izhikevich); None where the model has neither."""
    data = state.populations[index]._data
    cm = data.params.get("cm")
    if cm is None:
        cm = data.model.capacitance
    return None if cm is None else np.broadcast_to(np.asarray(cm, dtype=float), (data.size,))


def check_stability(state, parts):
    """Warn where dt * (summed junction conductance) / cm reaches 1 for some neuron: there
    the explicit coupling may oscillate or diverge (see the module docstring). The
    capacitances checked are kept (state.gap_capacitances), so that a later set() of cm is
    checked again before the next run."""
    totals = {}     # population index -> summed conductance per neuron
    for part in parts:
        junctions = part.arrays(np.float64)
        weights = junctions["weight"]
        if part.populations[0] == part.populations[1]:
            # a neuron coupled to itself carries no current: g (v_i - v_i) = 0
            weights = np.where(junctions["pre"] == junctions["post"], 0.0, weights)
        for index, side in zip(part.populations, ("pre", "post")):
            size = state.populations[index].size
            totals[index] = totals.get(index, 0) + np.bincount(
                junctions[side], weights, minlength=size)
    state.gap_capacitances = {}
    for index, total in totals.items():
        cm = _capacitance(state, index)
        state.gap_capacitances[index] = None if cm is None else cm.copy()
        if cm is None:
            logger.info("pyNN.gpu gap junctions onto %s: its model has no capacitance to "
                        "check the coupling's stability with", state.populations[index].label)
            continue
        worst = float(np.max(state.dt * total / cm))
        if worst >= 1.0:
            logger.warning(
                "pyNN.gpu gap junctions onto %s: dt * (summed conductance) / cm reaches %.3g; "
                "the explicit coupling is stable only below about 1: reduce the timestep",
                state.populations[index].label, worst)
