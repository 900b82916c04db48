"""
Random connectivity with the backend's own generator: fast, with the right statistics.

PyNN's own connector code scans the whole N_pre x N_post matrix (one uniform number per
potential pair), which is what makes a seeded NumpyRNG give the same network in every
backend. When no such reproduction is asked for -- a NativeRNG, or a NumpyRNG without a
seed, whose numbers nobody can reproduce anyway -- the builders here draw only what the
connectivity needs:

* FixedProbability: the gaps between successive connections in the flattened
  (pre-major) matrix are geometric with parameter p, so the connections are the partial
  sums of geometric draws: O(number of synapses), not O(N_pre * N_post).
* FixedNumberPre / FixedNumberPost: n distinct partners per neuron, drawn with
  replacement in excess and de-duplicated row by row, keeping the first occurrences (a
  uniform sample without replacement).
* FixedTotalNumber: the pairs are drawn uniformly (with replacement) or as distinct flat
  indices (without).

Connections come out sorted by presynaptic index where that is free (the order spike
propagation wants), else in PyNN's order (by postsynaptic index).

A pyNN.gpu NativeRNG between whole Populations usually takes the counter-based generator
instead (pynn_gpu.procedural for FixedProbability, pynn_gpu.fixed_number for the others),
which draws in parallel C or on the device; these builders serve the cases it does not
(an unseeded NumpyRNG, PopulationViews, weights drawn otherwise, 'NoMutual', ...).
"""

import numpy as np
from pyNN import connectors, errors
from pyNN.random import NativeRNG as PyNNNativeRNG
from pyNN.random import NumpyRNG, RandomDistribution, get_mpi_config

_CHUNK = 1 << 24


class NativeRNG(PyNNNativeRNG, NumpyRNG):
    """
    pyNN.gpu's own generator. Connectors given a NativeRNG use the fast builders of this
    module (numpy's Philox bit generator); random parameter values drawn from it come from
    numpy as with NumpyRNG. With seed=None it is seeded from setup(rng_seed=...): the first
    such rng of a network with rng_seed itself, each later one with a seed derived from
    rng_seed and its order, so that unseeded rngs draw numbers of their own (the same ones
    every time the script runs). Made before setup(), it is seeded from the state then.
    """

    def __init__(self, seed=None, parallel_safe=True):
        if seed is not None:
            assert isinstance(seed, int), f"`seed` must be an int, not a {type(seed).__name__}"
        # what PyNN's WrappedRNG sets; the generators are made at the first draw
        self.parallel_safe = parallel_safe
        self.mpi_rank, self.num_processes = get_mpi_config()
        self.random = self.sample = self.next
        if seed is None:
            # taken at construction: every process makes its rngs in the same order, but
            # draws from them only where it holds cells
            seed = _unseeded_seed()
        if not parallel_safe:
            seed += self.mpi_rank   # as PyNN's rngs: other sequences in other processes
        self._seed = seed
        self._generators = None     # (numpy RandomState, Philox Generator), once seeded
        self.streams_used = 0       # generator streams handed to projections (procedural.py)

    @property
    def seed(self):
        return self._seed

    @seed.setter
    def seed(self, value):
        self._seed, self._generators = value, None

    @property
    def rng(self):
        """NumpyRNG's RandomState, made at first use."""
        return self._seeded()[0]

    @property
    def generator(self):
        """The Philox generator of the host's connectivity builders, made at first use."""
        return self._seeded()[1]

    def _seeded(self):
        if self._generators is None:
            seed = self.seed
            state = np.random.RandomState()
            state.seed(seed)
            self._generators = (state, np.random.Generator(np.random.Philox(seed)))
        return self._generators

    def next_stream(self):
        """The next stream of the counter-based connectivity generator: each projection
        drawn from this rng gets its own, in order, so a script builds the same network
        every time, and a fresh NativeRNG(seed) starts from the same first stream."""
        self.streams_used += 1
        return self.streams_used - 1


