"""
Merging groups that share code, so that one kernel serves many populations or projections
(gap junctions, which all share their code, always become a single kernel).

Groups whose generated code would be identical (same model snippets, same receptors, same
propagation strategy) become one *merged group*. Their per-group differences (array
pointers, sizes, random-number keys) move into a table of structs, one row per group; the
kernel finds its row from the thread index. Every member owns a range of threads that starts
at a multiple of 32, so a warp never spans two groups (the spike ballot needs that).

The number of kernels, and so compile time and per-step launches, then grows with the number
of distinct models in a network, not with the number of populations (GeNN merges its groups
for the same reason).
"""

from collections import Counter
from dataclasses import dataclass
from typing import List, Tuple, Union

from .. import planner
from ..planner import kernel_code
from .graph import SOURCE_RNG_KEYS, NetworkGraph

WARP = 32


def _padded(n):
    return max(WARP, (n + WARP - 1) // WARP * WARP)


@dataclass(frozen=True)
class Field:
    """One member of a merged group's struct: an array pointer, an int64 or a double."""
    name: str
    ctype: str            # the element type of an array, or a value's: int64_t or double
    is_array: bool = True

    @property
    def declaration(self):
        return f"{self.ctype} *{self.name};" if self.is_array else f"{self.ctype} {self.name};"


@dataclass
class MergedGroup:
    """Groups with identical code: `rows` gives, per member and field, the name of the array
    whose pointer goes there (None: no such array, a null pointer) or an int value."""
    name: str                      # C identifier of the kernel and the struct table
    role: str                      # "neuron" or "synapse"
    members: list                  # NeuronGroup or SynapseGroup
    fields: Tuple[Field, ...]
    rows: List[List[Union[str, int, None]]]
    firsts: List[int]              # first thread of each member
    total_threads: int
    strategy: str = ""             # synapses: the kernel code, planner.kernel_code()
    partitioned: bool = False      # C target: threads share out the postsynaptic neurons
    drives: tuple = ()             # neurons: the members' fused current sources (first's)

    @property
    def model(self):
        return self.members[0].model

    @property
    def struct(self):
        return "_" + self.name.upper()

    @property
    def first(self):
        return self.members[0]


def fused_drives(graph: NetworkGraph):
    """
    Neuron group name -> the current sources its update kernel computes itself (CUDA):
    sources that add into a receptor's input (PoissonDrive) for every neuron of one
    population, where no other source adds to that receptor. Each saves a kernel per step
    and a round trip through the ring buffer; the values, their random numbers and the
    sums are those of the source's own kernel (input of earlier spikes, then the drive).
    """
    into = Counter((c.target.name, c.receptor) for c in graph.current_sources
                   if c.receptor and c.n_targets > 0)
    fused = {}
    for source in graph.current_sources:
        # targets are distinct and sorted, so all of them means neurons 0, 1, ..., size - 1
        if (source.receptor and source.n_targets == source.target.size
                and into[(source.target.name, source.receptor)] == 1):
            fused.setdefault(source.target.name, []).append(source)
    return fused


def drive_fields(j, source) -> List[Field]:
    """Fields of fused source j in its neuron group's struct, prefixed d{j}_."""
    return [Field(f"d{j}_{f.name}", f.ctype, f.is_array) for f in current_source_fields(source)
            if f.name not in ("targets", "destination", "first", "n_targets", "target_size")]


def _drive_key(source):
    return (source.model.name, source.model.code, source.receptor)


def neuron_fields(group, drives=()) -> Tuple[Field, ...]:
    m = group.model
    fields = [Field(p, "scalar") for p in m.params + m.derived]
    fields += [Field(p, "int64_t") for p in m.int_derived]
    fields += [Field(s.name, s.ctype) for s in m.state]
    fields += [Field(t, "int64_t") for t in m.tables]
    fields += [Field(f"in_{r}", "scalar") for r in group.receptors]
    fields += [Field("i_inj", "scalar"), Field("spikes", "uint32_t"),
               Field("rec_spikes", "uint32_t"), Field("spike_history", "uint32_t"),
               Field("spike_count", "int32_t"), Field("spike_list", "int32_t")]
    fields += [Field(v, "int64_t", is_array=False)
               for v in ("first", "size", "rng_key", "word_lo", "word_hi")]
    for j, source in enumerate(drives):
        fields += drive_fields(j, source)
    return tuple(fields)


PROCEDURAL_INTS = ("conn_seed", "conn_key", "wseed", "wkey", "dseed", "dkey", "all",
                   "skip_self", "wk", "dk")
PROCEDURAL_DOUBLES = ("log1m_p", "wa", "wb", "wl", "wh", "da", "db", "dl", "dh")


def procedural_values(spec):
    """The parameters the procedural kernels read, by field name."""
    w, d = spec.weight, spec.delay
    return {"conn_seed": spec.seed, "conn_key": spec.key, "wseed": w.seed, "wkey": w.key,
            "dseed": d.seed, "dkey": d.key, "all": int(spec.connects_all),
            "skip_self": int(spec.skip_self), "wk": w.code, "dk": d.code,
            "log1m_p": spec.log1m_p, "wa": w.a, "wb": w.b, "wl": w.low, "wh": w.high,
            "da": d.a, "db": d.b, "dl": d.low, "dh": d.high}


def synapse_fields(group) -> Tuple[Field, ...]:
    m = group.model
    if group.is_procedural:
        return tuple([Field("pre_spike_count", "int32_t"), Field("pre_spike_list", "int32_t"),
                      Field("post_in", "scalar")]
                     + [Field(v, "int64_t", is_array=False)
                        for v in ("first", "pre_size", "post_size", "width", "lanes",
                                  "post_word_lo", "post_word_hi")
                        + PROCEDURAL_INTS]
                     + [Field(v, "double", is_array=False) for v in PROCEDURAL_DOUBLES])
    if group.format == "dense":
        fields = [Field("dense_weight", "scalar"), Field("dense_delay", "delay_t")]
    elif group.format == "bitmask":
        fields = [Field("mask", "uint32_t"), Field("weight", "scalar"), Field("delay", "delay_t")]
    else:
        fields = [Field("row_ptr", "int64_t"), Field("post", group.post_ctype),
                  Field("weight", "scalar"), Field("delay", "delay_t")]
    fields += [Field(p, "scalar") for p in m.params]
    fields += [Field(v.name, v.ctype) for v in m.state]
    if m.needs_tau_psc:
        fields.append(Field("tau_psc", "scalar"))
    if m.needs_last_spike:
        fields.append(Field("last_spike", "int64_t"))
    if m.uses_rng:
        fields.append(Field("pair_ordinal", "uint16_t"))
    fields += [Field("pre_spike_count", "int32_t"), Field("pre_spike_list", "int32_t"),
               Field("pre_spikes", "uint32_t"), Field("post_in", "scalar")]
    fields += [Field(v, "int64_t", is_array=False)
               for v in ("first", "pre_size", "post_size", "rng_key", "width", "lanes")]
    return tuple(fields)


def current_source_fields(source) -> Tuple[Field, ...]:
    m = source.model
    fields = [Field(p, "scalar") for p in m.params + m.tables]
    fields += [Field(p, "int64_t") for p in m.int_params + m.int_tables]
    fields += [Field(p, "double") for p in m.double_params]
    fields += [Field("targets", "int32_t"), Field("record", "int64_t"), Field("rec", "scalar"),
               Field("destination", "scalar")]
    fields += [Field(v, "int64_t", is_array=False)
               for v in ("first", "n_targets", "target_size", "rng_stream")]
    return tuple(fields)


def _neuron_key(group):
    m = group.model
    return (m.name, m.update, m.threshold, m.reset, m.params, m.derived, m.int_derived,
            m.state, m.tables, m.uses_rng, tuple(group.receptors), group.shared)


def _synapse_key(group, strategy):
    m = group.model
    return (m.name, m.on_pre, m.params, m.state, m.needs_tau_psc, m.needs_last_spike,
            m.uses_rng, m.changes_weight, group.shared_params, group.shared_values,
            group.post_ctype, strategy)


def _table_row(group, fields, values, arrays):
    """A group's row of its struct table: `values` for value fields; for array fields the
    array named in `arrays`, else the group's own array of the field's name."""
    return [arrays.get(f.name, f"{group.name}_{f.name}") if f.is_array else values[f.name]
            for f in fields]


def _merge(groups, key, fields_of, row_of, threads_of, role, prefix, strategy_of=None,
           drives_of=None):
    merged = {}
    for group in groups:
        merged.setdefault(key(group), []).append(group)
    result = []
    for index, members in enumerate(merged.values()):
        fields = fields_of(members[0])
        firsts, rows, first = [], [], 0
        for member in members:
            firsts.append(first)
            rows.append(row_of(member, fields, first))
            first += _padded(threads_of(member))
        result.append(MergedGroup(name=f"{prefix}{index}", role=role, members=members,
                                  fields=fields, rows=rows, firsts=firsts,
                                  total_threads=first,
                                  strategy=strategy_of(members[0]) if strategy_of else "",
                                  drives=tuple(drives_of(members[0])) if drives_of else ()))
    return result


def merge_neuron_groups(graph: NetworkGraph, fused=None) -> List[MergedGroup]:
    """`fused`: fused_drives(graph), where the kernels compute those current sources."""
    fused = fused or {}

    def drives(group):
        return fused.get(group.name, [])

    def row(group, fields, first):
        optional = {"i_inj": group.has_current_input, "rec_spikes": group.record_spikes,
                    "spike_history": group.keeps_spike_history}
        word_lo, word_hi = group.words
        values = {"first": first, "size": group.size, "rng_key": group.rng_key,
                  "word_lo": word_lo, "word_hi": word_hi}
        names = {}
        for j, source in enumerate(drives(group)):
            values[f"d{j}_rng_stream"] = source_rng_stream(source)
            names.update({f"d{j}_{f.name}": f"{source.name}_{f.name}"
                          for f in current_source_fields(source) if f.is_array})
        def pointer(f):     # the array a field points to, or None (a null pointer)
            if not optional.get(f.name, True):
                return None
            return names.get(f.name, f"{group.name}_{f.name}")

        return [pointer(f) if f.is_array else values[f.name] for f in fields]

    def key(group):
        return _neuron_key(group) + tuple(_drive_key(s) for s in drives(group))

    return _merge(graph.neuron_groups, key, lambda g: neuron_fields(g, drives(g)), row,
                  local_threads, "neuron", "mng", drives_of=drives)


def local_threads(group):
    """Threads of a neuron group's update: one per neuron of its words [word_lo, word_hi)
    (all of them in one process; a process's share over several, pynn_gpu.distributed)."""
    word_lo, word_hi = group.words
    return max(0, min(32 * word_hi, group.size) - 32 * word_lo)


def source_rng_stream(source):
    """The random-number stream of an injection: its own range, apart from the neuron
    groups' and the synapse groups' keys."""
    return SOURCE_RNG_KEYS + int(source.name[2:])


def merge_current_sources(graph: NetworkGraph, fused=None) -> List[MergedGroup]:
    """Injections of one electrode model share a kernel: one thread per target neuron.
    Sources in `fused` (fused_drives) are left to their population's kernel."""
    fused_names = {s.name for sources in (fused or {}).values() for s in sources}
    sources = [c for c in graph.current_sources if c.n_targets > 0 and c.name not in fused_names]

    def row(source, fields, first):
        values = {"first": first, "n_targets": source.n_targets,
                  "target_size": source.target.size,
                  "rng_stream": source_rng_stream(source)}
        destination = (f"{source.target.name}_in_{source.receptor}" if source.receptor
                       else f"{source.target.name}_i_inj")
        return [values[f.name] if not f.is_array
                else destination if f.name == "destination" else f"{source.name}_{f.name}"
                for f in fields]

    return _merge(sources, lambda c: (c.model.name, c.model.code, bool(c.receptor)),
                  current_source_fields, row,
                  lambda c: c.n_targets, "current", "mcs")


def merge_synapse_groups(graph: NetworkGraph, plan, include_procedural=True) -> List[MergedGroup]:
    """`plan`: synapse group name -> planner.Propagation."""
    # delivering groups' spikes go through merge_delivery_groups' kernels instead
    groups = [s for s in graph.synapse_groups
              if (s.n_synapses > 0 or s.is_procedural) and not s.delivers]
    if not include_procedural:
        groups = [s for s in groups if not s.is_procedural]

    def row(group, fields, first):
        # over several processes: the combined spikes of the step lag steps ago
        delayed = group.pre.exchanges_spikes
        arrays = {"pre_spike_count": f"{group.pre.name}_{'delayed' if delayed else 'spike'}_count",
                  "pre_spike_list": f"{group.pre.name}_{'delayed' if delayed else 'spike'}_list",
                  "pre_spikes": f"{group.pre.name}_{'delayed' if delayed else 'spikes'}",
                  "post_in": f"{group.post.name}_in_{group.receptor}"}
        propagation = plan[group.name]
        values = {"first": first, "pre_size": group.pre.size, "post_size": group.post.size,
                  "rng_key": group.rng_key, "width": propagation.width,
                  "lanes": propagation.lanes}
        if group.is_procedural:
            values.update(procedural_values(group.procedural))
            # chunks of 32 postsynaptic neurons = words: all, or this process's
            values["post_word_lo"], values["post_word_hi"] = group.post.words
        return _table_row(group, fields, values, arrays)

    def code(group):
        return kernel_code(plan[group.name], group.model)

    # "balanced" kernels: every thread adds up the work of all their groups, so at most
    # BALANCED_MAX_GROUPS groups each; and at most BALANCED_THREADS threads, which take
    # the step's work in turns (pynn_gpu.planner)
    batch, seen = {}, Counter()
    for group in groups:
        if plan[group.name].strategy == "balanced":
            key = _synapse_key(group, code(group))
            batch[group.name] = seen[key] // planner.BALANCED_MAX_GROUPS
            seen[key] += 1
    merged = _merge(groups, lambda g: _synapse_key(g, code(g)) + (batch.get(g.name, 0),),
                    synapse_fields, row, lambda g: plan[g.name].threads, "synapse", "msg",
                    strategy_of=code)
    for m in merged:
        if plan[m.first.name].strategy == "balanced":
            m.total_threads = min(m.total_threads, planner.BALANCED_THREADS)
    return merged


def _plastic_fields(group):
    m = group.model
    return ([Field("weight", "scalar"), Field("delay", "delay_t"), Field("dendritic", "delay_t")]
            + [Field(p, "scalar") for p in m.params]
            + [Field(v.name, v.ctype) for v in m.state])


def _dendritic_array(group):
    """The dendritic part of each delay: all of it unless the group delivers."""
    return f"{group.name}_dendritic" if group.delivers else f"{group.name}_delay"


def _delays_before(group):
    """The arrays of the delays and dendritic parts before a change (SynapseGroup
    delays_since); without one, those in force."""
    if not group.delays_until:
        return {"delay_before": f"{group.name}_delay",
                "dendritic_before": _dendritic_array(group)}
    return {"delay_before": f"{group.name}_delay_before",
            "dendritic_before": (f"{group.name}_dendritic_before" if group.delivers
                                 else f"{group.name}_delay_before")}


_DELAYS_BEFORE_FIELDS = [Field("delay_before", "delay_t"), Field("dendritic_before", "delay_t")]


def learning_fields(group) -> Tuple[Field, ...]:
    """A plastic synapse group's struct for its postsynaptic-spike kernel: the synapses by
    postsynaptic neuron (col_ptr, col_syn: positions in the rows) and the postsynaptic
    group's spikes of the last RING_LENGTH steps."""
    fields = [Field("col_ptr", "int64_t"), Field("col_syn", "int64_t")] + _plastic_fields(group)
    fields += [Field("post_history", "uint32_t")] + _DELAYS_BEFORE_FIELDS
    fields += [Field(v, "int64_t", is_array=False)
               for v in ("first", "post_size", "min_dendritic", "max_dendritic", "since_step",
                         "delays_sent_from", "delays_since", "delays_until")]
    return tuple(fields)


def delivery_fields(group) -> Tuple[Field, ...]:
    """A plastic synapse group's struct for its presynaptic-spike kernel when spikes reach
    its synapses after an axonal delay: the rows, the presynaptic group's spikes of the last
    RING_LENGTH steps, and the ring its input goes to."""
    fields = [Field("row_ptr", "int64_t"), Field("post", group.post_ctype)] + _plastic_fields(group)
    fields += [Field("pre_history", "uint32_t"), Field("post_in", "scalar")]
    fields += _DELAYS_BEFORE_FIELDS
    fields += [Field(v, "int64_t", is_array=False)
               for v in ("first", "pre_size", "post_size", "min_axonal", "max_axonal",
                         "since_step", "delays_sent_from", "delays_since", "delays_until")]
    return tuple(fields)


def _plastic_key(group, code):
    m = group.model
    return (m.name, code, m.params, m.state, group.shared_params, group.post_ctype)


def merge_learning_groups(graph: NetworkGraph) -> List[MergedGroup]:
    """Plastic synapse groups with the same model share a kernel that applies their
    postsynaptic spikes: on CUDA a warp per 32 postsynaptic neurons, whose lanes share out
    the column of each neuron that spiked (a thread per neuron in all)."""
    groups = [s for s in graph.synapse_groups if s.learns]

    def row(group, fields, first):
        values = {"first": first, "post_size": group.post.size,
                  "min_dendritic": group.min_dendritic, "max_dendritic": group.max_dendritic,
                  "since_step": group.since_step, "delays_sent_from": group.delays_sent_from,
                  "delays_since": group.delays_since,
                  "delays_until": group.delays_until}
        arrays = {"post_history": f"{group.post.name}_spike_history",
                  "dendritic": _dendritic_array(group), **_delays_before(group)}
        return _table_row(group, fields, values, arrays)

    def key(group):
        # over several processes, groups with an axonal delay learn unlagged, the others
        # lag steps late (pynn_gpu.distributed): not one kernel
        return _plastic_key(group, group.model.on_post) + (
            bool(graph.exchange_lag and group.delivers),)

    return _merge(groups, key, learning_fields, row, lambda g: g.post.size, "learning", "mlg")


def merge_delivery_groups(graph: NetworkGraph) -> List[MergedGroup]:
    """Plastic synapse groups whose presynaptic spikes arrive after an axonal delay share,
    by model, a kernel that hands those spikes over before the neuron update: on CUDA a warp
    per 32 presynaptic neurons, whose lanes share out the row of each neuron that spiked."""
    groups = [s for s in graph.synapse_groups if s.delivers]

    def row(group, fields, first):
        values = {"first": first, "pre_size": group.pre.size, "post_size": group.post.size,
                  "min_axonal": group.min_axonal, "max_axonal": group.max_axonal,
                  "since_step": group.since_step, "delays_sent_from": group.delays_sent_from,
                  "delays_since": group.delays_since,
                  "delays_until": group.delays_until}
        # over several processes: the combined spikes of all processes, by step
        history = "received" if group.pre.exchanges_spikes else "spike_history"
        arrays = {"pre_history": f"{group.pre.name}_{history}",
                  "post_in": f"{group.post.name}_in_{group.receptor}",
                  "dendritic": _dendritic_array(group), **_delays_before(group)}
        return _table_row(group, fields, values, arrays)

    return _merge(groups, lambda g: _plastic_key(g, g.model.on_pre), delivery_fields, row,
                  lambda g: g.pre.size, "delivery", "mdg")


GAP_JUNCTION_FIELDS = (
    Field("pre", "int32_t"), Field("post", "int32_t"), Field("weight", "scalar"),
    Field("pre_v", "scalar"), Field("post_v", "scalar"),
    Field("pre_i_inj", "scalar"), Field("post_i_inj", "scalar"),
    Field("first", "int64_t", is_array=False), Field("n_junctions", "int64_t", is_array=False))


def merge_gap_junctions(graph: NetworkGraph) -> List[MergedGroup]:
    """Gap junctions all run the same code: every projection's junctions share one kernel,
    one thread per junction."""
    groups = [j for j in graph.gap_junctions if j.n_junctions > 0]

    def row(group, fields, first):
        arrays = {"pre_v": f"{group.pre.name}_v", "post_v": f"{group.post.name}_v",
                  "pre_i_inj": f"{group.pre.name}_i_inj",
                  "post_i_inj": f"{group.post.name}_i_inj"}
        values = {"first": first, "n_junctions": group.n_junctions}
        return _table_row(group, fields, values, arrays)

    return _merge(groups, lambda j: "gap_junction", lambda j: GAP_JUNCTION_FIELDS, row,
                  lambda j: j.n_junctions, "gap_junction", "mgj")
