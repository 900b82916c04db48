"""
Procedural connectivity: FixedProbabilityConnector projections whose synapses are never
stored, but regenerated from the counter-based generator each time a spike needs them
(kernels/common/procedural.h says how). They cost no memory on the target and nothing to
construct; the host generates them with the same C code only when a script asks for them
(Projection.get, save, len, ...).

A projection can be procedural when
  * its connector is a FixedProbabilityConnector whose rng is a pyNN.gpu NativeRNG (a
    seeded NumpyRNG asks for PyNN's own realisation, which only PyNN's scan of the matrix
    gives), between two whole Populations;
  * its synapse type is a StaticSynapse whose weight and delay are numbers or
    RandomDistributions ("uniform", "normal", "normal_clipped") drawn from a NativeRNG, with
    delays bounded by [timestep, max_delay] ("normal" delays are unbounded: use
    "normal_clipped").
Ask for it with `Projection(..., connectivity_format="procedural")`; with "auto" (default)
a projection is procedural when it qualifies and storing it would take more than
PROCEDURAL_ABOVE_BYTES (see pynn_gpu.planner). Setting weights or delays afterwards turns it
into a stored ("ragged") projection.

A qualifying projection in a stored format takes its synapses from the same generator: they
are not built when the Projection is created, but generated once, in compiled code and in
parallel over rows, when the network is first built (or a script asks for them), so the
same NativeRNG seed gives the same synapses in every format. FixedNumberPost, FixedNumberPre
and FixedTotalNumber projections are generated the same way, but only ever stored (see
pynn_gpu.fixed_number); the checks they share are in generated_synapse_values.
"""

import ctypes
import dataclasses
import functools
import math
from dataclasses import dataclass

import numpy as np
from pyNN import connectors, errors
from pyNN.random import RandomDistribution
from pyNN.standardmodels import StandardSynapseType

from ._paths import kernels_dir
from .native_connectivity import NativeRNG

CHUNK = 32                       # PG_PROC_CHUNK
# random-number keys, below the synapse groups' 0x80000000: a projection's connections,
# weights and delays each draw from a range of their own, so that two rngs of one seed (one
# for the connector, one for a distribution) never hand out the same stream
KEY_BASE = 0x40000000            # connections
VALUE_KEY_BASES = {"weight": 0x50000000, "delay": 0x60000000}
DISTRIBUTIONS = {"constant": 0, "uniform": 1, "normal": 2, "normal_clipped": 3}


@dataclass(frozen=True)
class ValueSpec:
    """A weight or delay: kind and (a, b, low, high) as pg_proc_value reads them, and the
    random stream (seed, key) it draws from (set by with_value_streams; none for a
    constant)."""
    kind: str
    a: float
    b: float = 0.0
    low: float = -math.inf
    high: float = math.inf
    seed: int = 0
    key: int = 0

    @property
    def code(self):
        return DISTRIBUTIONS[self.kind]

    def scaled(self, factor):
        """The same draws times factor (> 0): a, b, low and high all scale, so every
        distribution here gives factor * x for the x it gave before (pynn_gpu.scaling)."""
        return dataclasses.replace(self, a=self.a * factor, b=self.b * factor,
                                   low=self.low * factor, high=self.high * factor)

    @property
    def mean(self):
        """The mean of the distribution: for "normal_clipped", of the normal restricted to
        [low, high] (a redrawn value lands there)."""
        if self.kind in ("constant", "normal"):
            return self.a
        if self.kind == "uniform":
            return 0.5 * (self.a + self.b)
        return _clipped_normal_mean(self.a, self.b, self.low, self.high)


def _clipped_normal_mean(mu, sigma, low, high):
    """Mean of the normal distribution (mu, sigma) restricted to [low, high]."""
    if sigma <= 0:
        return min(max(mu, low), high)
    alpha, beta = (low - mu) / sigma, (high - mu) / sigma
    if alpha > 0:       # both bounds above the mean: the mirror image, for precision
        return -_clipped_normal_mean(-mu, sigma, -high, -low)

    def density(x):
        return math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi) if math.isfinite(x) else 0.0

    mass = 0.5 * (math.erfc(-beta / math.sqrt(2)) - math.erfc(-alpha / math.sqrt(2)))
    if mass <= 0:       # no probability inside: every draw gives up at a bound
        return high
    return mu + sigma * (density(alpha) - density(beta)) / mass


