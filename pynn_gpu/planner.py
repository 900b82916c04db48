"""
Planning choices that depend on the shape of the network rather than on its models.

Spike propagation on the CUDA target reads the list of neurons that spiked in the step
(written by the neuron update). What one spike brings is `width` positions, by the
projection's layout: the synapses of its row (stored rows), the postsynaptic neurons
(dense matrix, bitmask), or chunks of 32 postsynaptic neurons whose synapses are
regenerated (procedural). Three strategies share that work out:

* "pre" (rows only): one thread per spike, which walks the whole row of that presynaptic
  neuron. Cheap when rows are one or two synapses long; a longer row is a chain of
  dependent memory reads in one thread.
* "post": a warp-aligned set of `width` threads per spike (thread j handles position j,
  and j + width, ... of rows wider than POST_MAX_WIDTH). The threads of a warp touch
  consecutive synapses or neurons, so the reads are coalesced and a row costs about one
  memory round trip. The spikes of a step are shared out over lanes (copies of the width
  threads: lane l takes spikes l, l + lanes, ...), so that a step with many spikes is not
  walked by one thread per position alone; short rows get more lanes, long rows fewer
  (POST_THREADS per group, at least SPIKE_LANES lanes; other layouts SPIKE_LANES).
* "balanced": the work of the step itself is shared out. A group's work is its spikes
  times its width (for rows, the longest row rounded up to a warp); the positions of all
  groups of the kernel, one group after the other, go to the kernel's threads in turn
  (thread t takes items t, t + threads, ...). "pre" and "post" launch threads for every
  spike a group could have (a whole wave or more where only a few spikes come per step,
  most threads finding nothing to do), and a fixed number of lanes for many spikes;
  "balanced" launches at most BALANCED_THREADS, and a step with few spikes keeps few of
  them busy, one with many keeps all of them. The price: every thread adds up the work of
  all the kernel's groups (at most BALANCED_MAX_GROUPS per kernel; more make another
  kernel) before it starts.

For rows of synapse models without per-presynaptic state "pre" and "post" are one kernel
code, with `width` 1 ("pre") or a multiple of 32 ("post") in the group's table row, so they
merge into one kernel. Heuristic: "pre" for rows whose mean holds fewer than
POST_MIN_MEAN_ROW synapses (one-to-one and similar); otherwise "post", or "balanced" from
BALANCED_FROM_PRE presynaptic neurons on; always "pre" for synapse models that keep
per-presynaptic-neuron state (the time of the last spike), which one thread per spike must
update. Why the threshold: "post" gives a group's lanes a fixed count, so its cost grows
with the spikes per step; on an H200 the Vogels-Abbott network (15 Hz) took 0.67, 2.55 and
9.59 s per simulated second at 64,000, 256,000 and 1,000,000 neurons (commit a318238),
linear in the size from 256,000 on, where each lane walks about 19 and 75 spikes per step
one after the other. At 10 Hz and dt 0.1 ms, BALANCED_FROM_PRE neurons bring 100 spikes a
step, 6 or more per lane. The populations of the measured microcircuit (at most 21,920
neurons) stay below it. (The threshold is reasoned from those figures; "balanced" itself is
not yet timed on a GPU.) `projection.propagation = "pre" | "post" | "balanced"` overrides
the choice ("pre" is "post" for layouts other than rows; models with per-presynaptic state
cannot have "post" or "balanced").
The C target walks rows one spike at a time and ignores the choice.
"""

from dataclasses import dataclass

import numpy as np
from pyNN import errors

from .ir.graph import delay_type, index_type

STRATEGIES = ("auto", "pre", "post", "balanced")
PROCEDURAL_CHUNK = 32       # postsynaptic neurons per thread (PG_PROC_CHUNK)
POST_MIN_MEAN_ROW = 2
SPIKE_LANES = 16            # "post" and procedural: spikes of a step shared over at least this many
POST_THREADS = 2048         # "post": lanes x width aims at this many threads per group
POST_MAX_WIDTH = 1024       # "post": longer rows are strided over this many threads
BALANCED_THREADS = 1 << 17  # "balanced": threads of a kernel, at most (an H200 holds 270,336)
BALANCED_MAX_GROUPS = 64    # "balanced": groups of one kernel, at most
BALANCED_FROM_PRE = 100_000  # "auto": "balanced" instead of "post" from this many presynaptic neurons


@dataclass(frozen=True)
class Propagation:
    """How one synapse group's spikes are propagated on the CUDA target. A spike's work is
    `width` positions: synapses of its row ("rows"), postsynaptic neurons ("dense",
    "bitmask") or chunks of 32 postsynaptic neurons ("procedural"). "pre" and "post": thread
    j of the group handles positions j % width, + width, ... for the spikes of lane
    j // width. "balanced": the positions of all spikes are items, taken in turns by the
    kernel's threads."""
    strategy: str           # "pre", "post" or "balanced"
    width: int              # "pre": 1; else a multiple of 32 (balanced: the whole row's)
    lanes: int = 1          # "balanced": the presynaptic neurons (threads = the most work)
    layout: str = "rows"    # "rows", "dense", "bitmask" or "procedural"

    @property
    def threads(self):
        return self.width * self.lanes


