"""
FixedNumberPost, FixedNumberPre and FixedTotalNumber connectors drawn by the counter-based
generator (kernels/common/fixed_number.h), as FixedProbability is in pynn_gpu.procedural.

Like a stored FixedProbability projection, such a projection is not built when it is
created: its synapses are generated once, when the network is first built or when a script
asks for them -- on the host in parallel C (the C target, and Projection.get), on the device
when the target is CUDA -- and all of them give the same synapses for the same NativeRNG seed.

Each neuron that chooses (a "line") gets a number of partners, known before any is drawn:
  * FixedNumberPost: each presynaptic neuron chooses n postsynaptic ones;
  * FixedNumberPre: each postsynaptic neuron chooses n presynaptic ones; the columns are then
    regrouped into rows by presynaptic neuron, each ordered by (post, draw);
  * FixedTotalNumber: the total is split among the presynaptic neurons as the pairs are
    (multinomially with replacement, hypergeometrically without), then each row is drawn
    like FixedNumberPost's.
These numbers (one per neuron, from n, from n's distribution, or from the split) are drawn
on the host with numpy, seeded by the projection's stream; the synapses never are.

PyNN's rules hold: with_replacement=False never repeats a pair unless n exceeds the
neurons to choose from (then every one is taken n // size times and the remainder once
more); allow_self_connections=False chooses among the other neurons, so degrees stay exact.
"""

import ctypes
import functools
from dataclasses import dataclass

import numpy as np
from pyNN import connectors, errors
from pyNN.random import RandomDistribution

from ._paths import kernels_dir
from .procedural import (KEY_BASE, GeneratedSpec, ValueSpec, counted_onto,
                         generated_synapse_values)

HEADERS = ("philox.h", "portable_math.h", "procedural.h", "fixed_number.h")

# numpy's multivariate hypergeometric sampler needs fewer pairs than this; above it a
# FixedTotalNumber without replacement is built by pynn_gpu.native_connectivity instead
HYPERGEOMETRIC_PAIRS_LIMIT = 10 ** 9

CONNECTORS = (connectors.FixedNumberPostConnector, connectors.FixedNumberPreConnector,
              connectors.FixedTotalNumberConnector)


@dataclass(frozen=True, eq=False)
class FixedNumberSpec(GeneratedSpec):
    """Never regenerated per spike (a FixedNumberPre column is spread over many rows):
    generated once and stored."""
    lines_are_pre: bool         # False for FixedNumberPre: postsynaptic neurons choose
    counts: np.ndarray          # partners of each line (int64)
    n_choices: int              # neurons each line chooses from (before excluding itself)
    seed: int
    key: int
    skip_self: bool
    with_replacement: bool
    weight: ValueSpec
    delay: ValueSpec            # in ms

    @property
    def one_per_pair(self):
        """No pair connected twice."""
        choices = self.n_choices - int(self.skip_self)
        return not self.with_replacement and int(self.counts.max(initial=0)) <= choices

    def expected_synapses(self, n_pre, n_post):
        """The exact number of synapses."""
        return int(self.counts.sum())

    @property
    def starts(self):
        """Where each line's synapses begin in the line-after-line layout (n_lines + 1)."""
        return np.concatenate(([0], np.cumsum(self.counts))).astype(np.int64)

    def generate(self, n_pre, n_post, dt, post_range=None):
        """(pre, post, weights, delay steps) of every synapse (onto post_range's neurons,
        if given: the same synapses, the others left out), sorted by pre."""
        return generate(self, n_pre, n_post, dt, post_range)

    def counts_onto(self, n_pre, n_post, dt, post_range=None):
        return counts_onto(self, n_post, dt, post_range)


# --- which projections qualify, and how many partners each line gets -----------------------

def spec_for(projection, connector, state):
    """FixedNumberSpec of a projection, or a reason (str) why it is built otherwise."""
    if type(connector) not in CONNECTORS:
        return f"its connector is a {type(connector).__name__}"
    values = generated_synapse_values(projection, connector, state)
    if isinstance(values, str):
        return values
    n_pre, n_post = projection.pre.size, projection.post.size
    if max(n_pre, n_post) >= 2 ** 31:
        return "a population has 2**31 neurons or more"
    lines_are_pre = type(connector) is not connectors.FixedNumberPreConnector
    n_lines, n_choices = (n_pre, n_post) if lines_are_pre else (n_post, n_pre)
    skip_self = projection.pre is projection.post and connector.allow_self_connections is False
    choices = n_choices - int(skip_self)
    total = type(connector) is connectors.FixedTotalNumberConnector
    if total and isinstance(connector.n, RandomDistribution):
        return "FixedTotalNumberConnector takes n as an integer"
    if total and not connector.with_replacement and n_lines * choices >= \
            HYPERGEOMETRIC_PAIRS_LIMIT:
        return "a FixedTotalNumber without replacement over 10**9 pairs or more"
    seed, key = int(connector.rng.seed), KEY_BASE + connector.rng.next_stream()
    if total:
        counts = _split_total(int(connector.n), n_lines, choices, connector.with_replacement,
                              np.random.SeedSequence([seed & 0xFFFFFFFFFFFFFFFF, key]))
    else:
        counts = _partners_per_line(connector.n, n_lines)
    if choices <= 0 and counts.any():
        raise errors.ConnectionError(
            f"{type(connector).__name__}: there is no neuron to choose from "
            f"({n_choices} on the other side{', itself excluded' if skip_self else ''})")
    weight, delay = values
    return FixedNumberSpec(lines_are_pre=lines_are_pre, counts=counts, n_choices=n_choices,
                           seed=seed, key=key, skip_self=skip_self,
                           with_replacement=bool(connector.with_replacement),
                           weight=weight, delay=delay)


