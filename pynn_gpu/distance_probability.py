"""
DistanceDependentProbabilityConnector drawn by the counter-based generator
(kernels/common/distance_probability.h), as FixedProbability is in pynn_gpu.procedural.

Pair (i, j) is connected with probability p = f(d), f the connector's d_expression and d the
distance of the two neurons as the projection's Space measures it (its axes, periodic
boundaries, scale_factor and offset). The expression is translated into C by
pynn_gpu.distance_expression, never pasted. Like a fixed-number projection, such a
projection is not built when it is created: its synapses are generated once, when the
network is first built or when a script asks for them -- on the host in parallel C (the C
target, and Projection.get), on the device when the target is CUDA -- and all give the same
synapses for the same NativeRNG seed.

It qualifies when the connector's rng is a pyNN.gpu NativeRNG, between whole Populations,
with a StaticSynapse whose weight and delay are numbers or uniform / normal /
normal_clipped distributions (pynn_gpu.procedural.generated_synapse_values), and an
expression the translator accepts. Everything else -- a seeded NumpyRNG (PyNN's own
realisation), a callable d_expression, weights or delays that depend on the distance, an
expression outside the translator's list -- is built by PyNN's own code, as before.
"""

import ctypes
import functools
import math
from dataclasses import dataclass, field

import numpy as np
from pyNN import connectors

from . import distance_expression
from ._paths import kernels_dir
from .procedural import (KEY_BASE, GeneratedSpec, ValueSpec, counted_onto,
                         generated_synapse_values)

HEADERS = ("philox.h", "portable_math.h", "procedural.h", "distance_math.h")

# rows whose probabilities are summed to estimate the number of synapses (the planner's
# choice of format needs it before any pair is decided)
ROWS_SAMPLED = 256


@dataclass(frozen=True, eq=False)
class DistanceProbabilitySpec(GeneratedSpec):
    probability: str            # the C expression of the distance d
    pre_xyz: np.ndarray         # (3, n_pre) positions
    post_xyz: np.ndarray        # (3, n_post) positions as the space sees them
    axes: tuple                 # per axis x, y, z: 1 if the distance uses it
    periodic: tuple             # per axis: 1 with periodic boundaries
    period: tuple               # per axis: the boundaries' length (0.0 without)
    seed: int
    key: int
    skip_self: bool
    weight: ValueSpec
    delay: ValueSpec            # in ms
    _expected: dict = field(default_factory=dict, repr=False)

    def expected_synapses(self, n_pre, n_post):
        """The expected number of synapses, from the probabilities of up to ROWS_SAMPLED
        evenly spread rows (exact when there are no more rows than that)."""
        if "value" not in self._expected:
            rows = np.unique(np.linspace(0, n_pre - 1, min(n_pre, ROWS_SAMPLED)).astype(np.int64))
            row_sums = np.zeros(len(rows))
            if len(rows) and n_post:
                _host_library(self.probability).dd_expected_row_synapses(
                    ctypes.byref(generator_struct(self)), *self._positions(),
                    rows.ctypes.data, len(rows), row_sums.ctypes.data)
            # rows added in order: the same total with any number of threads
            self._expected["value"] = math.fsum(row_sums) * n_pre / max(len(rows), 1)
        return self._expected["value"]

    def generate(self, n_pre, n_post, dt, post_range=None):
        """(pre, post, weights, delay steps) of every synapse (onto post_range's neurons,
        if given: the same synapses, the others left out), sorted by pre then post."""
        return generate(self, dt, post_range)

    def counts_onto(self, n_pre, n_post, dt, post_range=None):
        return counts_onto(self, dt, post_range)

    def distances(self, pre, post):
        """The distances of the pairs (pre[k], post[k]) as the generator computes them."""
        pre = np.ascontiguousarray(pre, np.int64)
        post = np.ascontiguousarray(post, np.int64)
        out = np.empty(len(pre))
        _host_library(self.probability).dd_distances(
            ctypes.byref(generator_struct(self)), *self._positions(), pre.ctypes.data,
            post.ctypes.data, len(pre), out.ctypes.data)
        return out

    def _positions(self):
        return self.pre_xyz.ctypes.data, self.post_xyz.ctypes.data


# --- which projections qualify ---------------------------------------------------------------

