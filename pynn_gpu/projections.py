"""
Projection for pyNN.gpu.

Connections are stored as flat arrays in PyNN's creation order (postsynaptic index, then
presynaptic index), except those the backend's own generators draw (NativeRNG
connectors), which may come by presynaptic index (pynn_gpu.native_connectivity). The
engine turns them into compressed rows per presynaptic neuron for spike propagation;
`_version` tells it when weights or delays changed.
"""

import dataclasses

import numpy as np
from pyNN import common, connectors, errors, recording
from pyNN.parameters import LazyArray
from pyNN.random import RandomDistribution
from pyNN.space import Space
from pyNN.standardmodels import StandardSynapseType

from . import (distance_probability, distributed, fixed_number, gap_junctions, hosttools,
               pattern_connectors, planner, procedural, simulator)
from .connectivity import build_connections, check_choices, draw_at, evaluate_at
from .neuron_data import check_finite, check_state_values
from .standardmodels.plasticity import STDPMechanism, check_signs
from .standardmodels.synapses import (ElectricalSynapse, MultiQuantalSynapse,
                                      SimpleStochasticSynapse, StaticSynapse,
                                      StochasticTsodyksMarkramSynapse, TsodyksMarkramSynapse)

SYNAPSE_TYPES = (StaticSynapse, TsodyksMarkramSynapse, SimpleStochasticSynapse,
                 StochasticTsodyksMarkramSynapse, MultiQuantalSynapse, ElectricalSynapse,
                 STDPMechanism)


def available_synapse_types():
    return [cls.__name__ for cls in SYNAPSE_TYPES]


class Connection(common.Connection):
    """
    One connection of a Projection (projection[i], or an item of projection.connections):
    its weight, delay and synapse parameters, readable and writable.
    """

    def __init__(self, projection, index):
        object.__setattr__(self, "projection", projection)
        object.__setattr__(self, "index", index)

    @property
    def presynaptic_index(self):
        return int(self.projection._pre_index[self.index])

    @property
    def postsynaptic_index(self):
        return int(self.projection._post_index[self.index])

    @property
    def presynaptic_cell(self):
        """The ID of the presynaptic neuron."""
        return self.projection.pre[self.presynaptic_index]

    @property
    def postsynaptic_cell(self):
        """The ID of the postsynaptic neuron."""
        return self.projection.post[self.postsynaptic_index]

    source, target = presynaptic_cell, postsynaptic_cell

    def _native_name(self, name):
        translations = self.projection.synapse_type.translations
        if name in translations:
            return translations[name]["translated_name"]
        return name

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        native = self._native_name(name)
        projection = self.projection
        fixed = getattr(projection.synapse_type, "fixed_parameters", {})
        if native in fixed:     # one value for every synapse (STDP's dendritic delay fraction)
            return float(fixed[native])
        if native not in projection._syn_params and native not in projection._syn_state:
            raise AttributeError(
                f"{type(projection.synapse_type).__name__} connections have no attribute "
                f"{name!r}")
        return float(projection._attribute_column(native)[self.index])

    def __setattr__(self, name, value):
        if name in ("weight", "delay") or name.startswith("_") or name in vars(type(self)):
            object.__setattr__(self, name, value)
            return
        native = self._native_name(name)
        if native not in self.projection._syn_params:
            raise errors.NonExistentParameterError(
                name, type(self.projection.synapse_type).__name__,
                list(self.projection.synapse_type.get_parameter_names()))
        self.projection._store(native, np.array([float(value)]), np.array([self.index]))

    def _get_weight(self):
        return float(self.projection._attribute_column("weight")[self.index])

    def _set_weight(self, value):
        self.projection._store("weight", np.array([value]), np.array([self.index]))

    def _get_delay(self):
        return float(self.projection._delay_steps[self.index] * simulator.state.dt)

    def _set_delay(self, value):
        self.projection._store("delay", np.array([value]), np.array([self.index]))

    weight = property(_get_weight, _set_weight)
    delay = property(_get_delay, _set_delay)

    def as_tuple(self, *attribute_names):
        return tuple(getattr(self, name) for name in attribute_names)


def _population_lookup(state):
    firsts = np.array([int(p.first_id) for p in state.populations], dtype=np.int64)
    return firsts