def _unseeded_seed():
    """The seed of the next NativeRNG() of the network (see NativeRNG)."""
    from . import simulator
    state = simulator.state
    order = state.unseeded_rngs
    state.unseeded_rngs += 1
    if order == 0:
        return int(state.rng_seed)
    return int(np.random.SeedSequence([int(state.rng_seed), order]).generate_state(1)[0])


def drop_self_connections(projection, pre_idx, post_idx, rule):
    """Apply allow_self_connections=False or 'NoMutual' to (pre, post) index pairs."""
    if rule is True:
        return pre_idx, post_idx
    pre_ids = projection._pre_ids[pre_idx]
    post_ids = projection._post_ids[post_idx]
    if rule is False:
        keep = pre_ids != post_ids
    elif rule == "NoMutual":
        if projection.pre != projection.post:
            raise errors.ConnectionError(
                "allow_self_connections='NoMutual' needs the same population on both sides")
        keep = pre_ids > post_ids
    else:
        raise errors.ConnectionError(
            f"allow_self_connections must be True, False or 'NoMutual' (got {rule!r})")
    return pre_idx[keep], post_idx[keep]


def is_native(rng):
    """True when the connectivity need not reproduce PyNN's own draw sequence."""
    return isinstance(rng, PyNNNativeRNG) or (isinstance(rng, NumpyRNG) and rng.seed is None)


def generator_for(rng, projection):
    if isinstance(rng, NativeRNG):
        return rng.generator
    state = projection._simulator.state
    return np.random.Generator(np.random.Philox([state.rng_seed, len(state.projections)]))


def _fixed_probability(projection, connector, gen):
    n_pre, n_post, p = projection.pre.size, projection.post.size, connector.p_connect
    total = n_pre * n_post
    if p <= 0 or total == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if p >= 1:
        flat = np.arange(total, dtype=np.int64)
    else:
        parts, position = [], -1
        expected = total * p
        chunk = int(min(_CHUNK, expected + 10 * np.sqrt(expected) + 100))
        while position < total:
            gaps = gen.geometric(p, size=chunk).astype(np.int64)
            steps = position + np.cumsum(gaps)
            parts.append(steps[steps < total])
            position = int(steps[-1])
        flat = np.concatenate(parts)
    return _split_flat(flat, n_pre, n_post)


def _split_flat(flat, n_pre, n_post):
    """(pre, post) of sorted flat indices pre * n_post + post, without a division each."""
    boundaries = np.searchsorted(flat, np.arange(n_pre + 1, dtype=np.int64) * n_post)
    pre = np.repeat(np.arange(n_pre, dtype=np.int64), np.diff(boundaries))
    return pre, flat - pre * n_post


def _distinct_per_row(gen, n_rows, n_choices, n, with_replacement):
    """An (n_rows, n) array: per row, n draws from range(n_choices), distinct unless
    with_replacement. Repeated values are redrawn until none is left: the same as drawing
    one by one and rejecting repeats, so each row is a uniform sample without replacement
    (its values come out sorted)."""
    dtype = np.int32 if n_choices < 2 ** 31 else np.int64
    if with_replacement or n == 0:
        return gen.integers(0, n_choices, size=(n_rows, n), dtype=dtype)
    if n > n_choices:
        raise errors.ConnectionError(
            f"cannot choose {n} distinct neurons out of {n_choices} without replacement")
    if 2 * n > n_choices:   # dense: a random permutation per row is cheaper
        return np.sort(np.argsort(gen.random((n_rows, n_choices)), axis=1)[:, :n], axis=1)
    draws = gen.integers(0, n_choices, size=(n_rows, n), dtype=dtype)
    while True:
        draws.sort(axis=1)
        rows, columns = np.nonzero(draws[:, 1:] == draws[:, :-1])
        if rows.size == 0:
            return draws
        draws[rows, columns + 1] = gen.integers(0, n_choices, size=rows.size, dtype=dtype)


