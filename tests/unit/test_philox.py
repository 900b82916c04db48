"""The counter-based generator gives the published Philox-4x32-10 known answers."""

import ctypes
import subprocess

import pytest

from pynn_gpu._paths import kernels_dir

# Known-answer vectors of Philox-4x32-10 (counter, key -> output words), from the
# Random123 distribution (Salmon et al. 2011).
KNOWN_ANSWERS = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF, 0xFFFFFFFF),
     (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@pytest.fixture(scope="module")
def philox(tmp_path_factory):
    directory = tmp_path_factory.mktemp("philox")
    source = directory / "philox.c"
    source.write_text("#include <stdint.h>\n#define DEVICE_FN\n"
                      + (kernels_dir() / "common" / "philox.h").read_text())
    library = directory / "philox.so"
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", str(source), "-o", str(library)], check=True)
    lib = ctypes.CDLL(str(library))
    lib.philox4x32_10_first.restype = ctypes.c_uint32
    lib.philox4x32_10_first.argtypes = [ctypes.c_uint32] * 6
    lib.philox4x32_10.restype = None
    lib.philox4x32_10.argtypes = [ctypes.c_uint32] * 6 + [ctypes.c_void_p]
    lib.philox_uniform.restype = ctypes.c_double
    lib.philox_uniform.argtypes = [ctypes.c_uint64, ctypes.c_uint32, ctypes.c_uint32,
                                   ctypes.c_int64, ctypes.c_uint32]
    return lib


@pytest.mark.parametrize("counter,key,expected", KNOWN_ANSWERS)
def test_known_answers(philox, counter, key, expected):
    assert philox.philox4x32_10_first(*counter, *key) == expected[0]
    words = (ctypes.c_uint32 * 4)()
    philox.philox4x32_10(*counter, *key, words)
    assert tuple(words) == expected


def test_uniform_numbers_are_uniform(philox):
    import numpy as np
    from scipy import stats
    values = np.array([philox.philox_uniform(42, 3, n, s, 0)
                       for n in range(50) for s in range(200)])
    assert values.min() >= 0.0 and values.max() < 1.0
    assert stats.kstest(values, "uniform").pvalue > 0.001
