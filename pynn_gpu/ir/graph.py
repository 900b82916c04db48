"""
Graph dataclasses: neuron groups, synapse groups, gap junctions, current sources and record
requests.

Nothing here holds code or device handles. Names (`ng0`, `sg3`, ...) are generated from
positions, never from user labels, so they are always safe C identifiers; labels appear
in generated code only inside comments, after `comment_text` has cleaned them.
"""

import re
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import numpy as np

from ..modeldef import CurrentSourceDef, NeuronModelDef, SynapseModelDef

# Keys of the generator's streams at run time, a range for each kind of group, so that no
# two groups draw the same numbers: neuron groups 0, 1, ...; synapse groups from
# SYNAPSE_RNG_KEYS; current-source injections (PoissonDrive, noise) from SOURCE_RNG_KEYS
SYNAPSE_RNG_KEYS = 0x80000000
SOURCE_RNG_KEYS = 0xC0000000

STATIC = SynapseModelDef("static")


def comment_text(text) -> str:
    """Make any user text safe to place inside a C block comment."""
    cleaned = re.sub(r"[^A-Za-z0-9 _.,:;+\-=()\[\]]", "?", str(text))
    return cleaned[:80]


@dataclass(frozen=True)
class ArraySpec:
    """One array the kernels use, in the order of the pointer table."""
    name: str          # C identifier, e.g. ng0_v
    ctype: str         # scalar, int32_t, int64_t, uint32_t
    description: str   # comment text


@dataclass
class NeuronGroup:
    name: str
    label: str
    size: int
    model: NeuronModelDef
    receptors: Tuple[str, ...]
    rng_key: int
    has_current_input: bool = False
    record_spikes: bool = False
    keeps_spike_history: bool = False   # plastic synapses read its spikes of earlier steps
    # runs over several processes (see pynn_gpu.distributed): the 32-neuron words this
    # process updates (None: all), and whether its spikes are combined over processes
    local_words: Optional[Tuple[int, int]] = None
    exchanges_spikes: bool = False
    # parameters and derived constants with one value for every neuron: stored once (an
    # array of one element), not per neuron
    shared: Tuple[str, ...] = ()

    @property
    def n_words(self) -> int:
        return (self.size + 31) // 32

    @property
    def words(self) -> Tuple[int, int]:
        """The words [first, end) this process updates: all, or its share."""
        return self.local_words or (0, self.n_words)


@dataclass
class SynapseGroup:
    name: str
    label: str
    pre: NeuronGroup
    post: NeuronGroup
    receptor: str
    n_synapses: int
    model: SynapseModelDef = STATIC
    rng_key: int = 0
    max_row: int = 0           # most synapses of one presynaptic neuron
    pre_cells: int = 0         # the presynaptic neurons it draws from (a view's); 0: all of pre
    strategy: str = "auto"     # propagation on the CUDA target: "auto", "pre", "post", "balanced"
    procedural: object = None  # ProceduralSpec: synapses regenerated, not stored
    format: str = "ragged"     # "ragged", "dense", "bitmask" or "procedural"
    # model parameters with one value for every synapse of the group: stored once (an array
    # of one element), not per synapse
    shared_params: Tuple[str, ...] = ()
    # of "weight" and "delay", those with one value for every synapse of the group: stored
    # once too (pynn_gpu.synapse_building.uniform_values says when they may be)
    shared_values: Tuple[str, ...] = ()
    # the type of the stored postsynaptic indices of rows (index_type of the postsynaptic
    # group's size where the rows' builder can write it)
    post_ctype: str = "int32_t"
    # every row lists its synapses by increasing postsynaptic neuron (the C target's threads
    # then share out the postsynaptic neurons)
    rows_sorted: bool = False
    # plastic groups: the share of each delay a postsynaptic spike takes to reach the
    # synapse (1: all of it, NEST's convention); the rest, at least a step when it is not
    # 1, a presynaptic spike takes; and the shortest and longest of each part (steps), the
    # windows of spikes that can meet a synapse in a step
    dendritic_fraction: float = 1.0
    min_dendritic: int = 1
    max_dendritic: int = 1
    min_axonal: int = 0
    max_axonal: int = 0
    # the first step whose spikes reach the synapses (the projection's creation): plastic
    # groups read spikes of earlier steps from histories, which must leave those out
    since_step: int = 0
    # plastic groups whose delays changed after a run: a spike sent from step
    # `delays_sent_from` to `delays_since` meets its synapse with the delays in force then
    # (arrays <name>_delay_before, and <name>_dendritic_before where the group delivers;
    # earlier ones have all arrived); from step `delays_until` on, no such spike is left.
    # 0, 0 and 0: no change
    delays_sent_from: int = 0
    delays_since: int = 0
    delays_until: int = 0

    @property
    def is_procedural(self) -> bool:
        return self.procedural is not None

    @property
    def learns(self) -> bool:
        """Postsynaptic spikes act on these synapses (plasticity)."""
        return self.model.learns_from_post and self.n_synapses > 0

    @property
    def delivers(self) -> bool:
        """Presynaptic spikes reach these synapses after an axonal part of the delay: a
        delivery kernel hands them over before the neuron update, not at emission."""
        return self.learns and self.dendritic_fraction < 1


