"""
The engine: turns the PyNN objects of the current simulation into a graph, compiles it for
the chosen target, keeps the arrays the kernels use, runs, and hands recordings back.

Build happens lazily at the first run() and again only when the structure changes (new
populations, projections, electrodes or recording requests). Parameter and weight changes
between runs only update arrays. How projections become synapse groups is in
synapse_building.py.
"""

import copy
import logging
import math
import os
import time

import numpy as np

from . import codegen, distributed, gap_junctions
from .ir.graph import CurrentSourceGroup, NetworkGraph, NeuronGroup, SampleRequest
from .modeldef import check_one_definition_per_name
from .synapse_building import SynapseBuilding

logger = logging.getLogger("PyNN")


def shared_constants(data, names=None):
    """The parameters and derived constants (of `names`, default all) that have one value
    for every neuron of a population: the kernels read them from one element."""
    model = data.model
    candidates = model.params + model.derived + model.int_derived
    shared = []
    for name in candidates:
        if names is not None and name not in names:
            continue
        values = data.kernel.get(name)
        if values is not None and values.size and np.all(values == values[0]):
            shared.append(name)
    return tuple(shared)


def _shared_constants_by_model(populations):
    """Model name -> the constants stored once per group: those with one value in every
    population of that model (so that its groups keep one kernel)."""
    shared = {}
    for population in populations:
        data = population._data
        uniform = shared_constants(data)
        earlier = shared.get(data.model.name, uniform)
        shared[data.model.name] = tuple(name for name in earlier if name in uniform)
    return shared


