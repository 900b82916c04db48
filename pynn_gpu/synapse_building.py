"""
How the engine turns projections into synapse groups and their arrays: stored rows (ragged,
dense, bitmask, in row order by presynaptic neuron), procedural groups (parameters only), and
generated rows the CUDA target builds itself. `SynapsePart` keeps the link between a group's
rows and the projection's per-synapse arrays, for updates between runs.
"""

import numpy as np
from pyNN import errors

from . import (distance_probability, distributed, gap_junctions, hosttools, pattern_connectors,
               planner, procedural)
from .hosttools import stable_order
from .ir.graph import SOURCE_RNG_KEYS, SYNAPSE_RNG_KEYS, SynapseGroup, index_type
from .standardmodels.plasticity import dendritic_steps


class SynapseBuilding:
    """The synapse-building part of the Engine (see pynn_gpu.engine)."""

    def _build_synapses(self, graph, groups, arrays):
        self.synapse_parts = []
        self.device_generated = []
        rng_keys = RandomKeys(self.state.projections)
        scalar = self._scalar_dtype()
        # spike-driven projections (gap_junctions.build adds the others), each with the
        # stored format the target generates it in itself, if it does
        projections = [(projection, None if projection.is_procedural
                        else self._generate_on_device(projection))
                       for projection in self.state.projections
                       if not gap_junctions.is_gap_junction(projection)]
        shared = self._shared_by_model([projection for projection, device_format in projections
                                        if device_format is None
                                        and not projection.is_procedural])
        for projection, device_format in projections:
            model = projection.synapse_type.model
            if projection.is_procedural:
                self._add_procedural(graph, groups, projection, rng_keys)
                continue
            if device_format is not None:
                self._add_device_generated(graph, groups, arrays, projection, device_format,
                                           rng_keys)
                continue
            for pre_index, post_index, selection in projection._parts():
                pre, post = groups[pre_index], groups[post_index]
                post_population = self.state.populations[post_index]
                receptor = post_population.celltype.receptor_map[projection.receptor_type]
                name = f"sg{len(graph.synapse_groups)}"
                pre_idx = projection._pre_parent_index[selection]
                # rows must be sorted by presynaptic neuron; native builders already are
                order = (slice(None) if np.all(pre_idx[:-1] <= pre_idx[1:])
                         else stable_order(pre_idx, pre.size))
                counts = np.bincount(pre_idx, minlength=pre.size)
                fmt = planner.stored_format(
                    projection._format,
                    _connectivity(model, pre.size, post.size, pre_idx,
                                  projection._post_parent_index[selection], projection,
                                  selection),
                    label=f"projection {projection.label!r}")
                group = SynapseGroup(name=name, label=projection.label or name, pre=pre,
                                     post=post, receptor=receptor, n_synapses=len(pre_idx),
                                     model=model,
                                     rng_key=rng_keys.of(projection,
                                                         self.state.populations[pre_index],
                                                         post_population),
                                     max_row=int(counts.max()) if counts.size else 0,
                                     pre_cells=_cells_in(projection.pre,
                                                         self.state.populations[pre_index]),
                                     strategy=projection.propagation, format=fmt,
                                     since_step=projection.first_step)
                graph.synapse_groups.append(group)
                part = SynapsePart(group, projection, selection, order, projection._version)
                group.shared_params = tuple(p for p in model.params if p in shared[model.name])
                group.shared_values = tuple(v for v in SHAREABLE_VALUES
                                            if v in shared[model.name])
                self.synapse_parts.append(part)
                post_idx = part.gather(projection._post_parent_index, np.int32)
                # this group's arrays, gathered apart so that padding them below looks at
                # them alone (not at every array of the network, once per group)
                own = {}
                if fmt == "ragged":
                    own[f"{name}_row_ptr"] = np.concatenate(
                        ([0], np.cumsum(counts))).astype(np.int64)
                    group.post_ctype, post_dtype = index_type(post.size)
                    own[f"{name}_post"] = post_idx.astype(post_dtype)
                    group.rows_sorted = _rows_sorted(post_idx, own[f"{name}_row_ptr"])
                else:
                    group.rows_sorted = True        # no rows: a loop over the neurons
                for key, values in part.synapse_arrays(scalar, graph.delay_dtype).items():
                    own[f"{name}_{key}"] = values
                if model.uses_rng:
                    own[f"{name}_pair_ordinal"] = pair_ordinals(
                        part.gather(projection._pre_parent_index, np.int64), post_idx,
                        post.size)
                if model.needs_tau_psc:
                    own[f"{name}_tau_psc"] = _receptor_time_constants(
                        post_population, receptor, scalar)[post_idx]
                if model.needs_last_spike:
                    # shared with the projection, so a rebuild keeps it
                    own[f"{name}_last_spike"] = projection._last_spike.setdefault(
                        pre_index, np.full(pre.size, -1, dtype=np.int64))
                if model.learns_from_post:
                    _add_plastic_arrays(group, own, post_idx,
                                        projection.synapse_type.dendritic_delay_fraction)
                    before = projection.delays_in_flight()
                    if before is not None:
                        _add_delays_before(group, own, before,
                                           part.gather(before.steps, graph.delay_dtype))
                for key, values in own.items():
                    arrays[key] = values if values.size else np.zeros(1, values.dtype)

    @staticmethod
    def _shared_by_model(host_built):
        """Synapse model name -> what is stored once per group: the parameters, and the
        weight or delay, with one value in every part of that model's projections built on
        the host (so that its groups keep one kernel)."""
        shared = {}
        for projection in host_built:
            model = projection.synapse_type.model
            for _, _, selection in projection._parts():
                uniform = set(uniform_params(projection, selection))
                uniform |= set(uniform_values(projection, selection))
                shared[model.name] = shared.get(model.name, uniform) & uniform
        return shared

    def _generate_on_device(self, projection):
        """The stored format in which the target builds a generated projection itself, or
        None: it has not been generated on the host yet, and the format the planner gives it
        is one the target can fill: on CUDA, see device_formats; on C, a bitmask of a
        constant AllToAll or OneToOne (filled without listing the synapses; other formats of
        generated projections come from the C generator's synapse lists)."""
        spec = projection._procedural
        if not projection.awaiting_generation:
            return None
        if procedural.check_weight_sign(spec.weight, projection):
            return None     # only drawn weights can be checked: the host draws and checks
        several = self.state.num_processes > 1
        if several and projection._local_post_range() is None:
            return None     # generated on the host, the local synapses kept
        constant = spec.constant_values
        on_cuda = self.target.name == "cuda" and hasattr(self.target, "load_module")
        # (over several processes the C target's host generates each process's synapses)
        if not on_cuda and (several or not constant
                            or not projection.synapse_type.model.is_static):
            return None
        n_pre, n_post = projection.pre.size, projection.post.size
        connectivity = planner.Connectivity(
            n_pre, n_post, int(procedural.expected_synapses(spec, n_pre, n_post)),
            static=True, one_per_pair=spec.one_per_pair, uniform=constant)
        fmt = planner.stored_format(projection._format, connectivity,
                                    label=f"projection {projection.label!r}")
        return fmt if fmt in device_formats(spec, on_cuda) else None

    def _add_device_generated(self, graph, groups, arrays, projection, fmt, rng_keys):
        """Synapses generated by the target straight into its memory (never listed on
        the host), in stored format `fmt`."""
        spec = projection._procedural
        populations = self.state.populations
        pre = groups[populations.index(projection.pre)]
        post = groups[populations.index(projection.post)]
        args = (self.target, spec, pre.size, post.size, self.state.dt, self._scalar_dtype())
        shared_values, post_ctype = (), "int32_t"
        if self.target.name != "cuda" or not hasattr(self.target, "load_module"):
            counts, mask = pattern_connectors.host_bitmask(spec, pre.size, post.size)
            device = {"mask": mask, **pattern_connectors.constant_values(
                spec, self.state.dt, self._scalar_dtype(), graph.delay_dtype)}
        else:
            from .targets import cuda_generation
            # over several processes, the synapses onto this process's neurons only
            post_range = projection._local_post_range()
            extra = {"delay_dtype": graph.delay_dtype}
            if post_range is not None:
                extra["post_range"] = post_range
            if fmt == "ragged":
                # narrow postsynaptic indices; a weight or delay alike for every synapse
                # (which static synapses never change) stored once
                post_ctype, extra["post_dtype"] = index_type(post.size)
                if projection.synapse_type.model.is_static:
                    shared_values = tuple(name for name in SHAREABLE_VALUES
                                          if getattr(spec, name).kind == "constant")
                    extra["once"] = shared_values
                counts, row_ptr, device = _device_generator(spec)(*args, **extra)
                device = {"row_ptr": row_ptr, **device}
            else:
                counts, device = cuda_generation.generate_matrix(
                    args[0], spec, fmt, *args[2:], rows=_device_generator(spec), **extra)
        name = f"sg{len(graph.synapse_groups)}"
        graph.synapse_groups.append(SynapseGroup(
            name=name, label=projection.label or name, pre=pre, post=post,
            receptor=projection.post.celltype.receptor_map[projection.receptor_type],
            n_synapses=int(counts.sum()), model=projection.synapse_type.model,
            rng_key=rng_keys.of(projection, projection.pre, projection.post),
            max_row=int(counts.max()) if counts.size else 0, strategy=projection.propagation,
            format=fmt, shared_values=shared_values, post_ctype=post_ctype))
        for key, resident in device.items():
            arrays[f"{name}_{key}"] = resident
        self.device_generated.append((projection, projection._version))

    def _add_procedural(self, graph, groups, projection, rng_keys):
        """A procedural projection: a synapse group with parameters and no arrays."""
        populations = self.state.populations
        pre = groups[populations.index(projection.pre)]
        post_population = projection.post
        post = groups[populations.index(post_population)]
        spec = projection._procedural
        graph.synapse_groups.append(SynapseGroup(
            name=f"sg{len(graph.synapse_groups)}", label=projection.label or "procedural",
            pre=pre, post=post,
            receptor=post_population.celltype.receptor_map[projection.receptor_type],
            n_synapses=int(round(procedural.expected_synapses(spec, pre.size, post.size))),
            model=projection.synapse_type.model, procedural=spec, format="procedural",
            rng_key=rng_keys.of(projection, projection.pre, post_population)))