@dataclass
class GapJunctionGroup:
    """Gap junctions of one projection between two neuron groups: each couples neuron
    pre[k] of `pre` and post[k] of `post` both ways (see pynn_gpu.gap_junctions)."""
    name: str
    label: str
    pre: NeuronGroup
    post: NeuronGroup
    n_junctions: int


@dataclass
class CurrentSourceGroup:
    name: str
    label: str
    model: CurrentSourceDef
    target: NeuronGroup
    n_targets: int
    receptor: str = ""         # into_receptor models: the receptor whose input they add to


@dataclass
class SampleRequest:
    name: str
    group: NeuronGroup
    variable: str
    ctype: str
    every: int          # record every `every` steps from the recording's start
    n_recorded: int


@dataclass
class NetworkGraph:
    dt: float
    precision: str
    ring_length: int
    neuron_groups: List[NeuronGroup] = field(default_factory=list)
    synapse_groups: List[SynapseGroup] = field(default_factory=list)
    current_sources: List[CurrentSourceGroup] = field(default_factory=list)
    gap_junctions: List[GapJunctionGroup] = field(default_factory=list)
    samples: List[SampleRequest] = field(default_factory=list)
    # over several processes: steps between combining spikes, and the propagation's lag
    # (0: one process, spikes propagated in the step they happen)
    exchange_lag: int = 0
    exchange_every: int = 0     # steps between exchanges: lag, or 1 with gap junctions

    @property
    def scalar(self) -> str:
        return "double" if self.precision == "double" else "float"

    @property
    def delay_ctype(self) -> str:
        """The type of the stored delays (steps, each shorter than the ring)."""
        return delay_type(self.ring_length)[0]

    @property
    def delay_dtype(self) -> np.dtype:
        return np.dtype(delay_type(self.ring_length)[1])


def index_type(size):
    """(C type, numpy type) of indices of neurons of a group of `size`: two bytes up to
    65,536 neurons, four beyond."""
    if size <= 1 << 16:
        return "uint16_t", np.uint16
    return "int32_t", np.int32


def delay_type(ring_length):
    """(C type, numpy type) of the stored delays of synapses in a ring of `ring_length`
    slots: the narrowest that holds every delay shorter than the ring (one byte up to 256
    slots, 25.5 ms at dt = 0.1 ms)."""
    if ring_length <= 1 << 8:
        return "uint8_t", np.uint8
    if ring_length <= 1 << 16:
        return "uint16_t", np.uint16
    return "int32_t", np.int32
