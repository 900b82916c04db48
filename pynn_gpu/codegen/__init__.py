"""
Code generation: network graph + model snippets + template files -> one translation unit.

The same graph and snippets serve both targets; only the templates differ
(kernels/c/*.j2 for the C target, kernels/cuda/*.j2 for CUDA). Templates are rendered with
StrictUndefined so that a missing name is an error, never an empty string in the code.
"""

import math
from dataclasses import dataclass, field
from typing import List

import jinja2

from .._paths import kernels_dir
from ..ctext import strip_comments
from ..ir.graph import SOURCE_RNG_KEYS, ArraySpec, NetworkGraph, comment_text
from ..ir.merge import (MergedGroup, fused_drives, merge_current_sources,
                        merge_delivery_groups, merge_gap_junctions, merge_learning_groups,
                        merge_neuron_groups, merge_synapse_groups)
from ..planner import Propagation, layout, plan_propagation

_SCALAR_OR_INT = {"int32_t": "int32_t", "scalar": "scalar"}


@dataclass(frozen=True)
class GeneratedCode:
    target: str
    source: str
    arrays: List[ArraySpec]
    # CUDA: the struct tables of the merged kernels (one row per group), in launch order
    tables: List[MergedGroup] = field(default_factory=list)

    @property
    def cache_text(self) -> str:
        """The source without comments, the text of the compile cache's key: labels in
        comments must not defeat the cache, and everything the compiler reads, a '/*'
        inside a snippet's string literal or '//' comment included, must be in the key."""
        return strip_comments(self.source)


def array_specs(graph: NetworkGraph) -> List[ArraySpec]:
    """Every array the kernels use, in pointer-table order. Same for every target."""
    specs = []
    delay = graph.delay_ctype

    def add(name, ctype, description):
        specs.append(ArraySpec(name, ctype, comment_text(description)))

    def once(name, shared):
        return ", one value for all" if name in shared else ""

    for g in graph.neuron_groups:
        m = g.model
        for p in m.params:
            add(f"{g.name}_{p}", "scalar", f"parameter {p}{once(p, g.shared)}")
        for d in m.derived:
            add(f"{g.name}_{d}", "scalar", f"derived constant {d}{once(d, g.shared)}")
        for d in m.int_derived:
            add(f"{g.name}_{d}", "int64_t", f"derived integer {d}{once(d, g.shared)}")
        for s in m.state:
            add(f"{g.name}_{s.name}", s.ctype, f"state variable {s.name}")
        for tname in m.tables:
            add(f"{g.name}_{tname}", "int64_t", f"table {tname}")
        for r in g.receptors:
            add(f"{g.name}_in_{r}", "scalar", f"ring buffer of input on receptor {r}")
        if g.has_current_input:
            add(f"{g.name}_i_inj", "scalar", "injected current of this step")
        add(f"{g.name}_spikes", "uint32_t", "spike bits of this step")
        add(f"{g.name}_spike_count", "int32_t", "spikes of this step, of the next (by parity)")
        add(f"{g.name}_spike_list", "int32_t", "neurons that spiked in this step")
        if g.record_spikes:
            add(f"{g.name}_rec_spikes", "uint32_t", "recorded spike bits, one row per step")
        if g.keeps_spike_history:
            add(f"{g.name}_spike_history", "uint32_t",
                "spike bits of the last RING_LENGTH steps, row step % RING_LENGTH")
        if g.exchanges_spikes:
            add(f"{g.name}_received", "uint32_t",
                "spike bits of all processes, row step % RING_LENGTH")
            add(f"{g.name}_delayed", "uint32_t", "spike bits of all processes, EXCHANGE_LAG steps ago")
            add(f"{g.name}_delayed_count", "int32_t", "spikes of all processes listed, by parity")
            add(f"{g.name}_delayed_list", "int32_t", "neurons of all processes that spiked then")
    for s in graph.synapse_groups:
        if s.is_procedural:
            continue        # nothing stored: the kernels regenerate the synapses
        if s.format == "dense":
            add(f"{s.name}_dense_weight", "scalar", "weight of each (pre, post) pair, 0: none")
            add(f"{s.name}_dense_delay", delay, "delay in steps of each (pre, post) pair")
            continue
        if s.format == "bitmask":
            add(f"{s.name}_mask", "uint32_t", "bit pre * n_post + post: connected")
            add(f"{s.name}_weight", "scalar", "the weight of every synapse")
            add(f"{s.name}_delay", delay, "the delay of every synapse, in steps")
            continue
        add(f"{s.name}_row_ptr", "int64_t", "first synapse of each presynaptic neuron")
        add(f"{s.name}_post", s.post_ctype, "postsynaptic neuron of each synapse")
        add(f"{s.name}_weight", "scalar", "weight of each synapse" + once("weight", s.shared_values))
        add(f"{s.name}_delay", delay,
            "delay of each synapse in steps" + once("delay", s.shared_values))
        for p in s.model.params:
            add(f"{s.name}_{p}", "scalar", f"synapse parameter {p}{once(p, s.shared_params)}")
        for v in s.model.state:
            add(f"{s.name}_{v.name}", v.ctype, f"synapse state variable {v.name}")
        if s.model.needs_tau_psc:
            add(f"{s.name}_tau_psc", "scalar", "postsynaptic time constant of each synapse")
        if s.model.needs_last_spike:
            add(f"{s.name}_last_spike", "int64_t", "last spike step of each presynaptic neuron")
        if s.model.uses_rng:
            add(f"{s.name}_pair_ordinal", "uint16_t",
                "ordinal of each synapse among those of its (pre, post) pair")
        if s.learns:
            add(f"{s.name}_col_ptr", "int64_t", "first entry of each postsynaptic neuron in col_syn")
            add(f"{s.name}_col_syn", "int64_t", "synapses (row positions) by postsynaptic neuron")
        if s.delivers:
            add(f"{s.name}_dendritic", delay, "dendritic part of each delay, in steps")
        if s.learns and s.delays_until:
            add(f"{s.name}_delay_before", delay, "each delay before they changed, in steps")
            if s.delivers:
                add(f"{s.name}_dendritic_before", delay,
                    "dendritic part of each delay before they changed, in steps")
    for j in graph.gap_junctions:
        add(f"{j.name}_pre", "int32_t", "presynaptic neuron of each gap junction")
        add(f"{j.name}_post", "int32_t", "postsynaptic neuron of each gap junction")
        add(f"{j.name}_weight", "scalar", "conductance of each gap junction (uS)")
    for c in graph.current_sources:
        m = c.model
        for p in m.params:
            add(f"{c.name}_{p}", "scalar", f"parameter {p}")
        for p in m.int_params:
            add(f"{c.name}_{p}", "int64_t", f"parameter {p}")
        for p in m.double_params:
            add(f"{c.name}_{p}", "double", f"parameter {p} (double in any precision)")
        for tname in m.tables:
            add(f"{c.name}_{tname}", "scalar", f"table {tname}")
        for tname in m.int_tables:
            add(f"{c.name}_{tname}", "int64_t", f"table {tname}")
        add(f"{c.name}_targets", "int32_t", "neurons receiving this current")
        add(f"{c.name}_record", "int64_t", "1: write the current of the first target to rec")
        add(f"{c.name}_rec", "scalar", "recorded current, one value per step of this run")
    for r in graph.samples:
        add(f"{r.name}_index", "int32_t", f"neurons whose {r.variable} is recorded")
        add(f"{r.name}_buffer", r.ctype, f"samples of {r.variable}, one row per sample")
        add(f"{r.name}_count", "int64_t", "number of rows written in this run")
        add(f"{r.name}_phase", "int64_t", "end steps of samples, modulo every: the start's")
    return specs


