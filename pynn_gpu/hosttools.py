"""
Host-side construction helpers in C (kernels/c/host_tools.c), compiled through the content
cache like the simulation code, with numpy fallbacks where no C compiler answers.
"""

import ctypes
import functools

import numpy as np

from ._paths import kernels_dir


@functools.lru_cache(maxsize=None)
def _library():
    from .codegen import GeneratedCode
    from .targets.cpu import CpuTarget
    if not CpuTarget.is_available():
        return None
    source = (kernels_dir() / "c" / "host_tools.c").read_text()
    library = CpuTarget().compile_library(GeneratedCode("c", source, []))
    function = library.stable_order
    function.restype = None
    function.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p,
                         ctypes.c_void_p]
    library.set_host_threads.restype = None
    library.set_host_threads.argtypes = [ctypes.c_int]
    library.spikes_from_words.restype = None
    library.spikes_from_words.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64,
                                          ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    for name in _GATHERS.values():
        gather_function = getattr(library, name)
        gather_function.restype = None
        gather_function.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                    ctypes.c_void_p]
    return library


_GATHERS = {  # (input dtype, output dtype) -> C function
    ("int64", "int32"): "gather_i64_i32", ("int64", "int64"): "gather_i64_i64",
    ("int32", "int32"): "gather_i32_i32", ("float64", "float64"): "gather_f64_f64",
    ("float64", "float32"): "gather_f64_f32",
}


def set_threads(n):
    """Threads of the host's parallel loops (construction included): setup's `threads`."""
    library = _library()
    if library is not None:
        library.set_host_threads(int(n))


def gather(values, order, dtype):
    """values[order] as a new array of `dtype`: in C, in parallel, for the common types."""
    values = np.asarray(values)
    order = np.ascontiguousarray(order, dtype=np.int64)
    name = _GATHERS.get((values.dtype.name, np.dtype(dtype).name))
    library = _library() if name and order.size > 1 << 16 else None
    if library is None:
        return np.ascontiguousarray(values[order], dtype=dtype)
    values = np.ascontiguousarray(values)
    out = np.empty(order.size, dtype=dtype)
    getattr(library, name)(values.ctypes.data, order.ctypes.data, order.size, out.ctypes.data)
    return out


def stable_order(keys, n_keys):
    """Positions that sort `keys` (integers in [0, n_keys)) stably: a counting sort, O(n)."""
    keys = np.ascontiguousarray(keys, dtype=np.int64)
    library = _library()
    if library is None or keys.size == 0:
        return np.argsort(keys, kind="stable")
    order = np.empty(keys.size, dtype=np.int64)
    start = np.empty(n_keys + 1, dtype=np.int64)
    library.stable_order(keys.ctypes.data, keys.size, n_keys, start.ctypes.data,
                         order.ctypes.data)
    return order


def spikes_from_words(words):
    """(steps, neurons) of the set bits of a (steps, words) array of recorded spike bits,
    ordered by step, then neuron (bit (i & 31) of word (i >> 5) is neuron i)."""
    words = np.ascontiguousarray(words, dtype=np.uint32)
    library = _library()
    if library is None or words.size == 0:
        return _spikes_from_words_numpy(words)
    n_steps, n_words = words.shape
    start = np.empty(n_steps + 1, dtype=np.int64)
    library.spikes_from_words(words.ctypes.data, n_steps, n_words, start.ctypes.data,
                              None, None)
    steps = np.empty(start[-1], dtype=np.int64)
    neurons = np.empty(start[-1], dtype=np.int64)
    if steps.size:
        library.spikes_from_words(words.ctypes.data, n_steps, n_words, start.ctypes.data,
                                  steps.ctypes.data, neurons.ctypes.data)
    return steps, neurons


def _spikes_from_words_numpy(words):
    steps, word_index = np.nonzero(words)
    bits = np.unpackbits(words[steps, word_index].view(np.uint8).reshape(-1, 4), axis=1,
                         bitorder="little")
    which, bit = np.nonzero(bits)
    return steps[which], word_index[which] * 32 + bit


def distinct_count(values, n_values):
    """How many distinct integers in [0, n_values) `values` holds: a flag per possible value,
    O(n + n_values); for pairs (pre * n_post + post) that are a fair part of all pairs it is
    far faster than sorting (np.unique took minutes for 1e8 all-to-all pairs)."""
    seen = np.zeros(n_values, dtype=bool)
    seen[values] = True
    return int(np.count_nonzero(seen))