class GeneratedSpec:
    """What the specs of every generator (FixedProbability here, pynn_gpu.fixed_number,
    pynn_gpu.distance_probability) answer alike; each has `weight` and `delay`, ValueSpecs
    (the delay in ms)."""
    regenerable = False     # True: can be regenerated per spike ("procedural" format)
    one_per_pair = True     # no pair connected twice

    @property
    def constant_values(self):
        """One weight and one delay for every synapse."""
        return self.weight.kind == "constant" and self.delay.kind == "constant"

    def max_delay_steps(self, dt):
        """The longest delay the generator can draw, in steps."""
        return longest_delay_steps(self.delay, dt)

    def min_delay_steps(self, dt):
        """The shortest delay the generator can draw, in steps."""
        return shortest_delay_steps(self.delay, dt)

    def generate(self, n_pre, n_post, dt, post_range=None):
        """(pre, post, weights, delay steps) of every synapse (onto the postsynaptic neurons
        of post_range, (first, end), if given: the same synapses, the others left out),
        generated on the host."""
        raise NotImplementedError

    def counts_onto(self, n_pre, n_post, dt, post_range=None):
        """Synapses onto each postsynaptic neuron (n_post counts; 0 outside post_range, if
        given), counted without storing them: what len(), in-degrees and describe() need of
        a projection whose synapses are not generated on the host. Equal to the bincount of
        generate()'s postsynaptic indices."""
        raise NotImplementedError

    def same_connections(self, other):
        """True when the spec `other` connects the same pairs as this one, its weight and
        delay aside (weight scaling replaces the weight, not the pairs). Arrays are the same
        when they are the same object: specs never change theirs, and comparing positions
        or counts element by element would cost what counting saves."""
        if type(other) is not type(self):
            return False
        names = [f.name for f in dataclasses.fields(self)
                 if f.compare and f.name not in ("weight", "delay")]
        return all(_same_value(getattr(self, name), getattr(other, name)) for name in names)


def _same_value(a, b):
    return a is b or (not isinstance(a, np.ndarray) and not isinstance(b, np.ndarray)
                      and a == b)


@dataclass(frozen=True)
class ProceduralSpec(GeneratedSpec):
    p: float
    seed: int
    key: int
    skip_self: bool          # pre and post are one population and self-connections are off
    weight: ValueSpec
    delay: ValueSpec         # in ms

    @property
    def log1m_p(self):
        """ln(1 - p), as the generator reads it (unused, 0, when every pair connects)."""
        return math.log1p(-self.p) if self.p < 1 else 0.0

    @property
    def connects_all(self):
        return self.p >= 1

    regenerable = True
    one_to_one = False      # True: row pre holds (pre, pre) only (pynn_gpu.pattern_connectors)

    def expected_synapses(self, n_pre, n_post):
        pairs = n_pre * n_post - (min(n_pre, n_post) if self.skip_self else 0)
        return self.p * pairs

    def generate(self, n_pre, n_post, dt, post_range=None):
        return generate(self, n_pre, n_post, dt, post_range)

    def counts_onto(self, n_pre, n_post, dt, post_range=None):
        return counts_onto(self, n_pre, n_post, dt, post_range)


def with_value_streams(spec, projection):
    """The spec with the random streams its drawn weight and delay come from: each from the
    NativeRNG of its own distribution, as PyNN draws values from the distribution's rng (not
    the connector's), in a stream of its own per projection (the rng's next streams, weight
    first). Called once per projection, when its spec is chosen, so that a script builds
    the same network every time."""
    parameters = projection.synapse_type.parameter_space
    values = {}
    for name in ("weight", "delay"):
        value = getattr(spec, name)
        if value.kind != "constant":
            rng = parameters[name].base_value.rng
            value = dataclasses.replace(value, seed=int(rng.seed) & 0xFFFFFFFFFFFFFFFF,
                                        key=VALUE_KEY_BASES[name] + rng.next_stream())
        values[name] = value
    return dataclasses.replace(spec, **values)