class RandomKeys:
    """
    The random-number key of each synapse group (neuron groups use 0, 1, ...; synapse
    groups SYNAPSE_RNG_KEYS on). Projections take keys in creation order, one for each
    pair of a presynaptic and a postsynaptic population they can connect, whether any
    synapse does or not: a group's key depends on the network alone, not on the groups a
    target or a process happens to build (a target that builds a group for an empty
    projection, or a process that holds none of a projection's synapses, shifts no other
    group's numbers).
    """

    def __init__(self, projections):
        self._first = {}
        key = SYNAPSE_RNG_KEYS
        for projection in projections:
            pre = distributed.populations_of(projection.pre)
            post = distributed.populations_of(projection.post)
            self._first[id(projection)] = (key, pre, post)
            key += len(pre) * len(post)
        if key > SOURCE_RNG_KEYS:
            raise errors.ConnectionError(
                f"the network has more projection parts ({key - SYNAPSE_RNG_KEYS}) than "
                f"random-number keys ({SOURCE_RNG_KEYS - SYNAPSE_RNG_KEYS})")

    def of(self, projection, pre_population, post_population):
        """The key of a projection's synapses from one population onto another."""
        first, pre, post = self._first[id(projection)]
        return first + _position(pre, pre_population) * len(post) + _position(
            post, post_population)