def spec_for(projection, connector, state):
    """DistanceProbabilitySpec of a projection, or a reason (str) why it is built otherwise."""
    if type(connector) is not connectors.DistanceDependentProbabilityConnector:
        return f"its connector is a {type(connector).__name__}"
    # weights or delays given as functions of the distance fail this check too
    values = generated_synapse_values(projection, connector, state)
    if isinstance(values, str):
        return values
    if max(projection.pre.size, projection.post.size) >= 2 ** 31:
        return "a population has 2**31 neurons or more"
    try:
        probability = distance_expression.translate(connector.d_expression)
    except distance_expression.UnsupportedExpression as reason:
        return f"its d_expression is not translated: {reason}"
    space = _space_geometry(projection.space)
    if isinstance(space, str):
        return space
    axes, periodic, period, scale_factor, offset = space
    # copies: the synapses are drawn later, from the positions at creation (as PyNN connects)
    pre_xyz = np.array(projection.pre.positions, dtype=np.float64, order="C")
    post = np.asarray(projection.post.positions, dtype=np.float64)
    # as Space.distances sees the postsynaptic positions, computed as it does
    post_xyz = np.ascontiguousarray((scale_factor * (post.T + offset)).T)
    weight, delay = values
    same = projection.pre is projection.post
    return DistanceProbabilitySpec(
        probability=probability, pre_xyz=pre_xyz, post_xyz=post_xyz, axes=axes,
        periodic=periodic, period=period, seed=int(connector.rng.seed),
        key=KEY_BASE + connector.rng.next_stream(),
        skip_self=same and connector.allow_self_connections is False,
        weight=weight, delay=delay)


def _space_geometry(space):
    """(axes, periodic, period, scale_factor, offset) of a pyNN.space.Space, or a reason."""
    axes = tuple(int(axis in set(np.asarray(space.axes).tolist())) for axis in range(3))
    periodic, period = [0, 0, 0], [0.0, 0.0, 0.0]
    boundaries = space.periodic_boundaries
    if boundaries is not None:
        for axis in range(3):
            if axes[axis] and boundaries[axis] is not None:
                periodic[axis] = 1
                period[axis] = float(boundaries[axis][1] - boundaries[axis][0])
    try:
        scale_factor = np.broadcast_to(np.asarray(space.scale_factor, np.float64), (3,))
        offset = np.broadcast_to(np.asarray(space.offset, np.float64), (3,))
    except ValueError:
        return "the space's scale_factor or offset is not a number or 3 numbers"
    return axes, tuple(periodic), tuple(period), scale_factor, offset


# --- generating the synapses on the host ---------------------------------------------------

class _Generator(ctypes.Structure):
    """pg_distance_probability of kernels/common/distance_probability.h."""
    _fields_ = [(name, ctypes.c_int64) for name in ("n_pre", "n_post", "wk", "dk")] + [
        (name, ctypes.c_double) for name in ("wa", "wb", "wl", "wh", "da", "db", "dl", "dh",
                                             "dt")] + [
        ("period", ctypes.c_double * 3), ("wseed", ctypes.c_uint64), ("dseed", ctypes.c_uint64),
        ("wkey", ctypes.c_uint32), ("dkey", ctypes.c_uint32),
        ("seed", ctypes.c_uint64), ("key", ctypes.c_uint32),
        ("skip_self", ctypes.c_int), ("axes", ctypes.c_int * 3),
        ("periodic", ctypes.c_int * 3)]


def generator_struct(spec, dt=1.0):
    """The pg_distance_probability struct of a spec (dt in ms matters only for delays)."""
    w, d = spec.weight, spec.delay
    return _Generator(
        n_pre=spec.pre_xyz.shape[1], n_post=spec.post_xyz.shape[1], wk=w.code, dk=d.code,
        wa=w.a, wb=w.b, wl=w.low, wh=w.high, da=d.a, db=d.b, dl=d.low, dh=d.high, dt=dt,
        period=(ctypes.c_double * 3)(*spec.period), wseed=w.seed, dseed=d.seed, wkey=w.key,
        dkey=d.key, seed=spec.seed & 0xFFFFFFFFFFFFFFFF,
        key=spec.key, skip_self=int(spec.skip_self), axes=(ctypes.c_int * 3)(*spec.axes),
        periodic=(ctypes.c_int * 3)(*spec.periodic))


