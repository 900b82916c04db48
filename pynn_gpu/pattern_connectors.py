"""
AllToAllConnector and OneToOneConnector as generated projections (see pynn_gpu.procedural):
their pairs follow a fixed pattern, so only the weights and delays could need random numbers,
and with constant values or RandomDistributions drawn from a NativeRNG the whole projection
is a spec that the target builds -- on the device when it is CUDA, in parallel C otherwise,
on the host only when a script asks for the synapses.

  * AllToAll is FixedProbability with p = 1: the same generator (a ProceduralSpec with
    connects_all), so it can also be "procedural" (regenerated per spike, never stored).
    allow_self_connections=False, when pre is post, skips the pairs (i, i) (PyNN's rule for
    whole Populations); 'NoMutual' is left to the host builder.
  * OneToOne: row i holds the pair (i, i) only (none for i beyond the smaller side); its weight and delay draw from counter
    (pre i, the chunk of 32 holding i), as FixedProbability's synapse (i, i) would. Stored
    only: a row of one synapse costs less to fetch than to regenerate.

The target holds them row by row (by presynaptic neuron, each row ordered by post); a
script that asks for them gets them in PyNN's creation order (by postsynaptic neuron, then
presynaptic), as PyNN's own AllToAllConnector lists them. No random number decides a pair;
a drawn weight or delay comes from the NativeRNG its distribution draws from (a stream of its
own, procedural.with_value_streams). A projection with NumpyRNG values is built on the host by
pynn_gpu.connectivity, with PyNN's own draws.
"""

from dataclasses import dataclass

import numpy as np
from pyNN import connectors

from . import hosttools
from .procedural import KEY_BASE, ProceduralSpec, synapse_values

CONNECTORS = (connectors.AllToAllConnector, connectors.OneToOneConnector)


@dataclass(frozen=True)
class AllToAllSpec(ProceduralSpec):
    """FixedProbability's generator with p = 1."""

    def generate(self, n_pre, n_post, dt, post_range=None):
        """(pre, post, weights, delay steps) of every synapse, generated on the host, in
        PyNN's creation order: by post, then pre (the rows regrouped by a counting sort)."""
        pre, post, weights, delays = super().generate(n_pre, n_post, dt, post_range)
        order = hosttools.stable_order(post, n_post)
        return tuple(hosttools.gather(values, order, values.dtype)
                     for values in (pre, post, weights, delays))


@dataclass(frozen=True)
class OneToOneSpec(ProceduralSpec):
    """Row i holds (i, i) only; p is 1 and skip_self False (PyNN connects (i, i) even when
    pre is post)."""
    regenerable = False
    one_to_one = True

    def expected_synapses(self, n_pre, n_post):
        return min(n_pre, n_post)


def host_bitmask(spec, n_pre, n_post):
    """(synapses per row, bitmask) of an AllToAll or OneToOne spec, filled with numpy
    (the C target's counterpart of the CUDA target's fill_mask): bit b of word w is pair
    32 w + b = pre * n_post + post."""
    pairs = n_pre * n_post
    words = -(-pairs // 32)
    diagonal = np.arange(min(n_pre, n_post), dtype=np.int64) * (n_post + 1)
    if spec.one_to_one:
        mask = np.zeros(words, np.uint32)
        np.bitwise_or.at(mask, diagonal >> 5, (np.uint32(1) << (diagonal & 31).astype(np.uint32)))
        return np.ones(n_pre, np.int64) * (np.arange(n_pre) < n_post), mask
    mask = np.full(words, 0xFFFFFFFF, np.uint32)
    if pairs % 32:
        mask[-1] = np.uint32((1 << (pairs % 32)) - 1)
    counts = np.full(n_pre, n_post, np.int64)
    if spec.skip_self:
        np.bitwise_and.at(mask, diagonal >> 5,
                          ~(np.uint32(1) << (diagonal & 31).astype(np.uint32)))
        counts[:len(diagonal)] -= 1
    return counts, mask


def constant_values(spec, dt, scalar_dtype, delay_dtype):
    """The one weight and delay (in steps) of a spec whose weight and delay are constants,
    as a bitmask (or rows storing them once) hold them: the delay rounded as
    pg_proc_delay_steps rounds it."""
    steps = max(1, int(np.rint(spec.delay.a / dt)))
    return {"weight": np.array([spec.weight.a], scalar_dtype),
            "delay": np.array([steps], delay_dtype)}


def all_to_all_spec(projection, connector, state):
    """AllToAllSpec (p = 1) of a projection, or a reason (str) why it is built on the host."""
    values = synapse_values(projection, connector, state)
    if isinstance(values, str):
        return values
    weight, delay = values
    skip_self = projection.pre is projection.post and connector.allow_self_connections is False
    return AllToAllSpec(p=1.0, seed=0, key=KEY_BASE, skip_self=skip_self, weight=weight,
                        delay=delay)


def spec_for(projection, connector, state):
    """OneToOneSpec of a projection, or a reason (str) why it is built otherwise (AllToAll
    comes through procedural.spec_for, which can make it procedural)."""
    if type(connector) is not connectors.OneToOneConnector:
        return f"its connector is a {type(connector).__name__}"
    values = synapse_values(projection, connector, state)
    if isinstance(values, str):
        return values
    weight, delay = values
    return OneToOneSpec(p=1.0, seed=0, key=KEY_BASE, skip_self=False, weight=weight,
                        delay=delay)