def _warps(n):
    return max(32, -(-n // 32) * 32)


def check_strategy(strategy, model):
    if strategy not in STRATEGIES:
        raise errors.InvalidParameterValueError(
            f"propagation must be one of {', '.join(STRATEGIES)} (got {strategy!r})")
    if strategy in ("post", "balanced") and model.needs_last_spike:
        raise errors.InvalidParameterValueError(
            f"propagation {strategy!r} is not available for {model.name} synapses, which keep the "
            "time of each presynaptic neuron's last spike: use 'pre' or 'auto'")
    return strategy


def layout(group):
    """What a spike's positions are: "rows", "dense", "bitmask" or "procedural"."""
    if group.is_procedural:
        return "procedural"
    return group.format if group.format in ("dense", "bitmask") else "rows"


def propagation_strategy(group):
    """'pre', 'post' or 'balanced' for a synapse group (see the module docstring). Only
    rows can be walked by a thread per spike: other layouts take "pre" as "post"."""
    if group.strategy != "auto":
        strategy = check_strategy(group.strategy, group.model)
        return "post" if strategy == "pre" and layout(group) != "rows" else strategy
    if group.model.needs_last_spike:
        return "pre"
    sources = group.pre_cells or group.pre.size     # a view's neurons, not its population's
    mean_row = group.n_synapses / max(sources, 1)
    if layout(group) == "rows" and mean_row < POST_MIN_MEAN_ROW:
        return "pre"
    return "balanced" if sources >= BALANCED_FROM_PRE else "post"


def _positions(group):
    """The layout of a spike's work and its positions, in whole warps."""
    kind = layout(group)
    if kind == "procedural":        # chunks of 32 postsynaptic neurons: its process's
        word_lo, word_hi = group.post.words
        return kind, _warps(word_hi - word_lo)
    if kind in ("dense", "bitmask"):
        return kind, _warps(group.post.size)
    return kind, _warps(max(group.max_row, 1))


def plan_propagation(graph):
    """Synapse group name -> Propagation."""
    plan = {}
    for group in graph.synapse_groups:
        strategy = propagation_strategy(group)
        kind, width = _positions(group)
        pre_size = max(group.pre.size, 1)
        if strategy == "pre":           # a thread per possible spike
            plan[group.name] = Propagation("pre", 1, _warps(group.pre.size))
        elif strategy == "balanced":    # threads: the most work a step can bring
            plan[group.name] = Propagation("balanced", width, pre_size, kind)
        elif kind == "rows":            # wide rows strided, short ones with more lanes
            width = min(width, POST_MAX_WIDTH)
            lanes = min(max(SPIKE_LANES, POST_THREADS // width), pre_size)
            plan[group.name] = Propagation("post", width, lanes)
        else:
            plan[group.name] = Propagation("post", width, min(SPIKE_LANES, pre_size), kind)
    return plan


def kernel_code(propagation, model):
    """Which propagation code a group runs: groups with equal codes (and models) share a
    kernel. The layout, with "+balanced" for that strategy; "pre" and "post" rows are one
    code ("rows") unless the model keeps per-presynaptic state ("pre": only a thread per
    spike may update it)."""
    if propagation.strategy == "balanced":
        return propagation.layout + "+balanced"
    if propagation.layout == "rows" and model.needs_last_spike:
        return "pre"
    return propagation.layout


# --- connectivity formats ---------------------------------------------------------------------

FORMATS = ("auto", "ragged", "dense", "bitmask", "procedural")
STORED_FORMATS = ("ragged", "dense", "bitmask")
PROCEDURAL_ABOVE_BYTES = 1 << 30
"""With connectivity_format="auto", a projection that qualifies for procedural connectivity
(see pynn_gpu.procedural) is generated rather than stored when its stored rows would take more
than this (ragged_bytes_per_synapse: 11 bytes per synapse in double with two-byte indices and
one-byte delays, 7 in float; the index alone with one weight and one delay): above it,
construction time and device memory dominate, and regenerating a row per spike costs less
than fetching it."""


def ragged_bytes_per_synapse(precision, post_size, longest_delay_steps, values_once=False):
    """Bytes of a stored row's synapse: the postsynaptic index (ir.graph.index_type), and
    unless the weight and the delay are stored once for the projection, the weight
    (double or float) and the delay (ir.graph.delay_type, for a ring that holds this
    projection's longest delay; a longer delay elsewhere can only widen it)."""
    index_bytes = np.dtype(index_type(post_size)[1]).itemsize
    if values_once:
        return index_bytes
    weight_bytes = 8 if precision == "double" else 4
    delay_bytes = np.dtype(delay_type(longest_delay_steps + 1)[1]).itemsize
    return index_bytes + weight_bytes + delay_bytes


def check_format(name, synapse_model=None, synapse_type="synapse type"):
    """`name` if it is a format, and one the synapse model can have where it is given (the
    matrix formats hold static synapses only; what the synapses themselves allow, one per
    pair or one weight, stored_format decides when the network is built)."""
    if name not in FORMATS:
        raise errors.InvalidParameterValueError(
            f"connectivity_format must be one of {', '.join(FORMATS)} (got {name!r})")
    if name in ("dense", "bitmask") and synapse_model is not None and not synapse_model.is_static:
        raise errors.ConnectionError(
            f"connectivity_format={name!r} holds static synapses only; a {synapse_type} keeps "
            "parameters or state per synapse (use 'ragged' or 'auto')")
    return name


def prefers_procedural(expected_synapses, bytes_per_synapse):
    """Whether "auto" generates a projection per spike rather than storing its rows, of
    `bytes_per_synapse` each (ragged_bytes_per_synapse)."""
    return expected_synapses * bytes_per_synapse > PROCEDURAL_ABOVE_BYTES


# Stored formats, chosen when the network is built (the engine knows the synapses then):
#   ragged   rows of (post index, weight, delay) per presynaptic neuron: any connectivity;
#            ragged_bytes_per_synapse bytes per synapse, or the post index alone when the
#            weight and the delay are stored once (synapse_building.uniform_values).
#   dense    an n_pre x n_post matrix of weights and one of delays (9 bytes per pair in
#            double, 5 in float, with one-byte delays, connected or not); one thread per
#            postsynaptic neuron, no row walking. Static synapses, at most one per pair.
#   bitmask  one bit per pair, with one weight and one delay for the whole projection
#            (1/8 byte per pair). Static synapses, at most one per pair, all weights equal
#            and all delays equal.
# "auto" takes bitmask from density BITMASK_MIN_DENSITY on (it then holds fewer bytes than
# ragged and its work per spike, n_post bit tests, is at most 1/density times ragged's) and
# dense from DENSE_MIN_DENSITY on; ragged otherwise.
BITMASK_MIN_DENSITY = 0.1
DENSE_MIN_DENSITY = 0.5
#
# Generated projections (pynn_gpu.procedural, fixed_number, distance_probability,
# pattern_connectors) get the same choice, from what their spec knows before anything is
# drawn: the expected count, one synapse per pair or not, and uniformity (constant weight
# and delay). On the CUDA target the device fills the chosen format itself, whatever the
# generator (synapse_building.device_formats; a dense matrix or bitmask straight from the
# FixedProbability generator, which AllToAll and OneToOne use, where it can, else scattered
# from rows drawn first: targets.cuda_generation). So an AllToAll projection (density 1) with one weight and delay is a
# bitmask, filled on the device by a thread per 32-bit word, and with drawn values a dense
# matrix, filled by a thread per row. "auto" keeps the bitmask rather than "procedural" for
# it, though procedural needs no storage and no construction: per spike, the bitmask's
# threads (one per postsynaptic neuron) add into consecutive ring entries, where a
# procedural thread walks a chunk of 32 neurons (32 apart between the threads of a warp, and
# 32 times fewer threads); at pairs / 8 bytes the mask is cheap to hold. Above
# PROCEDURAL_ABOVE_BYTES of rows an AllToAll is procedural like any FixedProbability
# projection (the C target would otherwise generate all of it on the host to store it).
# OneToOne is never procedural (the procedural kernels walk whole rows of chunks): it is
# stored as rows of one synapse, or for a handful of neurons as a bitmask or dense matrix.
# (These per-spike costs are reasoned from the kernels' memory access, not measured on a GPU.)


@dataclass(frozen=True)
class Connectivity:
    """What the engine knows of a projection part's synapses when it chooses a format."""
    n_pre: int
    n_post: int
    n_synapses: int
    static: bool
    one_per_pair: bool
    uniform: bool               # all weights equal and all delays equal

    @property
    def density(self):
        return self.n_synapses / max(self.n_pre * self.n_post, 1)


def stored_format(requested, connectivity, label="projection"):
    """The stored format of a projection part: the requested one if it can hold these
    synapses (else an error saying why), or the planner's choice for "auto"."""
    c = connectivity
    reasons = {
        "dense": None if c.static and c.one_per_pair else
        "it needs static synapses and at most one synapse per (pre, post) pair",
        "bitmask": None if c.static and c.one_per_pair and c.uniform else
        "it needs static synapses, at most one per pair, and one weight and one delay",
    }
    if requested in ("dense", "bitmask"):
        if reasons[requested] is not None:
            raise errors.ConnectionError(
                f"{label}: connectivity_format={requested!r} is not possible: "
                f"{reasons[requested]}")
        return requested
    if requested == "ragged":
        return "ragged"
    if reasons["bitmask"] is None and c.density >= BITMASK_MIN_DENSITY:
        return "bitmask"
    if reasons["dense"] is None and c.density >= DENSE_MIN_DENSITY:
        return "dense"
    return "ragged"
