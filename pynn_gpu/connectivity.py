"""
Vectorised construction of connectivity: whole arrays of (pre, post) index pairs, never a
Python call per synapse.

Connectors with a builder here are built in a few numpy operations. With a seeded NumpyRNG,
the builders draw the same random numbers in the same order as PyNN's own implementation
(column by column, i.e. postsynaptic neuron by postsynaptic neuron), so the connectivity is
identical. Other connectors go through PyNN's generic per-postsynaptic-neuron path, which
calls Projection._convergent_connect once per target neuron with arrays.

Connections are always listed in PyNN's creation order: by postsynaptic index, then by
presynaptic index.
"""

import copy
import numbers

import numpy as np
from lazyarray import larray
from pyNN import connectors, errors
from pyNN.random import NumpyRNG, RandomDistribution

from .native_connectivity import build_native, drop_self_connections

# How many random numbers to draw at once when scanning the connection matrix.
_DRAW_CHUNK = 1 << 22


def evaluate_at(lazy, pre_idx, post_idx, positions=None):
    """
    Values of a (n_pre, n_post) lazy array at the given index pairs, in that order; a
    single number (0-d array) when all values are the same. `positions` (over several
    processes: where, total): the pairs are the synapses at `where` of `total` in one
    process's order, so a RandomDistribution draws all `total` values and gives theirs.
    """
    n = len(pre_idx)
    if lazy.is_homogeneous:
        return np.asarray(lazy.evaluate(simplify=True), dtype=float)
    base = lazy.base_value
    if any(isinstance(arg, larray) for _, arg in lazy.operations):
        return np.asarray(lazy.evaluate(simplify=False))[pre_idx, post_idx]
    if isinstance(base, RandomDistribution):
        values = draw_at(base, n, positions)
    elif isinstance(base, np.ndarray) and base.ndim == 2:
        values = base[pre_idx, post_idx]
    elif callable(base):
        values = _call_by_column(base, np.asarray(pre_idx), np.asarray(post_idx))
    else:
        return np.asarray(lazy.evaluate(simplify=False))[pre_idx, post_idx]
    for function, arg in lazy.operations:
        values = function(values) if arg is None else function(values, arg)
    return np.asarray(values, dtype=float)


def draw_at(distribution, n, positions=None):
    """n values of a RandomDistribution; with positions (where, total), those at `where`
    of `total` drawn, as one process draws them for all synapses."""
    if positions is not None:
        where, total = positions
        return np.asarray(distribution.next(total), dtype=float)[where] if total \
            else np.zeros(0)
    return np.asarray(distribution.next(n), dtype=float) if n else np.zeros(0)


def _call_by_column(function, pre_idx, post_idx):
    """
    A function of (pre indices, post index) at the given pairs, called as lazyarray calls it
    (an array of rows and one column at a time), once per run of equal postsynaptic indices.
    With two index arrays, PyNN's distance functions return the whole (n, n) outer product.
    """
    n = len(pre_idx)
    values = np.empty(n)
    if n == 0:
        return values
    starts = np.concatenate(([0], np.flatnonzero(np.diff(post_idx)) + 1))
    ends = np.concatenate((starts[1:], [n]))
    for start, end in zip(starts, ends):
        column = np.asarray(function(pre_idx[start:end], int(post_idx[start])), dtype=float)
        values[start:end] = np.broadcast_to(np.reshape(column, (-1,)) if column.size == end - start
                                            else column, (end - start,))
    return values


def _uses_rng(parameter_space, rng):
    """True if a synaptic parameter draws from `rng` (then draws interleave with PyNN's)."""
    for _, lazy in parameter_space.items():
        base = lazy.base_value
        if isinstance(base, RandomDistribution) and base.rng is rng:
            return True
    return False


def _all_to_all(projection, connector):
    n_pre, n_post = projection.pre.size, projection.post.size
    post_idx = np.repeat(np.arange(n_post), n_pre)
    pre_idx = np.tile(np.arange(n_pre), n_post)
    return drop_self_connections(projection, pre_idx, post_idx, connector.allow_self_connections)


def _one_to_one(projection, connector):
    """The pairs (i, i): as PyNN's own connector, for the first min(n_pre, n_post) neurons
    when the sizes differ."""
    index = np.arange(min(projection.pre.size, projection.post.size))
    return index, index.copy()