class Engine(SynapseBuilding):

    def __init__(self, state, target):
        self.state = state
        self.target = target
        self.program = None
        self.graph = None
        self.built_version = None
        self.arrays = {}            # name -> host array, for every name in the pointer table
        self.rings = {}             # (population index, receptor) -> ring array
        self.spike_words = {}       # population index -> current-step spike bits
        self.spike_histories = {}   # population index -> spike bits of the last ring_length steps
        self.synapse_parts = []     # SynapsePart per synapse group
        self.device_generated = []  # (projection, version) whose rows the target built
        self.gap_parts = []         # GapJunctionPart per gap junction group
        self.samples = []           # (SampleRequest, population, variable, recorded ids)
        self.current_parts = []     # (CurrentSourceGroup, source, records?)
        self.timings = {"codegen": 0.0, "compile": 0.0, "run": 0.0}
        # over several MPI processes: the spike exchange (pynn_gpu.distributed), else None
        self.exchange = None
        if state.num_processes > 1:
            self.exchange = distributed.SpikeExchange(state.mpi_comm)
        self.target_ahead = False   # the target holds newer state than the host arrays
        # recording buffers of one call into the target; longer runs are cut into chunks
        self.record_budget = _record_buffer_bytes()

    # --- building -----------------------------------------------------------------------

    def ensure_built(self):
        # a constant the neurons of a group shared, changed to differ: it needs an array
        if self.graph is not None:
            for group, population in zip(self.graph.neuron_groups, self.state.populations):
                changed = population._data.changed & set(group.shared)
                if changed and set(shared_constants(population._data, changed)) != changed:
                    self.state.structure_changed()
        # rows built on the device: a projection changed since (or generated on the host
        # since, to be changed) is built again from its host arrays
        for projection, version in self.device_generated:
            if projection._version not in (version,
                                           projection.__dict__.get("_generated_version")):
                self.state.structure_changed()
        # a bitmask holds one weight and one delay, a shared parameter (or weight, or delay)
        # one value: new values that differ need another format or another kernel
        for part in self.synapse_parts:
            if part.projection._version == part.version:
                continue
            if part.group.format == "bitmask" and not part.uniform():
                self.state.structure_changed()
            elif (not set(part.group.shared_params) <= set(part.uniform_params())
                  or not set(part.group.shared_values) <= set(part.uniform_values())):
                self.state.structure_changed()
        stale = self.program is None or self.built_version != self.state.structure_version
        if self.exchange is not None:
            # a build is collective (the processes agree on the exchange): all build when
            # any one must (a recording or a delay change may concern one process's cells)
            stale = self.exchange.any(stale)
        if stale:
            self.build()

    def build(self):
        check_one_definition_per_name(self._models())
        self.sync_to_host()   # a rebuild pushes host arrays: they must hold the latest state
        t0 = time.perf_counter()
        state = self.state
        old_rings, old_ring_length = self.rings, (self.graph.ring_length if self.graph else None)
        # the new rings, kept only if the build succeeds: a failed build changes nothing, so
        # a corrected second try still finds the input in flight
        rings = {}
        ring_length = self._ring_length()
        lag = None      # steps between spike exchanges over several processes
        if self.exchange is not None:
            lag = distributed.exchange_lag(state)
            # the spike history keeps every step of an exchange window, and learning, lag
            # steps late, still finds the postsynaptic spikes of its longest delay
            ring_length += lag
        if state.step > 0 and old_ring_length:
            # input already in flight may reach as far as the old ring did
            ring_length = max(ring_length, old_ring_length)
        # what assembling the network rebinds: a failed build puts it back, so the engine
        # still matches the program it keeps (a reset() or a corrected run() finds it whole)
        kept = {name: copy.copy(getattr(self, name)) for name in _REBOUND_BY_BUILD}
        try:
            graph, arrays = self._assemble(ring_length, old_rings, old_ring_length, rings,
                                           lag)
            code = codegen.generate(graph, "cuda" if self.target.name == "cuda" else "c")
            t1 = time.perf_counter()
            program = self.target.compile(code)
        except BaseException:
            for name, value in kept.items():
                setattr(self, name, value)
            raise
        t2 = time.perf_counter()
        self.timings["codegen"] += t1 - t0
        self.timings["compile"] += t2 - t1
        self.graph, self.arrays, self.program, self.rings = graph, arrays, program, rings
        self.built_version = state.structure_version
        self._bind_run_buffers(0)
        self.program.push(self.program.array_names)
        for population in state.populations:
            population._data.changed.clear()
        logger.info("pyNN.gpu built %d neuron groups, %d synapse groups for target %s "
                    "(codegen %.3f s, compile %.3f s)", len(graph.neuron_groups),
                    len(graph.synapse_groups), self.target.name, t1 - t0, t2 - t1)
        if logger.isEnabledFor(logging.INFO):     # a report made only to be logged
            for row in self.connectivity_report():
                logger.info("pyNN.gpu %(group)s %(label)s: %(synapses)d synapses, "
                            "%(format)s, %(bytes)d bytes (%(bytes_per_synapse).3g per "
                            "synapse)", row)

    def _models(self):
        """The model of every population, projection and current source."""
        state = self.state
        return ([population.celltype.model for population in state.populations]
                + [projection.synapse_type.model for projection in state.projections]
                + [source.model for source, _, _ in state.current_sources])

    def connectivity_report(self):
        """Per synapse group (and gap junction group): its projection's label, format,
        synapse count (expected, for procedural groups) and the bytes its connectivity takes
        on the target."""
        # the bytes of each group's arrays (named <group>_<array>; synapse group names,
        # sg<n>, hold no underscore), in one pass over the names
        groups = [(group, group.format, group.n_synapses)
                  for group in self.graph.synapse_groups]
        # gap junctions: their pairs and conductances (gj<n>_...), one row per junction
        groups += [(group, "gap junctions", group.n_junctions)
                   for group in self.graph.gap_junctions]
        sizes = {group.name: 0 for group, _, _ in groups}
        for spec in codegen.array_specs(self.graph):
            owner = spec.name.partition("_")[0]
            if owner in sizes and not spec.name.endswith("_last_spike"):
                sizes[owner] += self.arrays[spec.name].nbytes
        rows = []
        for group, layout, count in groups:
            size = sizes[group.name]
            rows.append({"group": group.name, "label": group.label, "format": layout,
                         "synapses": count, "bytes": size,
                         "bytes_per_synapse": size / count if count else 0.0})
        return rows

    def _assemble(self, ring_length, old_rings, old_ring_length, rings, lag):
        """The network graph and the arrays its kernels read: neuron groups, synapse groups,
        the exchange over processes (every `lag` steps), gap junctions, current sources and
        samples. The new input rings go into `rings` (carrying over the input in flight of
        `old_rings`)."""
        state = self.state
        graph = NetworkGraph(dt=state.dt, precision=state.precision, ring_length=ring_length)
        arrays = {}
        groups = []
        coupled = gap_junctions.coupled_populations(state)
        shared = _shared_constants_by_model(state.populations)
        for index, population in enumerate(state.populations):
            model = population.celltype.model
            injected = index in coupled or any(
                src_pop is population and not source.model.into_receptor
                for source, src_pop, _ in state.current_sources)
            records_spikes = bool(population.recorder.recorded_ids("spikes"))
            group = NeuronGroup(name=f"ng{index}", label=population.label, size=population.size,
                                model=model, receptors=model.receptors, rng_key=index,
                                has_current_input=injected, record_spikes=records_spikes,
                                shared=shared[model.name])
            groups.append(group)
            graph.neuron_groups.append(group)
            self._bind_population(index, group, population, arrays, graph.ring_length,
                                  old_rings, old_ring_length, rings)
        # over several processes, what one process refuses of its own synapses (a format
        # they cannot take) is agreed, so that no process goes on to wait for the others
        agree = (distributed.Agreement(state.mpi_comm, "no process ran; the network is as "
                                       "it was") if state.num_processes > 1 else None)
        distributed.checked_alike(agree, lambda: self._build_synapses(graph, groups, arrays))
        if self.exchange is not None:
            distributed.bind_exchange(state, self.exchange, graph, groups, arrays, lag,
                                      coupled)
        self._bind_spike_histories(graph, arrays, old_ring_length)
        self.gap_parts = gap_junctions.build(state, graph, groups, arrays, self._scalar_dtype())
        self._build_current_sources(graph, groups, arrays)
        self._build_samples(graph, groups, arrays)
        return graph, arrays

    def _ring_length(self):
        longest = 1
        for projection in self.state.projections:
            bounds = projection.delay_steps_bounds(self.state.dt)
            if bounds is not None:
                longest = max(longest, bounds[1])
            before = projection.delays_in_flight()      # spikes sent with earlier delays
            if before is not None and before.steps.size:
                longest = max(longest, int(before.steps.max()))
        return longest + 1

    def _bind_population(self, index, group, population, arrays, ring_length, old_rings,
                         old_length, rings):
        data = population._data
        for name, values in data.kernel.items():
            # a shared constant: a copy of its one value (kept up to date by
            # _refresh_changed_arrays); anything else: the population's own array
            arrays[f"{group.name}_{name}"] = values[:1].copy() if name in group.shared else values
        for name, values in data.tables.items():
            arrays[f"{group.name}_{name}"] = values if values.size else np.zeros(1, np.int64)
        for receptor in group.receptors:
            ring = np.zeros((ring_length, group.size), dtype=data.scalar)
            previous = old_rings.get((index, receptor))
            if previous is not None:
                # keep input already in flight: slot of step s is s % length
                now = self.state.step
                for s in range(now, now + old_length):
                    ring[s % ring_length] = previous[s % old_length]
            rings[(index, receptor)] = ring
            arrays[f"{group.name}_in_{receptor}"] = ring
        if group.has_current_input:
            arrays[f"{group.name}_i_inj"] = np.zeros(group.size, dtype=data.scalar)
        spikes = self.spike_words.get(index)
        if spikes is None or spikes.size != group.n_words:
            spikes = np.zeros(group.n_words, dtype=np.uint32)
            self.spike_words[index] = spikes
        arrays[f"{group.name}_spikes"] = spikes
        # spike list and its counters (CUDA propagation); both counters start at zero
        arrays[f"{group.name}_spike_count"] = np.zeros(2, dtype=np.int32)
        arrays[f"{group.name}_spike_list"] = np.zeros(max(group.size, 1), dtype=np.int32)

    def _bind_spike_histories(self, graph, arrays, old_length):
        """The spike bits of the last ring_length steps of each neuron group whose spikes
        plastic synapses read after their delay; a rebuild keeps the steps both rings hold
        (the slot of step s is s % length)."""
        histories = {}
        now = self.state.step
        for index, group in enumerate(graph.neuron_groups):
            if not group.keeps_spike_history:
                continue
            history = np.zeros((graph.ring_length, group.n_words), dtype=np.uint32)
            previous = self.spike_histories.get(index)
            if previous is not None and previous.shape[1] == group.n_words:
                for s in range(max(now - min(old_length, graph.ring_length), 0), now):
                    history[s % graph.ring_length] = previous[s % old_length]
            histories[index] = history
            arrays[f"{group.name}_spike_history"] = history
        self.spike_histories = histories

    def _build_current_sources(self, graph, groups, arrays):
        """One kernel per (source, population) part. The first part of each source is the
        one that records its current (the first target of that part)."""
        self.current_parts = []     # (CurrentSourceGroup, source, records?)
        recorder_found = set()
        scalar = self._scalar_dtype()
        for source, population, indices in self.state.current_sources:
            index = self.state.populations.index(population)
            name = f"cs{len(graph.current_sources)}"    # current_source templates rely on it
            model = source.model
            receptor = (population.celltype.receptor_map[source.receptor_type]
                        if model.into_receptor else "")
            group = CurrentSourceGroup(name=name, label=type(source).__name__, model=model,
                                       target=groups[index], n_targets=len(indices),
                                       receptor=receptor)
            graph.current_sources.append(group)
            arrays[f"{name}_targets"] = np.ascontiguousarray(indices, dtype=np.int32)
            for pname, values in source.kernel_arrays(self.state.dt, scalar).items():
                arrays[f"{name}_{pname}"] = np.ascontiguousarray(values)
            records = len(indices) > 0 and id(source) not in recorder_found
            if records:
                recorder_found.add(id(source))
            arrays[f"{name}_record"] = np.array([records and source._recording], np.int64)
            arrays[f"{name}_rec"] = np.zeros(1, dtype=scalar)
            self.current_parts.append((group, source, records))

    def _scalar_dtype(self):
        return np.float64 if self.state.precision == "double" else np.float32

    def _build_samples(self, graph, groups, arrays):
        self.samples = []
        for index, population in enumerate(self.state.populations):
            recorder = population.recorder
            for variable in recorder.sampled_variables():
                ids = np.array(sorted(recorder.recorded_ids(variable)), dtype=np.int64)
                state_var = next(s for s in population.celltype.model.state if s.name == variable)
                every = max(1, int(round(recorder.sampling_interval / self.state.dt)))
                name = f"rs{len(graph.samples)}"
                request = SampleRequest(name=name, group=groups[index], variable=variable,
                                        ctype=state_var.ctype, every=every, n_recorded=len(ids))
                graph.samples.append(request)
                arrays[f"{name}_index"] = (ids - int(population.first_id)).astype(np.int32)
                arrays[f"{name}_count"] = np.zeros(1, dtype=np.int64)
                arrays[f"{name}_phase"] = np.zeros(1, dtype=np.int64)
                self.samples.append((request, population, variable, ids))

    def _sample_phase(self, request, population):
        """Samples fall on the recording's start and every `every` steps after it (the
        times a signal's t_start and sampling_period give them): the end steps, modulo
        every, at which the kernels sample."""
        return population.recorder.start_step(self.state.dt) % request.every

    def _bind_run_buffers(self, n_steps):
        """Recording buffers sized for a run of n_steps, and all arrays bound. The kernels
        write every element of these buffers that is read back, so they never travel to the
        target; buffers of the size of the last run's are reused."""
        start = self.state.step
        buffers = []
        for group, population in zip(self.graph.neuron_groups, self.state.populations):
            if group.record_spikes:
                buffers.append((f"{group.name}_rec_spikes", (max(n_steps, 1), group.n_words),
                                np.uint32))
        for request, population, variable, ids in self.samples:
            phase = self._sample_phase(request, population)
            # the steps s of the run whose end s + 1 is a sample's: (s + 1 - phase) % every == 0
            n_rows = ((start + n_steps - phase) // request.every
                      - (start - phase) // request.every)
            dtype = population._data.kernel[variable].dtype
            buffers.append((f"{request.name}_buffer", (max(n_rows, 1), len(ids)), dtype))
            self.arrays[f"{request.name}_count"][0] = 0
            self.arrays[f"{request.name}_phase"][0] = phase
        for group, source, records in self.current_parts:
            rows = max(n_steps, 1) if records and source._recording else 1
            buffers.append((f"{group.name}_rec", (rows,), self._scalar_dtype()))
        for name, shape, dtype in buffers:
            old = self.arrays.get(name)
            if old is None or old.shape != shape or old.dtype != dtype:
                self.arrays[name] = np.zeros(shape, dtype)
        self.program.bind(self.arrays)
        self.program.written_by_target([name for name, _, _ in buffers])

    # --- running ------------------------------------------------------------------------

    def run(self, n_steps):
        """
        Advance by n_steps: one call into the target, or, when the recording buffers of the
        whole run would exceed the budget, one call per chunk of steps, each followed by
        fetching its recordings.
        """
        if n_steps < 0:
            return
        self.ensure_built()
        self._refresh_changed_arrays()
        self._record_initial_samples()
        if n_steps == 0:        # run(0): the signals' first values, as NEST and Brian 2 give
            return
        per_step = self._recording_bytes_per_step()
        chunk = n_steps if per_step == 0 else max(1, int(self.record_budget // per_step))
        if self.exchange is not None:
            # the processes record different cells, but exchange at the same steps
            from mpi4py import MPI
            chunk = self.state.mpi_comm.allreduce(chunk, op=MPI.MIN)
        while n_steps > 0:
            steps = min(chunk, n_steps)
            self._bind_run_buffers(steps)
            self.program.push(self._sample_counters())
            t0 = time.perf_counter()
            if self.exchange is None:
                self.program.run(self.state.step, steps, self.state.rng_seed,
                                 self.state.threads)
            else:
                self.exchange.histories = self.spike_histories
                self.exchange.start(self.state.step)
                self.program.run(self.state.step, steps, self.state.rng_seed,
                                 self.state.threads, exchange=self.exchange)
            self.timings["run"] += time.perf_counter() - t0
            self._collect_recordings(steps)
            self.target_ahead = True
            self.state.step += steps
            n_steps -= steps

    def profile(self, n_steps):
        """Per kernel, the mean microseconds of one step, over n_steps more steps (CUDA
        target only; the recording buffers of those steps are discarded)."""
        if not hasattr(self.program, "profile"):
            raise NotImplementedError(f"the {self.target.name} target has no kernel profile")
        self.ensure_built()
        self._refresh_changed_arrays()
        self._bind_run_buffers(n_steps)
        self.program.push(self._sample_counters())
        result = self.program.profile(self.state.step, n_steps, self.state.rng_seed)
        self.target_ahead = True
        self.state.step += n_steps
        return result

    def _sample_counters(self):
        """The arrays _bind_run_buffers sets for the samples of a run: rows and phase."""
        return [f"{r.name}_{what}" for r, *_ in self.samples for what in ("count", "phase")]

    def _recording_bytes_per_step(self):
        """Bytes of recording buffer one step needs (spike bits, samples, currents)."""
        total = sum(4.0 * g.n_words for g in self.graph.neuron_groups if g.record_spikes)
        for request, population, variable, ids in self.samples:
            itemsize = population._data.kernel[variable].dtype.itemsize
            total += itemsize * len(ids) / request.every
        total += sum(8.0 for _, source, records in self.current_parts
                     if records and source._recording)
        return total

    def _refresh_changed_arrays(self):
        names = []
        for group, population in zip(self.graph.neuron_groups, self.state.populations):
            data = population._data
            for name in data.changed:
                key = f"{group.name}_{name}"
                if name in group.shared:
                    self.arrays[key][0] = data.kernel[name][0]
                if name in data.tables:
                    self.arrays[key] = data.tables[name] if data.tables[name].size else np.zeros(1, np.int64)
                names.append(key)
            data.changed.clear()
        # (Projection._store_checked brought the target's synapse state back before it
        # changed anything)
        changed_parts = [p for p in self.synapse_parts if p.projection._version != p.version]
        for part in changed_parts:
            arrays = part.synapse_arrays(self._scalar_dtype(), self.graph.delay_dtype)
            for key, values in arrays.items():
                self.arrays[f"{part.group.name}_{key}"][...] = values
                names.append(f"{part.group.name}_{key}")
            part.version = part.projection._version
        changed_sources = {id(s) for _, s, _ in self.current_parts if s._changed}
        for group, source, records in self.current_parts:
            if id(source) not in changed_sources:
                continue
            updates = dict(source.kernel_arrays(self.state.dt, self._scalar_dtype()))
            updates["record"] = np.array([records and source._recording], np.int64)
            for pname, values in updates.items():
                key = f"{group.name}_{pname}"
                if self.arrays[key].shape == np.shape(values):
                    self.arrays[key][:] = values
                else:       # a table of another length: a new array, bound below
                    self.arrays[key] = np.ascontiguousarray(values)
                names.append(key)
        for _, source, _ in self.current_parts:
            source._changed = False
        names += gap_junctions.refresh(self.state, self.gap_parts, self.arrays,
                                       self._scalar_dtype())
        if names:
            self.program.bind(self.arrays)
            self.program.push(names)

    def _record_initial_samples(self):
        """A recorded variable's signal starts with its values when its recording starts
        (the start of the segment, or of the first run after record())."""
        starting = []
        for request, population, variable, ids in self.samples:
            new_ids = population.recorder.needing_initial_sample(variable, ids)
            if len(new_ids):
                on_grid = (self.state.step - self._sample_phase(request, population)) \
                    % request.every == 0
                starting.append((population, variable, new_ids, on_grid))
        if starting:
            self.sync_to_host()
        for population, variable, ids, on_grid in starting:
            # a start between two samples (a cell added then) has no value of its own
            values = population._data.kernel[variable][ids - int(population.first_id)]
            population.recorder.store_samples(variable, ids,
                                              values[np.newaxis, :] if on_grid else [],
                                              self.state.t)

    def _collect_recordings(self, n_steps):
        names = [f"{r.name}_buffer" for r, *_ in self.samples]
        names += [f"{r.name}_count" for r, *_ in self.samples]
        recording_parts = [(g, s) for g, s, records in self.current_parts
                           if records and s._recording]
        names += [f"{g.name}_rec" for g, _ in recording_parts]
        self.program.pull(names)
        dt, first = self.state.dt, self.state.step
        for group, population in zip(self.graph.neuron_groups, self.state.populations):
            if not group.record_spikes:
                continue
            name = f"{group.name}_rec_spikes"
            steps, neurons = self.program.recorded_spikes(name, self.arrays[name], n_steps)
            population.recorder.store_spikes(neurons, step_time(first + steps + 1, dt))
        for request, population, variable, ids in self.samples:
            rows = int(self.arrays[f"{request.name}_count"][0])
            # the first sample: the first step end from first + 1 on that is on the phase
            phase = int(self.arrays[f"{request.name}_phase"][0])
            t_first = step_time(first + 1 + (phase - first - 1) % request.every, dt)
            population.recorder.store_samples(
                variable, ids, self.arrays[f"{request.name}_buffer"][:rows].copy(), t_first)
        for group, source in recording_parts:
            source.store_trace(self.state.segment_counter, dt, first,
                               self.arrays[f"{group.name}_rec"][:n_steps].copy())

    def sync_to_host(self):
        """
        Bring what the target changed during runs (state variables, ring buffers, spike
        words) back into the host arrays, except arrays the host changed since (those are
        newer). A no-op for targets that work on the host arrays themselves.
        """
        if self.program is None or not self.target_ahead:
            return
        names = []
        for group, population in zip(self.graph.neuron_groups, self.state.populations):
            changed = population._data.changed
            names += [f"{group.name}_{s.name}" for s in group.model.state if s.name not in changed]
            names += [f"{group.name}_in_{r}" for r in group.receptors]
            names.append(f"{group.name}_spikes")
            if group.keeps_spike_history:
                names.append(f"{group.name}_spike_history")
        for part in self.synapse_parts:
            model = part.group.model
            names += [f"{part.group.name}_{v.name}" for v in model.state]
            if model.needs_last_spike:
                names.append(f"{part.group.name}_last_spike")
            if model.changes_weight:
                names.append(f"{part.group.name}_weight")
        self.program.pull(names)
        for part in self.synapse_parts:
            for v in part.group.model.state:
                part.scatter(part.projection._syn_state[v.name],
                             self.arrays[f"{part.group.name}_{v.name}"])
            if part.group.model.changes_weight:
                part.scatter(part.projection._weights, self.arrays[f"{part.group.name}_weight"])
        self.target_ahead = False

    pull_state = sync_to_host

    # --- reset --------------------------------------------------------------------------

    def reset(self):
        self.target_ahead = False   # everything below is overwritten on the host and pushed
        for ring in self.rings.values():
            ring[:] = 0
        for words in self.spike_words.values():
            words[:] = 0
        for history in self.spike_histories.values():
            history[:] = 0
        if self.exchange is not None:
            for ring in self.exchange.received.values():
                ring[:] = 0
        counters = []
        if self.graph is not None:
            for group in self.graph.neuron_groups:
                self.arrays[f"{group.name}_spike_count"][:] = 0
                counters.append(f"{group.name}_spike_count")
                if group.exchanges_spikes:      # over several processes
                    self.arrays[f"{group.name}_delayed_count"][:] = 0
                    counters += [f"{group.name}_received", f"{group.name}_delayed_count"]
        if self.program is not None:
            self.program.push([f"ng{i}_in_{r}" for (i, r) in self.rings]
                              + [f"ng{i}_spikes" for i in self.spike_words] + counters
                              + [f"ng{i}_spike_history" for i in self.spike_histories]
                              + [f"{p.group.name}_last_spike" for p in self.synapse_parts
                                 if p.group.model.needs_last_spike])


# the engine's attributes a build assembles anew (see build)
_REBOUND_BY_BUILD = ("spike_words", "spike_histories", "synapse_parts", "device_generated",
                     "gap_parts", "current_parts", "samples")


def _record_buffer_bytes():
    """$PYNN_GPU_RECORD_BUFFER_MB (default 512) in bytes: the recording buffers a run may
    fill before it goes on in chunks (0: a chunk per step)."""
    text = os.environ.get("PYNN_GPU_RECORD_BUFFER_MB", "512")
    try:
        megabytes = float(text)
    except ValueError:
        megabytes = -1.0
    if not 0 <= megabytes < math.inf:
        raise ValueError("PYNN_GPU_RECORD_BUFFER_MB must be a number of megabytes, 0 or more "
                         f"(got {text!r})")
    return int(megabytes * 2 ** 20)


def step_time(step, dt):
    """The time (ms) at the end of `step` steps (numbers or arrays), rounded to 12 decimals:
    3 x 0.1 is 0.3, as the script wrote it, not 0.30000000000000004."""
    return np.round(step * dt, 12) if isinstance(step, np.ndarray) else round(step * dt, 12)
