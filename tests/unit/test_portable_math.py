"""
kernels/common/portable_math.h: the log, exp, sine, normal numbers and gamma hazard that the
electrodes and spike sources use so that both targets compute the same bits. Checked here
against numpy/scipy on the C compiler; the CUDA build of the same text is checked by
test_nvcc_compile and the CPU/CUDA agreement tests.
"""

import ctypes
import shutil
import subprocess

import numpy as np
import pytest
from scipy import special, stats

from pynn_gpu._paths import kernels_dir

_WRAPPERS = """
double t_log(double x) { return pg_log(x); }
double t_exp(double x) { return pg_exp(x); }
double t_sin_turns(double x) { return pg_sin_turns(x); }
double t_normal(uint64_t seed, uint32_t stream, uint32_t neuron, int64_t counter)
{ return pg_normal(seed, stream, neuron, counter); }
double t_hazard(double z, double a, double lgamma_a) { return pg_gamma_hazard(z, a, lgamma_a); }
double t_bits(int64_t bits) { return pg_double_bits(bits); }
"""


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("needs a C compiler")
    directory = tmp_path_factory.mktemp("portable_math")
    source = directory / "math.c"
    common = kernels_dir() / "common"
    source.write_text("#include <stdint.h>\n#define DEVICE_FN static inline\n"
                      + (common / "philox.h").read_text()
                      + (common / "portable_math.h").read_text() + _WRAPPERS)
    library = directory / "math.so"
    subprocess.run([compiler, "-O2", "-ffp-contract=off", "-shared", "-fPIC", str(source),
                    "-o", str(library), "-lm"], check=True)
    lib = ctypes.CDLL(str(library))
    double = ctypes.c_double
    for name in ("t_log", "t_exp", "t_sin_turns"):
        getattr(lib, name).restype = double
        getattr(lib, name).argtypes = [double]
    lib.t_normal.restype = double
    lib.t_normal.argtypes = [ctypes.c_uint64, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_int64]
    lib.t_hazard.restype = double
    lib.t_hazard.argtypes = [double] * 3
    lib.t_bits.restype = double
    lib.t_bits.argtypes = [ctypes.c_int64]
    return lib


def _relative_error(values, reference):
    return np.max(np.abs(values - reference) / np.abs(reference))


def test_log_and_exp_to_a_few_ulp(lib):
    x = np.concatenate((np.logspace(-300, 300, 2001), np.linspace(0.5, 2.0, 2001),
                        [2.0 ** -32, 1.0 - 2.0 ** -32]))
    logs = np.array([lib.t_log(v) for v in x])
    nonzero = x != 1.0
    assert _relative_error(logs[nonzero], np.log(x[nonzero])) < 1e-15
    assert lib.t_log(1.0) == 0.0
    y = np.linspace(-700.0, 700.0, 4001)
    assert _relative_error(np.array([lib.t_exp(v) for v in y]), np.exp(y)) < 1e-15
    assert lib.t_exp(0.0) == 1.0 and lib.t_exp(-800.0) == 0.0 and lib.t_exp(800.0) == np.inf


def test_sine_of_turns(lib):
    turns = np.concatenate((np.linspace(-3.0, 3.0, 6001), [0.25, 0.5, 0.75, 1e6 + 0.125]))
    values = np.array([lib.t_sin_turns(v) for v in turns])
    reference = np.sin(2 * np.pi * np.mod(turns, 1.0))
    np.testing.assert_allclose(values, reference, rtol=0, atol=1e-15)
    assert lib.t_sin_turns(0.25) == 1.0 and lib.t_sin_turns(0.0) == 0.0


def test_normal_numbers(lib):
    values = np.array([lib.t_normal(99, 0x80000003, n, c) for n in range(40) for c in range(500)])
    assert abs(values.mean()) < 5 / np.sqrt(values.size)
    assert stats.kstest(values, "norm").pvalue > 1e-4
    # a pure function of its key and counter
    assert lib.t_normal(99, 0x80000003, 5, 7) == lib.t_normal(99, 0x80000003, 5, 7)
    assert lib.t_normal(99, 0x80000003, 5, 7) != lib.t_normal(99, 0x80000004, 5, 7)


@pytest.mark.parametrize("a", [1.0, 1.5, 3.0, 7.5, 40.0, 250.0])
def test_gamma_hazard(lib, a):
    z = np.logspace(-5, np.log10(30 * a), 400)
    values = np.array([lib.t_hazard(v, a, special.gammaln(a)) for v in z])
    with np.errstate(invalid="ignore"):      # scipy's sf underflows far in the tail
        reference = stats.gamma.pdf(z, a) / stats.gamma.sf(z, a)
    finite = np.isfinite(reference) & (reference > 0)
    assert _relative_error(values[finite], reference[finite]) < 1e-11


def test_double_bits(lib):
    for value in (0.0, -1.5, np.pi, 1e-300):
        assert lib.t_bits(int(np.array([value]).view(np.int64)[0])) == value