def _position(populations, population):
    """Where a Population stands in a list of them (by identity)."""
    return next(i for i, candidate in enumerate(populations) if candidate is population)


def _cells_in(cells, population):
    """How many of `cells` (a Population, PopulationView or Assembly) are `population`'s."""
    if cells is population:
        return population.size
    ids = np.asarray(cells.all_cells, dtype=np.int64)
    first = int(population.first_id)
    return int(np.count_nonzero((ids >= first) & (ids < first + population.size)))


def pair_ordinals(pre, post, n_post):
    """Each synapse's ordinal among the synapses of its (pre, post) pair, in row order (which
    keeps the order of creation within a pair): 0 but for the second, third, ... synapse of
    a pair. With the pair, it picks a synapse's random numbers (kernels/common/philox.h).
    Over several processes a pair's synapses all belong to its postsynaptic neuron's
    process, in the same order: the ordinals are those of one process."""
    pairs = np.asarray(pre, np.int64) * n_post + np.asarray(post, np.int64)
    order = np.argsort(pairs, kind="stable")
    ranked = pairs[order]
    ordinals = np.empty(len(pairs), np.int64)
    ordinals[order] = np.arange(len(pairs)) - np.searchsorted(ranked, ranked, side="left")
    if len(pairs) and ordinals.max() >= 2 ** 16:
        raise errors.ConnectionError(
            "stochastic synapses: at most 65536 synapses between one pair of neurons "
            f"(got {int(ordinals.max()) + 1})")
    return ordinals.astype(np.uint16)