def c_double(value) -> str:
    """A C literal of a double, infinities included: Python's shortest exact form, which
    always reads as a double ("1.0", "-0.0", "1e-05"; never an integer like "-0", which C
    would read as +0.0)."""
    value = float(value)
    if math.isnan(value):
        raise ValueError("NaN cannot be placed in generated code")
    if math.isinf(value):
        return "HUGE_VAL" if value > 0 else "(-HUGE_VAL)"
    return repr(value)


def _environment():
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(kernels_dir())),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["c_double"] = c_double
    # model names in comments: checked identifiers, cleaned again so no name can end a comment
    environment.filters["comment"] = comment_text
    environment.globals["zip"] = zip
    environment.globals["SOURCE_RNG_KEYS"] = SOURCE_RNG_KEYS
    return environment


def _models(graph):
    seen = {}
    for g in graph.neuron_groups:
        seen.setdefault(g.model.name, g.model)
    return list(seen.values())


# The C target's propagation runs on several threads (each a share of the postsynaptic
# neurons) only for this many synapses or more in a function: a parallel region costs
# microseconds per step, more when another process competes for the cores.
PARALLEL_MIN_SYNAPSES = 1 << 20


def partitioned_propagation(merged):
    """Whether the C target's threads share out the postsynaptic neurons of a merged
    propagation function: its rows are sorted by postsynaptic neuron, and large."""
    members = merged.members
    work = sum(g.pre.size * g.post.size if g.format in ("dense", "bitmask") else g.n_synapses
               for g in members)
    return all(g.rows_sorted for g in members) and work >= PARALLEL_MIN_SYNAPSES