def with_headers(source, probability):
    """A kernel source with the common headers and the generated probability function
    pasted in (sources stay self-contained). `probability` is the translator's output."""
    common = kernels_dir() / "common"
    headers = [(common / name).read_text() for name in HEADERS]
    function = ("/* the connection probability at distance d, translated from the "
                "connector's expression */\n"
                "DEVICE_FN double pg_dd_probability(double d)\n"
                f"{{\n    return {probability};\n}}\n")
    parts = headers + [function, (common / "distance_probability.h").read_text()]
    return source.replace("/* @HEADERS@ */", "\n".join(parts))


@functools.lru_cache(maxsize=64)
def _host_library(probability):
    from .codegen import GeneratedCode
    from .targets.cpu import CpuTarget
    text = (kernels_dir() / "c" / "distance_probability_host.c").read_text()
    library = CpuTarget().compile_library(GeneratedCode("c", with_headers(text, probability), []))
    generator = ctypes.POINTER(_Generator)
    library.dd_draw_rows.argtypes = [generator] + [ctypes.c_void_p] * 2 + [
        ctypes.c_int64] * 2 + [ctypes.c_void_p] * 2
    library.dd_draw_rows.restype = ctypes.c_int
    library.dd_count_onto.argtypes = [generator] + [ctypes.c_void_p] * 2 + [
        ctypes.c_int64] * 2 + [ctypes.c_void_p]
    library.dd_count_onto.restype = ctypes.c_int
    library.dd_fill_rows.argtypes = [generator] + [ctypes.c_void_p] * 6
    library.dd_fill_rows.restype = None
    library.dd_free_rows.argtypes = [ctypes.c_int64, ctypes.c_void_p]
    library.dd_free_rows.restype = None
    library.dd_expected_row_synapses.argtypes = [generator] + [ctypes.c_void_p] * 3 + [
        ctypes.c_int64, ctypes.c_void_p]
    library.dd_expected_row_synapses.restype = None
    library.dd_distances.argtypes = [generator] + [ctypes.c_void_p] * 4 + [
        ctypes.c_int64, ctypes.c_void_p]
    library.dd_distances.restype = None
    return library


def generate(spec, dt, post_range=None):
    """(pre, post, weights, delay steps) of every synapse (onto post_range's neurons only,
    if given), sorted by pre then post; rows are decided in parallel (OpenMP) where
    available, every pair once."""
    library = _host_library(spec.probability)
    generator = ctypes.byref(generator_struct(spec, dt))
    n_pre = spec.pre_xyz.shape[1]
    counts = np.zeros(max(n_pre, 1), np.int64)
    rows = np.zeros(max(n_pre, 1), np.uint64)          # a buffer pointer per row
    try:
        first, end = post_range or (0, spec.post_xyz.shape[1])
        if library.dd_draw_rows(generator, *spec._positions(), first, end,
                                counts.ctypes.data, rows.ctypes.data) != 0:
            raise MemoryError("not enough memory for the rows of a distance-dependent "
                              "projection")
        row_ptr = np.concatenate(([0], np.cumsum(counts[:n_pre]))).astype(np.int64)
        n = int(row_ptr[-1])
        pre, post = np.empty(n, np.int64), np.empty(n, np.int64)
        weights, delays = np.empty(n, np.float64), np.empty(n, np.int32)
        library.dd_fill_rows(generator, row_ptr.ctypes.data, rows.ctypes.data, pre.ctypes.data,
                             post.ctypes.data, weights.ctypes.data, delays.ctypes.data)
    finally:
        library.dd_free_rows(n_pre, rows.ctypes.data)      # those not freed by the fill
    return pre, post, weights, delays


def counts_onto(spec, dt, post_range=None):
    """Synapses onto each postsynaptic neuron (0 outside post_range, if given), every pair
    decided as generate() decides it, none stored (GeneratedSpec.counts_onto)."""
    library = _host_library(spec.probability)
    generator = generator_struct(spec, dt)
    n_post = spec.post_xyz.shape[1]
    first, end = post_range or (0, n_post)
    return counted_onto(n_post, lambda counts: library.dd_count_onto(
        ctypes.byref(generator), *spec._positions(), first, end, counts))