def check_weight_sign(weight, projection):
    """PyNN's sign rule for the receptor (ConnectionError), at creation, on the values the
    weight's distribution is bounded by. Returns True when that cannot settle it: the
    distribution is unbounded on a side the rule forbids (a normal distribution onto a
    current-based excitatory receptor), so that only drawn weights can be checked. Such
    synapses are generated on the host, which checks them, never procedural or on the
    device."""
    low, high = {"constant": (weight.a, weight.a), "uniform": (weight.a, weight.b)}.get(
        weight.kind, (weight.low, weight.high))
    check = StandardSynapseType.parameter_checks["weight"]
    finite = [bound for bound in (low, high) if math.isfinite(bound)]
    if finite:
        check(np.array(finite), projection)
    for bound, beyond in ((low, -1.0), (high, 1.0)):
        if not math.isfinite(bound):
            try:
                check(np.array([beyond]), projection)
            except errors.ConnectionError:
                return True
    return False


def _value_spec(lazy, name):
    """ValueSpec of a synapse parameter, or a reason (str) why it cannot be generated."""
    spec = _distribution_spec(lazy, name)
    if isinstance(spec, ValueSpec) and not (math.isfinite(spec.a) and math.isfinite(spec.b)):
        return f"{name} has a parameter that is not a finite number ({spec.a}, {spec.b})"
    return spec


def _distribution_spec(lazy, name):
    if lazy.operations:
        return f"{name} is an expression (operations on a value)"
    base = lazy.base_value
    if isinstance(base, (int, float, np.number)):
        return ValueSpec("constant", float(base))
    if not isinstance(base, RandomDistribution):
        return f"{name} is a {type(base).__name__}, not a number or RandomDistribution"
    if not isinstance(base.rng, NativeRNG):
        return f"{name} draws from {type(base.rng).__name__}, not a NativeRNG"
    p = base.parameters
    if base.name == "uniform":
        return ValueSpec("uniform", float(p["low"]), float(p["high"]), float(p["low"]),
                         float(p["high"]))
    if base.name == "normal":
        return ValueSpec("normal", float(p["mu"]), float(p["sigma"]))
    if base.name == "normal_clipped":
        return ValueSpec("normal_clipped", float(p["mu"]), float(p["sigma"]), float(p["low"]),
                         float(p["high"]))
    return f"{name} has distribution {base.name!r} (procedural: uniform, normal, normal_clipped)"


def spec_for(projection, connector, state):
    """ProceduralSpec of a projection, or a reason (str) why it cannot be procedural."""
    if type(connector) is connectors.AllToAllConnector:
        from . import pattern_connectors
        return pattern_connectors.all_to_all_spec(projection, connector, state)
    if type(connector) is not connectors.FixedProbabilityConnector:
        return (f"its connector is a {type(connector).__name__}, not a "
                "FixedProbabilityConnector or AllToAllConnector")
    values = generated_synapse_values(projection, connector, state)
    if isinstance(values, str):
        return values
    weight, delay = values
    same = projection.pre is projection.post
    return ProceduralSpec(p=float(connector.p_connect), seed=int(connector.rng.seed),
                          key=KEY_BASE + connector.rng.next_stream(),
                          skip_self=same and connector.allow_self_connections is False,
                          weight=weight, delay=delay)


def generated_synapse_values(projection, connector, state):
    """(weight, delay) ValueSpecs of a projection whose synapses can come from the generator,
    or a reason (str) why they cannot (the checks every generated connector shares)."""
    if not isinstance(connector.rng, NativeRNG):
        return "its connector's rng is not a NativeRNG"
    return synapse_values(projection, connector, state)


def synapse_values(projection, connector, state):
    """generated_synapse_values, less the connector's rng (for connectors without one)."""
    # by identity: PyNN's PopulationView equals its Population when it holds every cell
    if not all(any(side is population for population in state.populations)
               for side in (projection.pre, projection.post)):
        return "pre and post must be whole Populations"
    if type(projection.synapse_type).__name__ != "StaticSynapse":
        return f"its synapse type is {type(projection.synapse_type).__name__}, not StaticSynapse"
    if getattr(connector, "allow_self_connections", True) == "NoMutual":
        return "allow_self_connections='NoMutual' is not available procedurally"
    # StaticSynapse translates weight and delay one to one; the untranslated space keeps the
    # distributions' own rng (translation copies them with a plain NumpyRNG)
    parameters = projection.synapse_type.parameter_space
    values = {}
    for name in ("weight", "delay"):
        values[name] = _value_spec(parameters[name], name)
        if isinstance(values[name], str):
            return values[name]
    weight, delay = values["weight"], values["delay"]
    low, high = (delay.a, delay.a) if delay.kind == "constant" else (delay.low, delay.high)
    if not (low >= state.dt * (1 - 1e-9)
            and np.rint(high / state.dt) <= state.max_delay_steps_limit):
        return (f"its delays must lie in [timestep, max_delay] = [{state.dt:g}, "
                f"{state.max_delay_limit:.10g}] ms by their distribution's bounds "
                f"(got [{low:.10g}, {high:.10g}]; use normal_clipped with such low and high)")
    check_weight_sign(weight, projection)     # what the bounds tell: at creation, as PyNN
    return weight, delay