def _fixed_probability(projection, connector):
    n_pre, n_post = projection.pre.size, projection.post.size
    rng = connector.rng
    if not isinstance(rng, NumpyRNG):
        rng = NumpyRNG(seed=(projection._simulator.state.rng_seed + len(
            projection._simulator.state.projections)) % 2 ** 32)
    else:
        # PyNN draws the connection matrix from a copy of the rng (its lazy array copies the
        # random distribution), so every projection built with one rng starts from the same
        # state: the same connector on two projections gives the same draws
        rng = copy.deepcopy(rng)
    columns_per_draw = max(1, _DRAW_CHUNK // max(n_pre, 1))
    pre_parts, post_parts = [], []
    for first in range(0, n_post, columns_per_draw):
        last = min(first + columns_per_draw, n_post)
        draws = rng.next((last - first) * n_pre, "uniform", {"low": 0.0, "high": 1.0})
        columns, rows = np.nonzero(np.reshape(draws, (last - first, n_pre)) < connector.p_connect)
        pre_parts.append(rows)
        post_parts.append(columns + first)
    pre_idx = np.concatenate(pre_parts) if pre_parts else np.zeros(0, int)
    post_idx = np.concatenate(post_parts) if post_parts else np.zeros(0, int)
    return drop_self_connections(projection, pre_idx, post_idx, connector.allow_self_connections)


def _small_world(projection, connector):
    """
    Watts-Strogatz style: connect every pair closer than `degree`, then move the presynaptic
    end of each connection, with probability `rewiring`, to a uniformly drawn neuron.
    (PyNN defines this connector but leaves it to the backends.)
    """
    if connector.n_connections is not None:
        raise errors.ConnectionError("SmallWorldConnector: n_connections is not supported; "
                                     "leave it None and set degree instead")
    distances = np.asarray(connector._generate_distance_map(projection).evaluate())
    degree = float(connector.d_expression.split("<")[1])
    columns, rows = np.nonzero((distances < degree).T)
    pre_idx, post_idx = rows, columns
    rng = connector.rng
    rewired = np.asarray(rng.next(len(pre_idx), "uniform", {"low": 0.0, "high": 1.0})) \
        < connector.rewiring
    n_rewired = int(rewired.sum())
    if n_rewired:
        pre_idx = pre_idx.copy()
        pre_idx[rewired] = np.asarray(rng.next(n_rewired, "uniform_int",
                                               {"low": 0, "high": projection.pre.size}))
    return drop_self_connections(projection, pre_idx, post_idx, connector.allow_self_connections)


_PAIR_BUILDERS = {
    connectors.AllToAllConnector: _all_to_all,
    connectors.OneToOneConnector: _one_to_one,
    connectors.FixedProbabilityConnector: _fixed_probability,
    connectors.SmallWorldConnector: _small_world,
}


def _from_list(projection, connector):
    """FromListConnector: the list already holds the pairs and some parameters."""
    synapse_names = projection.synapse_type.get_parameter_names()
    for name in connector.column_names:
        if name not in synapse_names:
            raise errors.ConnectionError(
                f"{name} is not a parameter of {type(projection.synapse_type).__name__}; "
                f"allowed: {', '.join(synapse_names)}")
    table = np.asarray(connector.conn_list, dtype=float)
    if table.size == 0:
        return np.zeros(0, int), np.zeros(0, int), {}
    pre_idx, post_idx = table[:, 0].astype(int), table[:, 1].astype(int)
    for side, index, size in (("source", pre_idx, projection.pre.size),
                              ("target", post_idx, projection.post.size)):
        if index.min() < 0 or index.max() >= size:
            raise errors.ConnectionError(f"{side} index out of range [0, {size - 1}] "
                                         "in FromListConnector")
    order = np.argsort(post_idx, kind="stable")
    pre_idx, post_idx, table = pre_idx[order], post_idx[order], table[order]
    parameters = projection.synapse_type.native_parameters
    parameters.shape = (projection.pre.size, projection.post.size)
    values = {}
    given = _typed_columns(projection.synapse_type, connector.column_names, table[:, 2:])
    if given:
        from pyNN.parameters import ParameterSpace
        translated = projection.synapse_type.translate(
            ParameterSpace(given, projection.synapse_type.get_schema(), shape=(len(pre_idx),)))
        translated.evaluate(simplify=False)
        values.update(dict(translated.items()))
    for name, lazy in parameters.items():
        if name not in values:
            values[name] = evaluate_at(lazy, pre_idx, post_idx)
    return pre_idx, post_idx, values


def _typed_columns(synapse_type, names, columns):
    """The list's parameter columns, as the synapse type's schema types them: a column of
    an int parameter (MultiQuantalSynapse's n) holds whole numbers (the list was read as
    floats, which PyNN's schema refuses to cast)."""
    schema = synapse_type.get_schema()
    typed = {}
    for name, column in zip(names, columns.T):
        if schema.get(name) is int:
            whole = np.isfinite(column) & (column == np.round(column))
            if not np.all(whole):
                raise errors.InvalidParameterValueError(
                    f"{name} must be a whole number in FromListConnector's column "
                    f"(got {column[~whole][0]!r})")
            column = column.astype(np.int64)
        typed[name] = column
    return typed


def check_choices(projection, connector):
    """PyNN's FixedNumberPre/Post code, onto the same single cell with self-connections
    excluded, has no neuron to choose from (it divides by that count): refused by name, as
    the backend's own builders refuse it."""
    kind = type(connector)
    if kind not in (connectors.FixedNumberPreConnector, connectors.FixedNumberPostConnector):
        return
    n = connector.n
    if (connector.allow_self_connections is False and projection.pre == projection.post
            and projection.pre.size == 1 and isinstance(n, numbers.Integral) and n > 0):
        raise errors.ConnectionError(
            f"{kind.__name__}: there is no neuron to choose from (1 on the other side, "
            "itself excluded)")


def build_connections(projection, connector):
    """
    Return (pre_idx, post_idx, native parameter arrays) for a projection, or None if the
    connector has no vectorised builder (the caller then uses PyNN's generic path).
    """
    kind = type(connector)
    if kind is connectors.FromListConnector:
        return _from_list(projection, connector)
    native = build_native(projection, connector)
    if native is not None:
        pre_idx, post_idx = native
        parameters = connector._parameters_from_synapse_type(projection)
    else:
        builder = _PAIR_BUILDERS.get(kind)
        if builder is None:
            return None
        parameters = connector._parameters_from_synapse_type(projection)
        if getattr(connector, "rng", None) is not None and _uses_rng(parameters, connector.rng):
            return None  # PyNN interleaves those draws with the connection draws: use its path
        pre_idx, post_idx = builder(projection, connector)
    values = {name: evaluate_at(lazy, pre_idx, post_idx) for name, lazy in parameters.items()}
    if connector.callback:
        connector.callback(1.0)
    return pre_idx, post_idx, values