def _count(connector, size, gen):
    if isinstance(connector.n, RandomDistribution):
        return None
    return int(connector.n)


def _excluding_self(projection, connector):
    """True when each neuron must choose its n partners among the others."""
    return connector.allow_self_connections is False and projection.pre == projection.post


def _choose(gen, projection, connector, n_rows, n_choices, n):
    """n partners per row; with self-exclusion, partner i is never row i itself. Without
    replacement and n above the neurons to choose from, PyNN's rule: every one n // size
    times, then n % size distinct ones once more."""
    excluding_self = _excluding_self(projection, connector)
    size = n_choices - int(excluding_self)
    if not connector.with_replacement and 0 < size < n:
        full_sets, rest = divmod(n, size)
        chosen = np.concatenate([np.tile(np.arange(size), (n_rows, full_sets)),
                                 _distinct_per_row(gen, n_rows, size, rest, False)], axis=1)
    else:
        chosen = _distinct_per_row(gen, n_rows, size, n, connector.with_replacement)
    if not excluding_self:
        return chosen
    return chosen + (chosen >= np.arange(n_rows)[:, np.newaxis])


def _fixed_number_pre(projection, connector, gen):
    n = _count(connector, projection.pre.size, gen)
    if n is None:
        return None
    chosen = _choose(gen, projection, connector, projection.post.size, projection.pre.size, n)
    # PyNN's order (by postsynaptic neuron); the engine sorts rows by presynaptic neuron
    return chosen.ravel().astype(np.int64), np.repeat(np.arange(projection.post.size), n)


def _fixed_number_post(projection, connector, gen):
    n = _count(connector, projection.post.size, gen)
    if n is None:
        return None
    chosen = _choose(gen, projection, connector, projection.pre.size, projection.post.size, n)
    pre = np.repeat(np.arange(projection.pre.size), n)
    return pre, np.sort(chosen, axis=1).ravel()


def _fixed_total_number(projection, connector, gen):
    """n pairs drawn from all pairs, or, excluding self-connections, from the pairs (i, j)
    with j != i (as the generated projections do: exactly n synapses either way)."""
    n = _count(connector, 0, gen)
    if n is None:
        return None
    excluding_self = _excluding_self(projection, connector)
    n_pre = projection.pre.size
    columns = projection.post.size - int(excluding_self)    # choices per presynaptic neuron
    total = n_pre * columns
    if connector.with_replacement:
        flat = np.sort(gen.integers(0, total, size=n)) if total else np.zeros(0, np.int64)
    else:
        if n > total:
            raise errors.ConnectionError(f"cannot make {n} distinct connections out of {total}")
        flat = np.sort(_distinct_per_row(gen, 1, total, n, False).ravel())
    if n and not total:
        raise errors.ConnectionError("FixedTotalNumberConnector: there is no pair to connect")
    pre, post = _split_flat(flat.astype(np.int64), n_pre, columns)
    if excluding_self:      # column c of row i is neuron c, or c + 1 from i on
        post = post + (post >= pre)
    return pre, post


NATIVE_BUILDERS = {
    connectors.FixedProbabilityConnector: _fixed_probability,
    connectors.FixedNumberPreConnector: _fixed_number_pre,
    connectors.FixedNumberPostConnector: _fixed_number_post,
    connectors.FixedTotalNumberConnector: _fixed_total_number,
}


def build_native(projection, connector):
    """(pre_idx, post_idx) or None when this connector has no native builder."""
    builder = NATIVE_BUILDERS.get(type(connector))
    if builder is None or not is_native(getattr(connector, "rng", None)):
        return None
    pairs = builder(projection, connector, generator_for(connector.rng, projection))
    if pairs is None:
        return None
    if builder is not _fixed_probability:
        # the fixed-number builders exclude self-connections as they draw (when pre is
        # post), so that their counts stay whole; 'NoMutual' keeps them too, as in PyNN
        return pairs
    return drop_self_connections(projection, *pairs, connector.allow_self_connections)