def longest_delay_steps(delay, dt):
    """The longest delay (a ValueSpec in ms) the generator can draw, in steps."""
    longest = delay.high if delay.kind != "constant" else delay.a
    return max(1, int(np.rint(longest / dt)))


def shortest_delay_steps(delay, dt):
    """The shortest delay (a ValueSpec in ms) the generator can draw, in steps."""
    shortest = delay.low if delay.kind != "constant" else delay.a
    return max(1, int(np.rint(shortest / dt))) if math.isfinite(shortest) else 1


def expected_synapses(spec, n_pre, n_post):
    return spec.expected_synapses(n_pre, n_post)


def synapse_count(projection):
    """Synapses of a projection; for a procedural one the expected number (counting them
    would mean generating them all on the host)."""
    if projection.is_procedural:
        return int(round(expected_synapses(projection._procedural, projection.pre.size,
                                           projection.post.size)))
    return len(projection)


# --- generating the synapses on the host ---------------------------------------------------

_HOST_SOURCE = r"""
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#define DEVICE_FN static inline
#define PG_POST_T int64_t
#define PG_DELAY_T int32_t
#define PG_WEIGHT_T double

/* Below this much work (pairs or synapses) a loop stays on one thread: starting threads
   costs more than it saves, up to milliseconds when the cores are busy. */
#define HOST_PARALLEL_WORK 65536
#define PG_PAIRS(g) ((g)->n_pre * ((g)->post_hi - (g)->post_lo))

/* Synapses per presynaptic neuron (rows are independent: in parallel). */
void pg_count(const pg_generator *g, int64_t *counts)
{
    #pragma omp parallel for schedule(dynamic, 64) if(PG_PAIRS(g) >= HOST_PARALLEL_WORK)
    for (int64_t pre = 0; pre < g->n_pre; ++pre) counts[pre] = pg_row(g, pre, 0, 0, 0, 0);
}

/* Synapses onto each postsynaptic neuron, without storing any: every row is walked into a
   buffer of its thread, and its targets counted. Returns -1 when a buffer cannot be had. */
int pg_count_onto(const pg_generator *g, int64_t *post_counts)
{
    const int64_t longest_row = g->post_hi > g->post_lo ? g->post_hi - g->post_lo : 1;
    int failed = 0;
    #pragma omp parallel if(PG_PAIRS(g) >= HOST_PARALLEL_WORK)
    {
        int64_t *posts = (int64_t *) malloc(sizeof(int64_t) * (size_t) longest_row);
        if (!posts) {
            #pragma omp atomic write
            failed = 1;
        } else {
            #pragma omp for schedule(dynamic, 64)
            for (int64_t pre = 0; pre < g->n_pre; ++pre) {
                const int64_t n = pg_row(g, pre, 0, posts, 0, 0);
                for (int64_t k = 0; k < n; ++k) {
                    #pragma omp atomic
                    post_counts[posts[k]]++;
                }
            }
            free(posts);
        }
    }
    return failed ? -1 : 0;
}

/* Every synapse, row after row from row_ptr (the running sum of the counts). */
void pg_fill(const pg_generator *g, const int64_t *row_ptr, int64_t *pre_out,
             int64_t *post_out, double *weight_out, int32_t *delay_out)
{
    #pragma omp parallel for schedule(dynamic, 64) if(row_ptr[g->n_pre] >= HOST_PARALLEL_WORK)
    for (int64_t pre = 0; pre < g->n_pre; ++pre) {
        pg_row(g, pre, row_ptr[pre], post_out, weight_out, delay_out);
        for (int64_t k = row_ptr[pre]; k < row_ptr[pre + 1]; ++k) pre_out[k] = pre;
    }
}
"""