# A CUDA module has 64 KiB of __constant__ memory. The array pointers and the merged kernels'
# struct tables live there while they fit (a warp reading one address is served in one
# go); a network of several hundred projections needs more, and then they live in global
# memory under the same names (the L1 cache serves a warp's reads of one row alike).
CONSTANT_MEMORY_BYTES = 60 * 1024       # the rest left for the compiler's own constants


def lookup_memory(arrays, tables):
    """Where the CUDA source keeps array pointers and struct tables: "__constant__" or
    "__device__". Every pointer and every struct field takes 8 bytes."""
    needed = 8 * len(arrays) + sum(8 * len(m.fields) * len(m.members) for m in tables)
    return "__constant__" if needed <= CONSTANT_MEMORY_BYTES else "__device__"


def generate(graph: NetworkGraph, target: str) -> GeneratedCode:
    """Render the translation unit for `target` ("c" or "cuda")."""
    arrays = array_specs(graph)
    template = _environment().get_template(f"{target}/simulation.{'cu' if target == 'cuda' else 'c'}.j2")
    merged_neurons = merged_synapses = merged_sources = merged_gaps = []
    # plastic synapses: postsynaptic spikes, and presynaptic ones after an axonal delay
    merged_learners = merge_learning_groups(graph)
    merged_deliverers = merge_delivery_groups(graph)
    if target == "c":
        # the C target walks spike bits group by group: merge by code and format alone;
        # procedural groups keep one function each (their parameters are literals there)
        formats = {s.name: Propagation("post", 32, layout=layout(s))
                   for s in graph.synapse_groups}
        merged_neurons = merge_neuron_groups(graph)
        merged_synapses = merge_synapse_groups(graph, formats, include_procedural=False)
        for m in merged_synapses:
            m.partitioned = partitioned_propagation(m)
        for m in merged_learners:       # by column: no condition on the rows
            m.partitioned = sum(g.n_synapses for g in m.members) >= PARALLEL_MIN_SYNAPSES
    if target == "cuda":
        fused = fused_drives(graph)     # computed by the neuron kernels themselves
        merged_sources = merge_current_sources(graph, fused)
        merged_gaps = merge_gap_junctions(graph)
        merged_neurons = merge_neuron_groups(graph, fused)
        merged_synapses = merge_synapse_groups(graph, plan_propagation(graph))
    # CUDA: the kernels of a step in order, with their threads; the last ends the step
    # (over several processes, learning and propagation act on the step EXCHANGE_LAG ago,
    # before the update: see pynn_gpu.distributed)
    # (plastic groups with an axonal delay learn unlagged, after the update, as in one process)
    learning = [(f"learn_{m.name}", m.total_threads) for m in merged_learners
                if not (graph.exchange_lag and m.first.delivers)]
    unlagged_learning = [(f"learn_{m.name}", m.total_threads) for m in merged_learners
                         if graph.exchange_lag and m.first.delivers]
    propagation = [(f"propagate_{m.name}", m.total_threads) for m in merged_synapses]
    delayed_lists = [(f"list_delayed_{g.name}", g.size) for g in graph.neuron_groups
                     if g.exchanges_spikes]
    lagged = delayed_lists + learning + propagation if graph.exchange_lag else []
    launches = (lagged
                + [(f"inject_{m.name}", m.total_threads) for m in merged_sources]
                + [(f"couple_{m.name}", m.total_threads) for m in merged_gaps]
                + [(f"deliver_{m.name}", m.total_threads) for m in merged_deliverers]
                + [(f"update_{m.name}", m.total_threads) for m in merged_neurons]
                + unlagged_learning
                + ([] if graph.exchange_lag else learning + propagation)
                + [(f"sample_{r.name}", r.n_recorded) for r in graph.samples if r.n_recorded > 0])
    tables = (merged_sources + merged_gaps + merged_deliverers + merged_neurons
              + merged_learners + merged_synapses)
    source = template.render(
        graph=graph,
        lookup_memory=lookup_memory(arrays, tables),
        launches=launches,
        last_kernel=launches[-1][0] if launches else None,
        arrays=arrays,
        merged_neurons=merged_neurons,
        merged_synapses=merged_synapses,
        merged_learners=merged_learners,
        merged_deliverers=merged_deliverers,
        merged_sources=merged_sources,
        array_index={spec.name: i for i, spec in enumerate(arrays)},
        merged_gaps=merged_gaps,
        models=_models(graph),
        synapse_models=list({s.model.name: s.model for s in graph.synapse_groups}.values()),
        labels={g.name: comment_text(g.label) for g in graph.neuron_groups
                + graph.synapse_groups + graph.current_sources + graph.gap_junctions},
    )
    return GeneratedCode(target, source, arrays, tables)