def _partners_per_line(n, n_lines):
    """n for each line, or one draw per line from n's distribution (as PyNN does)."""
    if not isinstance(n, RandomDistribution):
        return np.full(n_lines, int(n), dtype=np.int64)
    drawn = np.atleast_1d(np.asarray(n.next(n_lines), dtype=float)).reshape(-1)[:n_lines]
    if n_lines and not (np.all(np.isfinite(drawn)) and np.all(drawn >= 0)
                        and np.all(drawn == np.rint(drawn))):
        raise errors.ConnectionError(
            f"the distribution of n ({n.name}) must give non-negative integers")
    return drawn.astype(np.int64)


def _split_total(n, n_lines, choices, with_replacement, seed_sequence):
    """How many of n connections each line gets when the n pairs are uniform over the
    n_lines x choices grid: multinomial with replacement, multivariate hypergeometric
    without."""
    if n < 0:
        raise errors.ConnectionError(f"FixedTotalNumberConnector needs n >= 0 (got {n})")
    if n_lines == 0 or choices <= 0:
        if n > 0:
            raise errors.ConnectionError(
                f"FixedTotalNumberConnector: no pair of neurons to connect (n = {n})")
        return np.zeros(n_lines, np.int64)
    generator = np.random.Generator(np.random.Philox(seed_sequence))
    if with_replacement:
        return generator.multinomial(n, np.full(n_lines, 1.0 / n_lines)).astype(np.int64)
    if n > n_lines * choices:
        raise errors.ConnectionError(
            f"cannot make {n} distinct connections out of {n_lines * choices} possible pairs")
    return generator.multivariate_hypergeometric(
        np.full(n_lines, choices, np.int64), n, method="marginals").astype(np.int64)


# --- generating the synapses on the host ----------------------------------------------------

class _Generator(ctypes.Structure):
    """pg_fixed_number of kernels/common/fixed_number.h."""
    _fields_ = [(name, ctypes.c_int64) for name in ("n_lines", "n_choices", "wk", "dk")] + [
        (name, ctypes.c_double) for name in ("wa", "wb", "wl", "wh", "da", "db", "dl", "dh",
                                             "dt")] + [
        ("wseed", ctypes.c_uint64), ("dseed", ctypes.c_uint64), ("wkey", ctypes.c_uint32),
        ("dkey", ctypes.c_uint32),
        ("seed", ctypes.c_uint64), ("key", ctypes.c_uint32), ("skip_self", ctypes.c_int),
        ("with_replacement", ctypes.c_int)]


def generator_struct(spec, dt):
    w, d = spec.weight, spec.delay
    return _Generator(
        n_lines=len(spec.counts), n_choices=spec.n_choices, wk=w.code, dk=d.code,
        wa=w.a, wb=w.b, wl=w.low, wh=w.high, da=d.a, db=d.b, dl=d.low, dh=d.high, dt=dt,
        wseed=w.seed, dseed=d.seed, wkey=w.key, dkey=d.key,
        seed=spec.seed & 0xFFFFFFFFFFFFFFFF, key=spec.key, skip_self=int(spec.skip_self),
        with_replacement=int(spec.with_replacement))


def with_headers(source):
    """A kernel source with the common headers pasted in (sources stay self-contained)."""
    common = kernels_dir() / "common"
    headers = "\n".join((common / name).read_text() for name in HEADERS)
    return source.replace("/* @HEADERS@ */", headers)