class _Generator(ctypes.Structure):
    _fields_ = [("n_pre", ctypes.c_int64), ("n_post", ctypes.c_int64), ("wk", ctypes.c_int64),
                ("dk", ctypes.c_int64)] + [(name, ctypes.c_double) for name in
                                            ("log1m_p", "wa", "wb", "wl", "wh", "da", "db",
                                             "dl", "dh", "dt")] + [
        ("wseed", ctypes.c_uint64), ("dseed", ctypes.c_uint64), ("wkey", ctypes.c_uint32),
        ("dkey", ctypes.c_uint32),
        ("seed", ctypes.c_uint64), ("key", ctypes.c_uint32), ("all", ctypes.c_int),
        ("skip_self", ctypes.c_int), ("one_to_one", ctypes.c_int),
        ("post_lo", ctypes.c_int64), ("post_hi", ctypes.c_int64)]


@functools.lru_cache(maxsize=None)
def _host_library():
    from .codegen import GeneratedCode
    from .targets.cpu import CpuTarget
    common = kernels_dir() / "common"
    headers = [(common / name).read_text()
               for name in ("philox.h", "portable_math.h", "procedural.h")]
    marker = "#define PG_WEIGHT_T double\n"
    head, body = _HOST_SOURCE.split(marker)
    source = head + marker + "\n".join(headers) + body
    library = CpuTarget().compile_library(GeneratedCode("c", source, []))
    library.pg_count.argtypes = [ctypes.POINTER(_Generator), ctypes.c_void_p]
    library.pg_fill.argtypes = [ctypes.POINTER(_Generator)] + [ctypes.c_void_p] * 5
    library.pg_count_onto.argtypes = [ctypes.POINTER(_Generator), ctypes.c_void_p]
    library.pg_count_onto.restype = ctypes.c_int
    return library


def generator_struct(spec, n_pre, n_post, dt, post_range=None):
    """The pg_generator struct of kernels/common/procedural.h for a projection; post_range
    (first, end): only the synapses onto those postsynaptic neurons (first a multiple of
    PG_PROC_CHUNK), else all."""
    w, d = spec.weight, spec.delay
    post_lo, post_hi = post_range or (0, n_post)
    return _Generator(
        n_pre=n_pre, n_post=n_post, wk=w.code, dk=d.code,
        log1m_p=spec.log1m_p, wa=w.a, wb=w.b, wl=w.low,
        wh=w.high, da=d.a, db=d.b, dl=d.low, dh=d.high, dt=dt,
        wseed=w.seed, dseed=d.seed, wkey=w.key, dkey=d.key,
        seed=spec.seed & 0xFFFFFFFFFFFFFFFF, key=spec.key, all=int(spec.connects_all),
        skip_self=int(spec.skip_self), one_to_one=int(spec.one_to_one),
        post_lo=post_lo, post_hi=post_hi)


def counts_onto(spec, n_pre, n_post, dt, post_range=None):
    """Synapses onto each postsynaptic neuron (n_post counts; 0 outside post_range, if
    given), counted by the generator without storing them (GeneratedSpec.counts_onto)."""
    generator = generator_struct(spec, n_pre, n_post, dt, post_range)
    return counted_onto(n_post, lambda counts: _host_library().pg_count_onto(
        ctypes.byref(generator), counts))


def counted_onto(n_post, count):
    """n_post counts, zeroed, then filled by count(address of the counts): a host
    generator's counting pass, which returns 0, or not when it had no memory for its
    buffers (MemoryError)."""
    counts = np.zeros(max(n_post, 1), np.int64)
    if count(counts.ctypes.data) != 0:
        raise MemoryError("no memory for the buffers that count a projection's synapses")
    return counts[:n_post]


def generate(spec, n_pre, n_post, dt, post_range=None):
    """(pre, post, weights, delay steps) of every synapse (onto post_range's neurons, if
    given), sorted by pre then post; rows are generated in parallel (OpenMP) where the
    compiler has it."""
    library = _host_library()
    generator = generator_struct(spec, n_pre, n_post, dt, post_range)
    counts = np.zeros(max(n_pre, 1), np.int64)
    library.pg_count(ctypes.byref(generator), counts.ctypes.data)
    row_ptr = np.concatenate(([0], np.cumsum(counts[:n_pre]))).astype(np.int64)
    n = int(row_ptr[-1])
    pre = np.empty(n, np.int64)
    post = np.empty(n, np.int64)
    weights = np.empty(n, np.float64)
    delays = np.empty(n, np.int32)
    library.pg_fill(ctypes.byref(generator), row_ptr.ctypes.data, pre.ctypes.data,
                    post.ctypes.data, weights.ctypes.data, delays.ctypes.data)
    return pre, post, weights, delays
