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
    return library


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