class SynapsePart:
    """
    The synapses of one projection between one pair of populations, in the row order of
    its synapse group: `order` maps row position to the projection's `selection`.
    """

    def __init__(self, group, projection, selection, order, version):
        self.group, self.projection = group, projection
        self.selection, self.order, self.version = selection, order, version

    def gather(self, values, dtype=None):
        """Per-synapse projection values, in row order (as `dtype` if given)."""
        values = np.asarray(values)
        dtype = values.dtype if dtype is None else np.dtype(dtype)
        if isinstance(self.selection, slice) and self.selection == slice(None) \
                and not isinstance(self.order, slice):
            return hosttools.gather(values, self.order, dtype)
        return np.ascontiguousarray(values[self.selection][self.order], dtype=dtype)

    def scatter(self, target, values):
        """Row-ordered values back into a per-synapse projection array."""
        positions = np.arange(len(self.projection))[self.selection][self.order]
        target[positions] = values[:self.group.n_synapses]

    def uniform_params(self):
        """The model parameters with one value for every synapse of this part."""
        return uniform_params(self.projection, self.selection)

    def uniform_values(self):
        """Of the weight and the delay, those this part could store once (see
        uniform_values)."""
        return uniform_values(self.projection, self.selection)

    def uniform(self):
        """All weights equal and all delays equal."""
        weights = np.asarray(self.projection._weights)[self.selection]
        delays = np.asarray(self.projection._delay_steps)[self.selection]
        return bool(weights.size == 0 or (np.all(weights == weights[0])
                                          and np.all(delays == delays[0])))

    def pair_index(self):
        """pre * n_post + post of each synapse, in row order."""
        p = self.projection
        pre = self.gather(p._pre_parent_index).astype(np.int64)
        post = self.gather(p._post_parent_index).astype(np.int64)
        return pre * self.group.post.size + post

    def synapse_arrays(self, scalar, delay_dtype):
        """The part's arrays on the target, weights as `scalar`, delays as `delay_dtype`."""
        p = self.projection
        if self.group.format == "dense":
            pairs = self.group.pre.size * self.group.post.size
            weight = np.zeros(max(pairs, 1), dtype=scalar)
            delay = np.ones(max(pairs, 1), dtype=delay_dtype)
            index = self.pair_index()
            weight[index] = self.gather(p._weights)
            delay[index] = self.gather(p._delay_steps)
            return {"dense_weight": weight, "dense_delay": delay}
        if self.group.format == "bitmask":
            pairs = self.group.pre.size * self.group.post.size
            bits = np.zeros(max(pairs, 1), dtype=np.uint8)
            bits[self.pair_index()] = 1
            mask = np.packbits(bits, bitorder="little")
            mask = np.pad(mask, (0, -len(mask) % 4)).view(np.uint32)
            weights, delays = self.gather(p._weights), self.gather(p._delay_steps)
            return {"mask": mask,
                    "weight": np.array(weights[:1] if weights.size else [0.0], dtype=scalar),
                    "delay": np.array(delays[:1] if delays.size else [1], dtype=delay_dtype)}
        arrays = {}
        for name, values, dtype in (("weight", p._weights, scalar),
                                    ("delay", p._delay_steps, delay_dtype)):
            if name in self.group.shared_values:    # stored once
                first = np.asarray(values)[self.selection][:1]
                arrays[name] = np.ascontiguousarray(first if first.size else [0], dtype=dtype)
            else:
                arrays[name] = self.gather(values, dtype)
        for name in self.group.model.params:
            if name in self.group.shared_params:    # stored once
                values = np.asarray(p._syn_params[name])[self.selection][:1]
                arrays[name] = np.ascontiguousarray(values if values.size else [0.0],
                                                    dtype=scalar)
            else:
                arrays[name] = self.gather(p._syn_params[name]).astype(scalar)
        for var in self.group.model.state:
            dtype = {"int32_t": np.int32, "int64_t": np.int64}.get(var.ctype, scalar)
            arrays[var.name] = self.gather(p._syn_state[var.name]).astype(dtype)
        return arrays