@functools.lru_cache(maxsize=None)
def _host_library():
    from .codegen import GeneratedCode
    from .targets.cpu import CpuTarget
    source = with_headers((kernels_dir() / "c" / "fixed_number_host.c").read_text())
    library = CpuTarget().compile_library(GeneratedCode("c", source, []))
    generator = ctypes.POINTER(_Generator)
    library.fn_draw_rows.argtypes = [generator] + [ctypes.c_void_p] * 5
    library.fn_keep_rows_onto.argtypes = [generator, ctypes.c_void_p] + [ctypes.c_int64] * 3 \
        + [ctypes.c_void_p] * 2
    library.fn_keep_rows_onto.restype = ctypes.c_int
    library.fn_count_rows_onto.argtypes = [generator, ctypes.c_void_p] + [ctypes.c_int64] * 3 \
        + [ctypes.c_void_p]
    library.fn_count_rows_onto.restype = ctypes.c_int
    library.fn_fill_rows_onto.argtypes = [generator] + [ctypes.c_void_p] * 6
    library.fn_free_rows.argtypes = [ctypes.c_int64, ctypes.c_void_p]
    library.fn_draw_columns.argtypes = [generator, ctypes.c_void_p, ctypes.c_int64,
                                        ctypes.c_int64, ctypes.c_void_p]
    library.fn_regroup_columns.argtypes = [generator, ctypes.c_void_p, ctypes.c_int64,
                                           ctypes.c_int64, ctypes.c_void_p,
                                           ctypes.c_int64] + [ctypes.c_void_p] * 6
    for function in (library.fn_draw_rows, library.fn_draw_columns,
                     library.fn_regroup_columns, library.fn_fill_rows_onto,
                     library.fn_free_rows):
        function.restype = None
    return library


def generate(spec, n_pre, n_post, dt, post_range=None):
    """(pre, post, weights, delay steps) of every synapse (onto post_range's neurons only,
    if given: the same synapses, the others left out), sorted by pre (then by post, and by
    draw for FixedNumberPre); lines are drawn in parallel (OpenMP) where available."""
    library = _host_library()
    generator = ctypes.byref(generator_struct(spec, dt))
    starts = spec.starts
    if spec.lines_are_pre and post_range is not None:
        return _rows_onto(library, generator, spec, post_range)
    first, end = post_range or (0, len(spec.counts))
    n = int(starts[end] - starts[first])
    pre, post, weights, delays = _synapse_arrays(n)
    out = [a.ctypes.data for a in (pre, post, weights, delays)]
    if spec.lines_are_pre:
        library.fn_draw_rows(generator, starts.ctypes.data, *out)
        return pre, post, weights, delays
    partner = np.empty(n, np.int64)
    library.fn_draw_columns(generator, starts.ctypes.data, first, end, partner.ctypes.data)
    row_ptr, cursor = np.empty(n_pre + 1, np.int64), np.empty(max(n_pre, 1), np.int64)
    library.fn_regroup_columns(generator, starts.ctypes.data, first, end, partner.ctypes.data,
                               n_pre, row_ptr.ctypes.data, cursor.ctypes.data, *out)
    return pre, post, weights, delays


def counts_onto(spec, n_post, dt, post_range=None):
    """Synapses onto each postsynaptic neuron (n_post counts; 0 outside post_range, if
    given), without storing any (GeneratedSpec.counts_onto)."""
    first, end = post_range or (0, n_post)
    if not spec.lines_are_pre:      # FixedNumberPre: each postsynaptic neuron's own number
        counts = np.zeros(n_post, np.int64)
        counts[first:end] = spec.counts[first:end]
        return counts
    # rows drawn whole, as generation draws them, their targets counted
    library = _host_library()
    generator = generator_struct(spec, dt)
    starts = spec.starts
    longest = int(spec.counts.max(initial=0))
    return counted_onto(n_post, lambda counts: library.fn_count_rows_onto(
        ctypes.byref(generator), starts.ctypes.data, first, end, longest, counts))


def _synapse_arrays(n):
    return (np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.float64),
            np.empty(n, np.int32))


def _rows_onto(library, generator, spec, post_range):
    """Rows drawn whole (in parallel), the synapses onto post_range's neurons kept: each row's
    in a buffer of its own, then put in place."""
    n_rows, starts = len(spec.counts), spec.starts
    counts = np.zeros(max(n_rows, 1), np.int64)
    kept = np.zeros(max(n_rows, 1), np.uint64)        # a buffer pointer per row
    try:
        if library.fn_keep_rows_onto(generator, starts.ctypes.data, *post_range,
                                     int(spec.counts.max(initial=0)), counts.ctypes.data,
                                     kept.ctypes.data) != 0:
            raise MemoryError("not enough memory to draw the rows of a fixed-number "
                              "projection")
        row_ptr = np.concatenate(([0], np.cumsum(counts[:n_rows]))).astype(np.int64)
        synapses = _synapse_arrays(int(row_ptr[-1]))
        library.fn_fill_rows_onto(generator, row_ptr.ctypes.data, kept.ctypes.data,
                                  *[a.ctypes.data for a in synapses])
    finally:
        library.fn_free_rows(n_rows, kept.ctypes.data)     # those not freed by the fill
    return synapses