class Projection(common.Projection):
    __doc__ = common.Projection.__doc__
    _simulator = simulator
    _static_synapse_class = StaticSynapse

    def __init__(self, presynaptic_population, postsynaptic_population, connector,
                 synapse_type=None, source=None, receptor_type=None, space=Space(),
                 label=None, connectivity_format="auto"):
        for side in (presynaptic_population, postsynaptic_population):
            simulator.state.check_current(distributed.populations_of(side), "Projection()")
        # before PyNN's checks, which fail obscurely for spike sources
        if getattr(synapse_type, "is_gap_junction", False):
            for side in (presynaptic_population, postsynaptic_population):
                for population in distributed.populations_of(side):
                    gap_junctions.check_population(population)
        else:
            for population in distributed.populations_of(postsynaptic_population):
                if not population.celltype.receptor_types:
                    raise errors.ConnectionError(
                        f"cannot project onto {population.label} "
                        f"({type(population.celltype).__name__}): it has no receptors "
                        "(spike sources and models defined without any receive no synapses)")
        common.Projection.__init__(self, presynaptic_population, postsynaptic_population,
                                   connector, synapse_type, source, receptor_type, space, label)
        if not hasattr(self.synapse_type, "model"):
            raise NotImplementedError(
                f"{type(self.synapse_type).__name__} is not available in pyNN.gpu yet; "
                f"available: {', '.join(available_synapse_types())}")
        for side in (self.pre, self.post):
            for population in distributed.populations_of(side):
                if not hasattr(population, "_data"):
                    raise errors.ConnectionError(f"{population} does not belong to pyNN.gpu")
        self._pre_ids = self.pre.all_cells.astype(np.int64)
        self._post_ids = self.post.all_cells.astype(np.int64)
        self._version = 0
        # (segment, step) of creation: spikes from before it never reach these synapses
        self._created = (simulator.state.segment_counter, simulator.state.step)
        self._propagation = "auto"
        self._format = self._checked_format(connectivity_format)
        self._procedural = None     # ProceduralSpec while the synapses are generated
        self._generating = False
        self._pending = []
        distributed_run = simulator.state.num_processes > 1
        if not self._choose_procedural(connector):
            built = build_connections(self, connector)
            built_whole = built is not None
            if built is None:
                built_whole = distributed_run and isinstance(
                    connector, connectors.FixedTotalNumberConnector)
                check_choices(self, connector)
                if built_whole:
                    with distributed.as_one_process(self):
                        connector.connect(self)
                else:       # over several processes: the synapses onto local cells only
                    connector.connect(self)
                built = self._collect_pending()
            pre_idx, post_idx, values = built
            self._set_connections(np.asarray(pre_idx, dtype=np.int64),
                                  np.asarray(post_idx, dtype=np.int64), values, connector.safe)
        if distributed_run:
            if self._procedural is None and not built_whole:
                self._positions = self._positions_by_column()
            self._keep_local_connections()
        if self.awaiting_generation and procedural.check_weight_sign(self._procedural.weight,
                                                                     self):
            # PyNN refuses weights of the wrong sign when the projection is made; drawn
            # weights can only be checked once drawn, and such synapses are generated on the
            # host in any case (see synapse_building), so they are generated now
            self._generate_on_host()
        simulator.state.projections.append(self)
        simulator.state.structure_changed()

    # --- procedural connectivity (see pynn_gpu.procedural) --------------------------------

    # what a procedural projection generates on the host the first time it is asked for
    _GENERATED = frozenset({
        "_pre_index", "_post_index", "_pre_population", "_post_population",
        "_pre_parent_index", "_post_parent_index", "_weights", "_delay_steps",
        "_syn_params", "_syn_initial", "_syn_state", "_last_spike"})

    def _choose_procedural(self, connector):
        """True when the synapses come from the counter-based generator (see
        pynn_gpu.procedural): regenerated per spike when the format is "procedural", else
        generated once (in compiled code, in parallel) when first needed, and stored."""
        spec = procedural.spec_for(self, connector, simulator.state)
        if isinstance(spec, str):
            if self._format == "procedural":
                raise errors.ConnectionError(
                    f"connectivity_format='procedural' is not possible here: {spec}")
            for stored_only in (fixed_number, distance_probability, pattern_connectors):
                spec = stored_only.spec_for(self, connector, simulator.state)
                if not isinstance(spec, str):
                    # generated once, then stored
                    self._procedural = procedural.with_value_streams(spec, self)
                    return True
            return False
        spec = procedural.with_value_streams(spec, self)
        if procedural.check_weight_sign(spec.weight, self):
            # only drawn weights can be checked: never procedural (nor on a device)
            if self._format == "procedural":
                raise errors.ConnectionError(
                    "connectivity_format='procedural' is not possible here: its weights "
                    "come from a distribution without a bound on the side the receptor "
                    "forbids, and procedural weights are never drawn where they could be "
                    "checked (use normal_clipped with low=0, or high=0 for inhibition)")
            self._procedural = spec
            return True
        expected = procedural.expected_synapses(spec, self.pre.size, self.post.size)
        state = simulator.state
        stored = planner.ragged_bytes_per_synapse(
            state.precision, self.post.size, spec.max_delay_steps(state.dt),
            values_once=spec.constant_values)
        if self._format == "auto" and planner.prefers_procedural(expected, stored):
            self._format = "procedural"
        self._procedural = spec
        return True

    @property
    def awaiting_generation(self):
        """Synapses from the generator that nobody has generated on the host yet."""
        return self.__dict__.get("_procedural") is not None and "_weights" not in self.__dict__

    def __getattr__(self, name):
        if name in Projection._GENERATED and self.awaiting_generation:
            self._generate_on_host()
            return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _generate_on_host(self):
        """The synapses a procedural projection stands for, generated as the target does."""
        pre, post, weights, delay_steps = self._generated_synapses(self._procedural)
        if len(weights):    # before anything is stored: a refused draw changes nothing
            StandardSynapseType.parameter_checks["weight"](weights, self)
        self._generating = True
        try:
            self._set_connections(pre, post, {}, delay_steps=delay_steps)
            # the generated arrays are adopted, not copied: 1e8 synapses are 0.8 GB each
            self._weights = weights
        finally:
            self._generating = False
        self._generated_version = self._version

    def _generated_synapses(self, spec):
        """(pre, post, weights, delay steps) that the generator spec gives this projection
        (this process's synapses over several), in the order the host stores them."""
        state = simulator.state
        post_range = self._local_post_range()     # generated for this process's neurons
        if post_range is not None:
            return spec.generate(self.pre.size, self.post.size, state.dt, post_range)
        pre, post, weights, delay_steps = spec.generate(self.pre.size, self.post.size, state.dt)
        if state.num_processes > 1:     # generated whole: keep those onto this process's
            keep = self.post._mask_local[post]
            pre, post, weights, delay_steps = (pre[keep], post[keep], weights[keep],
                                               delay_steps[keep])
        return pre, post, weights, delay_steps

    def _stop_generating(self):
        """Weights or delays set by the script: the generated synapses are stored from now
        on (and changed there)."""
        if self._procedural is not None and not self._generating:
            if self.awaiting_generation:
                self._generate_on_host()
            if self._format == "procedural":
                self._format = "ragged"
                simulator.state.structure_changed()

    @property
    def connectivity_format(self):
        """How the target holds this projection's synapses: "ragged" (rows of stored
        synapses), "procedural" (regenerated when needed), or "auto" (the planner decides
        when the network is built; see pynn_gpu.planner)."""
        return self._format

    def _checked_format(self, name):
        """A format this projection's synapse type can have (planner.check_format)."""
        if self.is_gap_junction and planner.check_format(name) != "auto":
            raise errors.ConnectionError(
                "gap junctions are stored as pairs of their own: connectivity_format must "
                f"be 'auto' for an ElectricalSynapse projection (got {name!r})")
        return planner.check_format(name, self.synapse_type.model,
                                    type(self.synapse_type).__name__)

    @connectivity_format.setter
    def connectivity_format(self, name):
        name = self._checked_format(name)
        unchanged = ("_weights" not in self.__dict__
                     or self._version == self.__dict__.get("_generated_version"))
        if name == "procedural" and (self._procedural is None or not unchanged
                                     or not self._procedural.regenerable
                                     or procedural.check_weight_sign(self._procedural.weight,
                                                                     self)):
            raise errors.ConnectionError(
                "only a FixedProbabilityConnector or AllToAllConnector projection whose "
                "synapses come from the generator (a NativeRNG, or constant values for "
                "AllToAll), unchanged since, can be procedural: "
                "Projection(..., connectivity_format='procedural')")
        if name != "procedural":
            self._stop_generating()
        self._format = name
        simulator.state.structure_changed()

    @property
    def propagation(self):
        """How the CUDA target propagates this projection's spikes: "auto" (default), "pre"
        (a thread per spike walks its row; stored rows only), "post" (a thread per position
        in the rows, or per postsynaptic neuron or chunk of them) or "balanced" (the step's
        work shared out over a fixed number of threads); see pynn_gpu.planner. Setting it
        rebuilds the kernels at the next run."""
        return self._propagation

    @propagation.setter
    def propagation(self, strategy):
        self._propagation = planner.check_strategy(strategy, self.synapse_type.model)
        simulator.state.structure_changed()

    # --- construction -------------------------------------------------------------------

    def _convergent_connect(self, presynaptic_indices, postsynaptic_index,
                            location_selector=None, **connection_parameters):
        """Called by PyNN's generic connector code, once per postsynaptic neuron."""
        if location_selector is not None:
            raise NotImplementedError("pyNN.gpu has point neurons only: no location_selector")
        pre = np.atleast_1d(np.asarray(presynaptic_indices, dtype=np.int64))
        values = {name: np.broadcast_to(np.asarray(value, dtype=float), pre.shape)
                  for name, value in connection_parameters.items()}
        self._pending.append((pre, int(postsynaptic_index), values))

    def _collect_pending(self):
        if not self._pending:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), {}
        pre = np.concatenate([p for p, _, _ in self._pending])
        post = np.concatenate([np.full(len(p), q, dtype=np.int64) for p, q, _ in self._pending])
        names = self._pending[0][2].keys()
        values = {n: np.concatenate([v[n] for _, _, v in self._pending]) for n in names}
        self._pending = []
        return pre, post, values

    def _set_connections(self, pre_idx, post_idx, values, safe=True, delay_steps=None):
        """Store connections; `delay_steps` (whole steps, already within bounds, as the
        generator draws them) instead of values["delay"] in ms saves a conversion."""
        n = len(pre_idx)
        if not self._generating:        # a generator's indices are in range by construction
            _check_indices(pre_idx, self.pre.size, "presynaptic", self._connector)
            _check_indices(post_idx, self.post.size, "postsynaptic", self._connector)
        self._pre_index, self._post_index = pre_idx, post_idx
        for side, cells, index in (("pre", self.pre, pre_idx), ("post", self.post, post_idx)):
            population, parent_index = self._locate(cells, index)
            setattr(self, f"_{side}_population", population)
            setattr(self, f"_{side}_parent_index", parent_index)
        self._weights = np.zeros(n)
        if self.synapse_type.model.changes_weight:
            self._initial_weights = np.zeros(n)     # what reset() returns plastic weights to
        self._delay_steps = (np.ones(n, dtype=np.int32) if delay_steps is None
                             else np.asarray(delay_steps, dtype=np.int32))
        model = self.synapse_type.model
        self._syn_params = {name: np.zeros(n) for name in model.params}
        self._syn_initial = {v.name: np.zeros(n) for v in model.state}
        self._syn_state = {v.name: np.zeros(n) for v in model.state}
        self._last_spike = {}      # presynaptic population index -> last spike step per neuron
        if "delay" not in values and delay_steps is None and not self.is_gap_junction:
            values["delay"] = np.full(n, simulator.state.default_delay)
        self._store_checked(values, slice(None), safe, connecting=True)
        for name, initial in self.synapse_type.initial_state.items():
            # a number, or the name of a parameter whose value it starts from
            value = self._syn_params[initial] if isinstance(initial, str) else float(initial)
            check_state_values(name, value, self.synapse_type.model.state_ctype(name))
            self._syn_initial[name][:] = value
            self._syn_state[name][:] = value

    def delay_steps_bounds(self, dt):
        """(shortest, longest) delay in steps, None without synapses. For synapses not
        generated yet (or never stored: procedural), the bounds of the delays the generator
        can draw, so that asking generates nothing."""
        if self.is_procedural or self.awaiting_generation:
            return self._procedural.min_delay_steps(dt), self._procedural.max_delay_steps(dt)
        if not self._delay_steps.size:
            return None
        return int(self._delay_steps.min()), int(self._delay_steps.max())

    def _local_post_range(self):
        """Over several processes, for a generated projection onto a Population: the
        postsynaptic neurons whose synapses this process generates (its block of whole
        words: whole chunks of the FixedProbability generator, the synapses drawn as in one
        process). None otherwise."""
        if simulator.state.num_processes > 1 and self._procedural is not None:
            return distributed.local_block(self.post)
        return None

    def _keep_local_connections(self):
        """Several processes: every process drew all synapses (the same ones, from the
        same generators); it keeps those onto its own neurons (pynn_gpu.distributed). A
        procedural projection stays so: each process regenerates the synapses onto its own
        neurons only."""
        if self.is_procedural or (self.awaiting_generation
                                  and self._local_post_range() is not None):
            return      # generated later, onto this process's neurons only
        if self._procedural is not None:
            self._stop_generating()         # generated here, then stored
            self._procedural = None
        keep = self.post._mask_local[self._post_index]
        if "_positions" not in self.__dict__:       # built whole: this process's part of it
            self._positions = (np.flatnonzero(keep), len(keep))
        if keep.all():
            return
        values = {"weight": self._weights[keep],
                  **{name: values[keep] for name, values in self._syn_params.items()}}
        initial = {name: values[keep] for name, values in self._syn_initial.items()}
        self._set_connections(self._pre_index[keep], self._post_index[keep], values,
                              safe=False, delay_steps=self._delay_steps[keep])
        for name, values in initial.items():
            self._syn_initial[name][:] = values
            self._syn_state[name][:] = values

    def _positions_by_column(self):
        """(where, total) of synapses built onto this process's cells only, by PyNN's
        generic code, which connects one postsynaptic cell after another: one process
        holds each cell's synapses after those of all cells before it (their counts
        summed over the processes)."""
        post = self._post_index
        counts = simulator.state.mpi_comm.allreduce(
            np.bincount(post, minlength=self.post.size))
        column_start = np.cumsum(counts) - counts
        order = np.argsort(post, kind="stable")
        within = np.empty(len(post), dtype=np.int64)
        within[order] = np.arange(len(post)) - np.searchsorted(post[order], post[order])
        return column_start[post] + within, int(counts.sum())

    def _one_process_positions(self):
        """Over several processes: where this process's synapses stand among all of the
        projection's in one process's order (the order in which set() and initialize()
        draw a RandomDistribution for them), and their total; None in one process."""
        if simulator.state.num_processes == 1:
            return None
        if "_positions" not in self.__dict__:
            # generated onto this process's cells only: placed among the whole projection's
            _, post, _, _ = self._procedural.generate(self.pre.size, self.post.size,
                                                      simulator.state.dt)
            self._positions = (np.flatnonzero(self.post._mask_local[post]), len(post))
        return self._positions

    def _locate(self, cells, index):
        """
        Population number (an int when one population holds all cells, else an array) and
        index within that population of each connection's cell on one side.
        """
        populations = simulator.state.populations
        if cells in populations:        # a whole Population: nothing to translate
            return populations.index(cells), index
        ids = cells.all_cells.astype(np.int64)[index]
        firsts = _population_lookup(simulator.state)
        population = np.searchsorted(firsts, ids, side="right") - 1
        return population, ids - firsts[population] if len(ids) else ids

    def _parts(self):
        """(pre population index, post population index, selection) per population pair."""
        if len(self._pre_index) == 0:
            return
        pre, post = self._pre_population, self._post_population
        if np.isscalar(pre) and np.isscalar(post):
            yield int(pre), int(post), slice(None)
            return
        n_populations = len(simulator.state.populations)
        pairs = (np.broadcast_to(pre, self._pre_index.shape) * n_populations
                 + np.broadcast_to(post, self._post_index.shape))
        for pair in np.unique(pairs):
            selection = np.nonzero(pairs == pair)[0]
            yield int(pair // n_populations), int(pair % n_populations), selection

    # --- weight scaling (see pynn_gpu.scaling) -------------------------------------------

    def _weight_distribution(self):
        """The distribution (a procedural.ValueSpec) this projection's weights are generated
        from, while they still are: generated on the host or not, but not set by the script
        since. None for stored weights."""
        spec = self.__dict__.get("_procedural")
        if spec is None:
            return None
        if self.awaiting_generation or self._version == self.__dict__.get("_generated_version"):
            return spec.weight
        return None

    def _generate_weights_from(self, weight):
        """Generate the weights from the distribution `weight` (a ValueSpec) from now on:
        the same synapses, with these weights. Synapses the host generated already are
        dropped (generated again when asked for), and the target is rebuilt."""
        if not self.awaiting_generation:
            for name in Projection._GENERATED | {"_initial_weights", "_generated_version"}:
                self.__dict__.pop(name, None)
        self._procedural = dataclasses.replace(self._procedural, weight=weight)
        simulator.state.structure_changed()

    def _weights_generated_from(self, weight):
        """The weights this projection's synapses get from the distribution `weight` (a
        ValueSpec) instead of its own: drawn from the same streams, bit for bit those of a
        projection made with that distribution. Nothing of the projection changes."""
        spec = dataclasses.replace(self._procedural, weight=weight)
        return self._generated_synapses(spec)[2]

    scaling = None
    """ScalingRecord of the weight scaling applied to this projection, or None (off)."""

    @property
    def in_degree(self):
        """(mean, per_neuron) in-degree: mean from the connector's density, per neuron built."""
        from .scaling import in_degree
        return in_degree(self)

    # --- checks and storage -------------------------------------------------------------

    def _store_checked(self, values, index, safe=True, agree=None, connecting=False):
        """Check, then store, new values of the synapses at `index`: every check comes
        before the first change, so a refused value changes nothing. `agree` (a set() over
        several processes: a pynn_gpu.distributed.Agreement) is called between the two;
        the values are stored only if no process refused its own. `connecting`: the first
        values of new synapses (what their format can hold is decided at the build)."""
        values, steps = distributed.checked_alike(
            agree, lambda: self._checked_values(values, index, safe, connecting))
        model = self.synapse_type.model
        if steps is not None:
            grows = (steps.size and self._delay_steps.size
                     and steps.max() > self._delay_steps.max())
            # over several processes, a shorter delay may shorten the steps between spike
            # exchanges (pynn_gpu.distributed.exchange_lag), which a build fixes
            shrinks = (simulator.state.num_processes > 1 and steps.size
                       and self._delay_steps.size and steps.min() < self._delay_steps.min())
            if model.learns_from_post and not connecting:
                self._keep_delays_in_flight(index, steps)
            self._delay_steps[index] = steps
            if (grows or shrinks) and not self._generating:   # generated: within bounds
                simulator.state.structure_changed()  # the ring buffers must grow
            elif model.learns_from_post:
                simulator.state.structure_changed()  # the window of postsynaptic spikes moves
        if "weight" in values:
            self._weights[index] = values["weight"]
            if model.changes_weight:
                self._initial_weights[index] = values["weight"]
        for name in model.params:
            if name in values:
                self._syn_params[name][index] = values[name]
        self._version += 1

    def _delays_change(self, index, steps):
        """Whether new delays of a plastic projection change some delay after spikes have
        passed through it (its synapses read the spike histories at each synapse's own
        delay: the spikes sent so far must meet them with the delays they were sent with)."""
        return (simulator.state.step > self.first_step
                and not np.array_equal(self._delay_steps[index], steps))

    def _check_delays_may_change(self, index, steps):
        """A second change while spikes sent before the first may still be in flight is
        refused (the synapses keep one set of earlier delays)."""
        before = self.delays_in_flight()
        if before is not None and self._delays_change(index, steps):
            dt = simulator.state.dt
            raise errors.InvalidParameterValueError(
                f"the delays of the plastic projection {self.label!r} changed at "
                f"{before.since * dt:g} ms; spikes sent before then may meet its synapses "
                f"until {before.until * dt:g} ms: change them again from then on, or "
                "after reset()")

    def _keep_delays_in_flight(self, index, steps):
        """Before the delays of a plastic projection change after spikes passed through it:
        keep those in force, with which the spikes sent since they were set meet their
        synapses (SynapseGroup.delays_since)."""
        if not self._delays_change(index, steps):
            return
        now = simulator.state.step
        longest = int(self._delay_steps.max()) if self._delay_steps.size else 0
        self._delays_before = DelaysBefore(since=now, until=now + longest,
                                           sent_from=self.__dict__.get("_delays_set_at", 0),
                                           steps=self._delay_steps.copy())
        self._delays_set_at = now

    def delays_in_flight(self):
        """The DelaysBefore of a change of this projection's delays while spikes sent with
        the earlier ones may not have met their synapses yet; else None."""
        before = self.__dict__.get("_delays_before")
        return before if before is not None and simulator.state.step < before.until else None

    @property
    def delays_changed(self):
        """Whether this plastic projection's delays changed in this segment after spikes had
        passed through it (its synapse groups may hold the earlier ones)."""
        return self.__dict__.get("_delays_before") is not None

    def _checked_values(self, values, index, safe, connecting=False):
        """(values to store, delays in steps or None) after every check of new values of
        the synapses at `index`; nothing is changed yet (but the synapses of a generator
        are stored from now on, and the target's synapse state is brought to the host)."""
        self._stop_generating()
        model = self.synapse_type.model
        if model.state and simulator.state.engine is not None:
            # the target's synapse state (plastic weights among it) first, then the new values
            simulator.state.engine.sync_to_host()
        allowed = ["weight", "delay", *model.params]
        fixed = getattr(self.synapse_type, "fixed_parameters", {})
        for name in set(values) & set(fixed):
            if np.any(np.asarray(values[name], dtype=float) != fixed[name]):
                raise errors.InvalidParameterValueError(
                    f"{name} is fixed when the {type(self.synapse_type).__name__} is created "
                    f"(the same for all its synapses, here {fixed[name]:g}); it cannot be set "
                    "per connection")
        # a fixed parameter given its own value (a column of a saved projection) is no change
        values = {name: value for name, value in values.items() if name not in fixed}
        for name in values:
            if name not in allowed:
                raise errors.NonExistentParameterError(name, type(self.synapse_type).__name__,
                                                       allowed)
            check_finite(values[name], name)
        for name in model.params:
            constraint = model.constraints.get(name)
            if name in values and constraint is not None:
                bad = constraint.violated_by(np.atleast_1d(np.asarray(values[name], float)))
                if bad.any():
                    raise errors.InvalidParameterValueError(
                        f"{name} must be {constraint.describe()} "
                        f"(got {np.atleast_1d(values[name])[bad][0]:g})")
        if isinstance(self.synapse_type, STDPMechanism) and {"weight", "w_min", "w_max"} & set(values):
            stored = {"weight": self._weights, **self._syn_params}
            check_signs(*(values[name] if name in values else stored[name][index]
                          for name in ("weight", "w_min", "w_max")))
        if self.is_gap_junction:
            gap_junctions.check_values(values)
        elif "weight" in values and safe and len(self._weights[index]):
            StandardSynapseType.parameter_checks["weight"](np.asarray(values["weight"]), self)
        steps = None
        if "delay" in values:
            steps = self._checked_delay_steps(np.asarray(values["delay"], dtype=float))
        if self._format == "bitmask" and not connecting:
            self._check_one_value_each(values.get("weight"), steps, index)
        if steps is not None and model.learns_from_post and not connecting:
            self._check_delays_may_change(index, steps)
        return values, steps

    def _check_one_value_each(self, weights, steps, index):
        """A bitmask holds one weight and one delay per part (pair of populations): values
        that would make them differ are refused when set, not at the next run()."""
        for name, new, stored in (("weight", weights, self._weights),
                                  ("delay", steps, self._delay_steps)):
            if new is None:
                continue
            after = stored.copy()
            after[index] = new
            for _, _, selection in self._parts():
                part = after[selection]
                if part.size and np.any(part != part[0]):
                    raise errors.ConnectionError(
                        f"connectivity_format='bitmask' holds one {name} for all the "
                        f"synapses of a projection; the {name}s set differ (make the "
                        "projection's format 'ragged' or 'auto' first)")

    def _store(self, name, values, index):
        self._store_checked({name: values}, index)

    def _checked_delay_steps(self, delays):
        """Delays (ms, any shape) as whole steps, after checking [timestep, max_delay]
        (the longest one on the step grid: a delay that rounds to max_delay is kept, as in
        NEST)."""
        state = simulator.state
        low, high = state.dt, state.max_delay_limit
        steps = np.rint(delays / state.dt)
        bad = (delays < low * (1 - 1e-9)) | ~(steps <= state.max_delay_steps_limit)  # NaN too
        if np.any(bad):
            example = np.atleast_1d(delays)[np.atleast_1d(bad)][0]
            raise errors.ConnectionError(
                f"delay must be in [{low:g}, {high:.10g}] ms (timestep to max_delay); "
                f"got {example:.10g}")
        return np.maximum(steps, 1).astype(np.int32)

    # --- PyNN Projection interface ------------------------------------------------------

    def __len__(self):
        counts = self._counts_of_ungenerated()
        if counts is not None:
            return int(counts.sum())
        return len(self._pre_index)

    def _post_counts(self):
        """Synapses onto each postsynaptic cell (this process's ones over several)."""
        counts = self._counts_of_ungenerated()
        if counts is None:
            counts = np.bincount(self._post_index, minlength=self.post.size)
        return counts

    def _counts_of_ungenerated(self):
        """Per-postsynaptic-cell counts of synapses from a generator (see GeneratedSpec)
        that nobody has generated on the host (a procedural projection's, or one the CUDA
        target builds on the device), counted by the generator without storing them: 0.3e9
        synapses would take gigabytes. None where the synapses are stored."""
        if not self.awaiting_generation:
            return None
        spec = self._procedural
        # the counts depend on the connections alone, not on the weights and delays drawn
        cached = self.__dict__.get("_ungenerated_counts")
        if cached is not None and cached[0].same_connections(spec):
            return cached[1]
        post_range = self._local_post_range()
        if simulator.state.num_processes > 1 and post_range is None:
            return None     # generated whole, then kept for this process: generate them
        counts = spec.counts_onto(self.pre.size, self.post.size, simulator.state.dt,
                                  post_range)
        self._ungenerated_counts = (spec, counts)
        return counts

    @property
    def first_step(self):
        """The first step whose spikes reach this projection's synapses: the step it was
        created at, or 0 from the reset() after it (the network then starts afresh)."""
        segment, step = self._created
        return step if segment == simulator.state.segment_counter else 0

    @property
    def is_gap_junction(self):
        """True for ElectricalSynapse projections (see pynn_gpu.gap_junctions)."""
        return gap_junctions.is_gap_junction(self)

    @property
    def is_procedural(self):
        """Synapses regenerated per spike on the target, not stored."""
        return self._format == "procedural"

    @property
    def connections(self):
        """An iterator over the connections of this projection, as Connection objects."""
        return (Connection(self, i) for i in range(len(self)))

    def __getitem__(self, i):
        if isinstance(i, (int, np.integer)):
            if not -len(self) <= i < len(self):
                raise IndexError(f"connection index {i} out of range")
            return Connection(self, int(i) % len(self))
        return [Connection(self, int(k)) for k in np.arange(len(self))[i]]

    def _attribute_column(self, name):
        if name == "presynaptic_index":
            return self._pre_index
        if name == "postsynaptic_index":
            return self._post_index
        if name in ("weight", "weights"):
            if self.synapse_type.model.changes_weight and simulator.state.engine is not None:
                simulator.state.engine.sync_to_host()     # plastic weights live on the target
            return self._weights
        if name in ("delay", "delays"):
            return self._delay_steps * simulator.state.dt
        if name in self._syn_params:
            return self._syn_params[name]
        if name in self._syn_state:
            if simulator.state.engine is not None:
                simulator.state.engine.sync_to_host()
            return self._syn_state[name]
        fixed = getattr(self.synapse_type, "fixed_parameters", {})
        if name in fixed:       # the same for every synapse (STDP's dendritic delay fraction)
            return np.full(len(self), float(fixed[name]))
        raise errors.NonExistentParameterError(name, type(self.synapse_type).__name__,
                                               ["weight", "delay"])

    def _get_attributes_as_list(self, names):
        columns = [self._attribute_column(name).tolist() for name in names]
        return list(zip(*columns))

    def _get_attributes_as_arrays(self, names, multiple_synapses="sum"):
        columns = [self._attribute_column(name) for name in names]
        return _matrices(self._pre_index, self._post_index, columns,
                         (self.pre.size, self.post.size), multiple_synapses)

    def get(self, attribute_names, format, gather=True, with_address=True,
            multiple_synapses="sum"):
        """PyNN's get. Over several processes, format="array" with gather builds the
        matrices from every process's synapses with the same rule for multiple synapses
        as in one process (PyNN's own gathering lets the last of them win)."""
        if not (format == "array" and gather and simulator.state.num_processes > 1):
            return super().get(attribute_names, format, gather, with_address,
                               multiple_synapses)
        if multiple_synapses not in common.Projection.MULTI_SYNAPSE_OPERATIONS:
            raise ValueError("multiple_synapses must be one of "
                             f"{list(common.Projection.MULTI_SYNAPSE_OPERATIONS)}")
        single = isinstance(attribute_names, str)
        names = [attribute_names] if single else list(attribute_names)
        if isinstance(self.synapse_type, StandardSynapseType):
            names = list(self.synapse_type.get_native_names(*names))
        local = [self._pre_index, self._post_index] + [self._attribute_column(n) for n in names]
        gathered = recording.gather_dict({simulator.state.mpi_rank: local},
                                         all=(gather == "all"))
        if gather == "all" or simulator.state.mpi_rank == 0:
            parts = [gathered[rank] for rank in sorted(gathered)]   # one process's order
            pre, post, *columns = (np.concatenate([part[k] for part in parts])
                                   for k in range(len(local)))
        else:       # as PyNN: all synapses on process 0 only, the others their own
            pre, post, *columns = local
        matrices = _matrices(pre, post, columns, (self.pre.size, self.post.size),
                             multiple_synapses)
        return matrices[0] if single else matrices

    _agreement = None       # during a set() that every process makes (several processes)

    def set(self, **attributes):
        """PyNN's set. Over several processes, each checks its own synapses' values and
        the processes agree on the outcome before any keeps them (distributed.Agreement):
        a bad value for one process's synapses raises in every process and changes
        nothing anywhere, as in one process. (A single connection's setters, used by the
        process holding it alone, check its value there only.)"""
        self._check_settable(attributes)
        state = simulator.state
        if state.num_processes == 1:
            return super().set(**attributes)
        pynn_set = super().set
        distributed.agreed(state, self, lambda: pynn_set(**attributes))

    def _check_settable(self, attributes):
        """NonExistentParameterError naming the synapse type (PyNN's names no model) and,
        for a state variable, the method that sets it."""
        settable = list(self.synapse_type.get_schema())   # what PyNN's set() takes
        for name in attributes:
            if name in settable:
                continue
            if name in self._syn_state:
                raise errors.NonExistentParameterError(
                    f"{name} (a state variable: its initial value is set with "
                    f"initialize({name}=...))", type(self.synapse_type).__name__, settable)
            raise errors.NonExistentParameterError(name, type(self.synapse_type).__name__,
                                                   settable)

    def _set_attributes(self, parameter_space):
        positions = self._one_process_positions() if any(
            isinstance(lazy.base_value, RandomDistribution)
            for _, lazy in parameter_space.items()) else None
        values = {name: evaluate_at(lazy, self._pre_index, self._post_index, positions)
                  for name, lazy in parameter_space.items()}
        self._store_checked(values, slice(None), agree=self._agreement)

    def save(self, attribute_names, file, format="list", gather=True, with_address=True):
        """PyNN's save. Over several processes with gather=False, every process writes its
        own synapses to a file of its own, the name followed by .<rank> as write_data names
        its files (PyNN's writes process 0's synapses alone, under the name given)."""
        state = simulator.state
        if gather or state.num_processes == 1:
            return super().save(attribute_names, file, format, gather, with_address)
        names = (self.synapse_type.get_parameter_names()
                 if attribute_names in ("all", "connections") else
                 [attribute_names] if isinstance(attribute_names, str) else attribute_names)
        if isinstance(file, str):
            file = recording.files.StandardTextFile(f"{file}.{state.mpi_rank}", mode="w")
        else:
            file.rename(f"{file.name}.{state.mpi_rank}")
        values = self.get(names, format=format, gather=False, with_address=with_address)
        if format == "array":       # PyNN's: 0 where there is no connection
            values = [np.where(np.isnan(array), 0.0, array) for array in values]
        file.write(values, {"columns": (["i", "j"] if with_address else []) + list(names)})
        file.close()

    def initialize(self, **initial_values):
        """
        Set initial values of synapse state variables, e.g. prj.initialize(u=0.2): a number,
        a RandomDistribution, a (pre, post) array as set() takes, or one value per synapse
        in connection order. Over several processes these mean what they mean in one:
        values of all the projection's synapses, of which each process takes its own. All
        or nothing: every value is checked, in every process, before any is kept.
        """
        positions = self._one_process_positions()

        def checked_values():
            checked = {}
            for variable, value in initial_values.items():
                lazy = LazyArray(self._initial_array(value, positions), shape=(len(self),),
                                 dtype=float)
                checked[variable] = (lazy, self._checked_initial_values(variable, lazy))
            return checked
        state = simulator.state
        agree = distributed.Agreement(state.mpi_comm) if state.num_processes > 1 else None
        checked = distributed.checked_alike(agree, checked_values)
        if checked and state.engine is not None:
            state.engine.sync_to_host()     # the other state variables: the latest first
        for variable, (lazy, values) in checked.items():
            self._syn_initial[variable][:] = values
            self._syn_state[variable][:] = values
            self.initial_values[variable] = lazy
        self._version += bool(checked)

    def _initial_array(self, value, positions):
        """initialize()'s value as one per synapse of this process (or one number)."""
        if isinstance(value, RandomDistribution):       # drawn as one process draws
            return draw_at(value, len(self), positions)
        if np.ndim(value) == 2:
            return evaluate_at(LazyArray(np.asarray(value, dtype=float),
                                         shape=(self.pre.size, self.post.size)),
                               self._pre_index, self._post_index, positions)
        if np.ndim(value) == 1 and positions is not None and len(value) == positions[1]:
            return np.asarray(value, dtype=float)[positions[0]]
        return value

    def _checked_initial_values(self, variable, lazy):
        """The values of a synapse state variable, each checked (a number)."""
        if variable not in self._syn_state:
            raise errors.NonExistentParameterError(variable, type(self.synapse_type).__name__,
                                                   list(self._syn_state))
        values = lazy.evaluate(simplify=False)
        check_state_values(variable, values, self.synapse_type.model.state_ctype(variable))
        return values

    def _reset_synapse_state(self):
        """Back to the initial state (reset()): no spike seen yet, plastic weights as the
        script last set them."""
        if self.awaiting_generation:
            return      # static synapses from a generator, never listed on the host
        if self.synapse_type.model.changes_weight:
            self._weights[:] = self._initial_weights
        self._delays_before = None      # the histories start afresh
        self._delays_set_at = 0
        for name, values in self._syn_initial.items():
            self._syn_state[name][:] = values
        for last in self._last_spike.values():
            last[:] = -1
        if self._syn_state:
            self._version += 1


@dataclasses.dataclass(frozen=True)
class DelaysBefore:
    """A plastic projection's delays (in steps, one per synapse) before they changed at
    step `since`: a spike sent from step `sent_from` (when they were set) to `since` meets
    its synapse with them, up to step `until` (those sent earlier have all arrived)."""
    since: int
    until: int
    sent_from: int
    steps: np.ndarray


def _check_indices(indices, size, side, connector):
    """ConnectionError unless every index lies in [0, size): compiled code would read and
    write out of bounds with any other (a connector that gives ids instead of indices)."""
    if len(indices) and (indices.min() < 0 or indices.max() >= size):
        bad = indices[(indices < 0) | (indices >= size)][0]
        raise errors.ConnectionError(
            f"{type(connector).__name__} gave {side} index {bad}, outside the "
            f"{size} neurons of that side")


def _matrices(pre, post, columns, shape, multiple_synapses):
    """One (n_pre, n_post) matrix per column of values, NaN where no synapse is; of several
    synapses between one pair: their sum, min or max, or the first or last in the order
    given (creation order)."""
    pairs = pre.astype(np.int64) * shape[1] + post
    duplicates = hosttools.distinct_count(pairs, shape[0] * shape[1]) < len(pre)
    if duplicates and multiple_synapses in ("first", "last"):
        # the synapse of each pair that counts, picked explicitly (numpy leaves the order
        # of repeated assignments unspecified); the same for every column
        order = np.arange(len(pairs)) if multiple_synapses == "first" \
            else np.arange(len(pairs))[::-1]
        chosen = order[np.unique(pairs[order], return_index=True)[1]]
    result = []
    for values in columns:
        matrix = np.full(shape, np.nan)
        if not duplicates:
            matrix[pre, post] = values
        elif multiple_synapses in ("first", "last"):
            matrix[pre[chosen], post[chosen]] = values[chosen]
        elif multiple_synapses == "sum":
            matrix[pre, post] = 0.0
            np.add.at(matrix, (pre, post), values)
        elif multiple_synapses == "min":
            np.fmin.at(matrix, (pre, post), values)
        elif multiple_synapses == "max":
            np.fmax.at(matrix, (pre, post), values)
        result.append(matrix)
    return result