def uniform_params(projection, selection):
    """The model parameters with one value for every selected synapse of a projection."""
    return tuple(name for name in projection.synapse_type.model.params
                 if _one_value(np.asarray(projection._syn_params[name])[selection]))


# Rows read a weight and a delay per synapse; where every synapse of a group has the same one
# (and no kernel writes or reads it per synapse otherwise) they are stored once, as
# parameters are: a row then holds only its postsynaptic neurons.
SHAREABLE_VALUES = ("weight", "delay")


def uniform_values(projection, selection):
    """Of the weight and the delay, those with one value for every selected synapse of a
    projection that its model lets be stored once: neither when postsynaptic spikes reach
    the synapses (those kernels read the weight and split the delay per synapse), nor the
    weight when the model changes it."""
    model = projection.synapse_type.model
    if model.learns_from_post:
        return ()
    candidates = {"delay": projection._delay_steps}
    if not model.changes_weight:
        candidates["weight"] = projection._weights
    return tuple(name for name in SHAREABLE_VALUES if name in candidates
                 and _one_value(np.asarray(candidates[name])[selection]))


def _one_value(values):
    return values.size == 0 or bool(np.all(values == values.flat[0]))


def _rows_sorted(post_idx, row_ptr):
    """Whether each row lists its synapses by increasing postsynaptic neuron."""
    steps = np.diff(post_idx.astype(np.int64))
    steps[row_ptr[1:-1][(row_ptr[1:-1] > 0) & (row_ptr[1:-1] < len(post_idx))] - 1] = 0
    return bool(np.all(steps >= 0))


def _add_plastic_arrays(group, arrays, post_idx, fraction):
    """What a plastic group's kernels read besides its rows: its synapses by postsynaptic
    neuron (positions in the rows) for the postsynaptic spikes, and the dendritic part of
    each delay when it is not all of it (see SynapseGroup.dendritic_fraction); the neuron
    groups whose spikes reach the synapses after a delay keep their last RING_LENGTH steps."""
    name, post = group.name, group.post
    delays = arrays[f"{name}_delay"]
    group.dendritic_fraction = float(fraction)
    if fraction < 1:        # the axonal part, at least one step, is the delivery's
        dendritic = dendritic_steps(delays, fraction)
        arrays[f"{name}_dendritic"] = dendritic
        group.pre.keeps_spike_history = True
    else:
        dendritic = delays
    if delays.size:
        group.min_dendritic, group.max_dendritic = int(dendritic.min()), int(dendritic.max())
        axonal = delays - dendritic
        group.min_axonal, group.max_axonal = int(axonal.min()), int(axonal.max())
    post.keeps_spike_history = True
    arrays[f"{name}_col_syn"] = stable_order(post_idx, post.size).astype(np.int64, copy=False)
    arrays[f"{name}_col_ptr"] = np.concatenate(
        ([0], np.cumsum(np.bincount(post_idx, minlength=post.size)))).astype(np.int64)


def _add_delays_before(group, arrays, before, delays):
    """The delays of a plastic group before they changed (Projection.delays_in_flight), in
    its synapses' order, for the spikes sent with them (SynapseGroup.delays_since); the
    windows of spikes that can meet a synapse in a step take them in."""
    name = group.name
    arrays[f"{name}_delay_before"] = delays
    dendritic = delays
    if group.delivers:
        dendritic = dendritic_steps(delays, group.dendritic_fraction)
        arrays[f"{name}_dendritic_before"] = dendritic
    if delays.size:
        axonal = delays - dendritic
        group.min_dendritic = min(group.min_dendritic, int(dendritic.min()))
        group.max_dendritic = max(group.max_dendritic, int(dendritic.max()))
        group.min_axonal = min(group.min_axonal, int(axonal.min()))
        group.max_axonal = max(group.max_axonal, int(axonal.max()))
    group.delays_sent_from = before.sent_from
    group.delays_since, group.delays_until = before.since, before.until


def device_formats(spec, on_cuda=True):
    """The stored formats a target fills itself for a generated projection: on CUDA, every
    one (cuda_generation: rows, and dense matrices and bitmasks filled by the generator or
    scattered from rows); on C, the bitmask of a generator whose pairs follow a fixed
    pattern (AllToAll, OneToOne: pattern_connectors.host_bitmask). The others are generated
    on the host, then stored."""
    if on_cuda:
        return ("ragged", "dense", "bitmask")
    if isinstance(spec, procedural.ProceduralSpec) and spec.connects_all:
        return ("bitmask",)
    return ()


def _device_generator(spec):
    """The CUDA target's generate_rows for a generated projection's spec."""
    from .targets import cuda_distance_probability, cuda_fixed_number, cuda_generation
    if isinstance(spec, procedural.ProceduralSpec):      # FixedProbability, AllToAll, OneToOne
        return cuda_generation.generate_rows
    if isinstance(spec, distance_probability.DistanceProbabilitySpec):
        return cuda_distance_probability.generate_rows
    return cuda_fixed_number.generate_rows


def _connectivity(model, n_pre, n_post, pre_idx, post_idx, projection, selection):
    """planner.Connectivity of one projection part (pairs and uniformity checked only when
    the density could make dense or bitmask worth it, or when the script asked for them)."""
    n = len(pre_idx)
    static = model.is_static
    worth_checking = (projection._format in ("dense", "bitmask")
                      or n >= planner.BITMASK_MIN_DENSITY * n_pre * n_post)
    one_per_pair = uniform = False
    if static and worth_checking and n:
        pairs = np.asarray(pre_idx, np.int64) * n_post + np.asarray(post_idx, np.int64)
        one_per_pair = hosttools.distinct_count(pairs, n_pre * n_post) == n
        weights = np.asarray(projection._weights)[selection]
        delays = np.asarray(projection._delay_steps)[selection]
        uniform = bool(np.all(weights == weights[0]) and np.all(delays == delays[0]))
    return planner.Connectivity(n_pre, n_post, n, static, one_per_pair, uniform)


def _receptor_time_constants(population, receptor, scalar):
    """Per neuron: the synaptic time constant of `receptor` (0 where the model has none)."""
    name = getattr(population.celltype, "receptor_time_constants", {}).get(
        receptor, {"exc": "tau_syn_E", "inh": "tau_syn_I"}.get(receptor))
    values = population._data.params.get(name)
    if values is None:
        return np.zeros(population.size, dtype=scalar)
    return np.asarray(values, dtype=scalar)
