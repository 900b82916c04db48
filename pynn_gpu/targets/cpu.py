"""
The C target: the generated code compiled by the system C compiler into a shared library,
loaded with ctypes. Host arrays are the target's arrays (no copies), and one `run` call
executes all its steps inside the library. Threads come from OpenMP where available.
"""

import ctypes
import functools
import os
import shlex
import shutil
import subprocess
import sys
import traceback

from ..cache import cached_build, content_key
from .base import Program, Target, compile_source

# C99 with GNU extensions, as CUDA's C++ is: no trigraphs ('??/' at the end of a model's
# comment would join the next generated line to it) and the same math functions declared
# (with _GNU_SOURCE: j0, exp10, ...). A function called undeclared, such as a misspelt
# one, is an error: C99 took it for a function returning int, with wrong results.
_BASE_FLAGS = ["-O3", "-std=gnu99", "-fPIC", "-shared", "-ffp-contract=off", "-fno-math-errno",
               "-Werror=implicit-function-declaration"]


def _compiler():
    """The command that runs the C compiler: $CC split as the shell would split it (it may
    be 'ccache gcc' or 'gcc -O0'), else cc or gcc from PATH; () when there is none."""
    configured = os.environ.get("CC", "").strip()
    if configured:
        try:
            return tuple(shlex.split(configured))
        except ValueError:          # unbalanced quotes: reported as a compiler not found
            return (configured,)
    found = shutil.which("cc") or shutil.which("gcc")
    return (found,) if found else ()


def _missing_compiler_message(compiler):
    """Why `compiler` cannot run, or None when its program is found."""
    if compiler and shutil.which(compiler[0]) is not None:
        return None
    if compiler:
        problem = f"$CC is {os.environ.get('CC')!r}, but {compiler[0]!r} is not found"
    else:
        problem = "$CC is not set and neither cc nor gcc is on PATH"
    return (f"the C target needs a C compiler: {problem}. Set $CC to a C compiler "
            "(e.g. CC=gcc) or put cc on PATH")


@functools.lru_cache(maxsize=None)
def _compiler_version(compiler):
    result = subprocess.run([*compiler, "--version"], capture_output=True, text=True)
    return result.stdout


@functools.lru_cache(maxsize=None)
def _openmp_flags(compiler):
    """["-fopenmp"] when the compiler can build and link OpenMP code, else []."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write("#include <omp.h>\nint probe(void) { return omp_get_max_threads(); }\n")
        result = subprocess.run([*compiler, "-fopenmp", "-fPIC", "-shared", src, "-o",
                                 os.path.join(tmp, "probe.so")], capture_output=True)
        return ["-fopenmp"] if result.returncode == 0 else []


class CompilationError(RuntimeError):
    pass


class CompilerNotFoundError(CompilationError):
    """No C compiler to build the C target's code (and the host tools) with."""


class CpuTarget(Target):
    name = "cpu"

    @classmethod
    def is_available(cls):
        return _missing_compiler_message(_compiler()) is None

    @classmethod
    def check_compiler(cls):
        """The compiler's command; CompilerNotFoundError, saying what is missing, when
        there is none (rather than a FileNotFoundError at the first compilation)."""
        compiler = _compiler()
        message = _missing_compiler_message(compiler)
        if message is not None:
            raise CompilerNotFoundError(message)
        return compiler

    def compile(self, code):
        return CpuProgram(code, self.compile_library(code))

    def compile_library(self, code):
        """Compile C source (through the cache) into a loaded shared library."""
        compiler = self.check_compiler()
        flags = _BASE_FLAGS + _openmp_flags(compiler)
        key = content_key(code.cache_text, " ".join(compiler), " ".join(flags),
                          _compiler_version(compiler))

        def build(output):
            source = output.with_suffix(".c")
            compile_source([*compiler, *flags, source, "-o", output, "-lm"], source,
                           code.source, CompilationError, "C compilation")

        return ctypes.CDLL(str(cached_build(key, ".so", build)))


# void (*exchange)(int64_t end_step): the spike exchange between processes
_EXCHANGE = ctypes.CFUNCTYPE(None, ctypes.c_int64)


def _aborting(exchange):
    """The exchange, ending the MPI job if it fails: ctypes would print an error raised in
    a callback and let the simulation go on with spikes missing."""
    def call(end_step):
        try:
            exchange(end_step)
        except BaseException:
            traceback.print_exc()
            sys.stderr.flush()
            exchange.comm.Abort(1)
    return call


class CpuProgram(Program):

    def __init__(self, code, library):
        super().__init__(code)
        self.library = library
        self.library.pg_run.restype = ctypes.c_int
        self.library.pg_run.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int64,
                                        ctypes.c_int64, ctypes.c_int, ctypes.c_uint64,
                                        _EXCHANGE]
        self._arrays = {}           # name -> the host array its pointer-table entry holds
        self._table = (ctypes.c_void_p * max(len(self.array_names), 1))()
        self._slots = {name: slot for slot, name in enumerate(self.array_names)}

    def bind(self, arrays):
        # only the entries of arrays replaced since the last bind are written: rebuilding
        # the whole table took most of a short run() of a network of many populations
        replaced = self._replaced(arrays, self._arrays)
        for name in replaced:
            if not arrays[name].flags.c_contiguous:
                raise ValueError(f"array {name} must be contiguous")
        for name in replaced:
            self._arrays[name] = arrays[name]
            self._table[self._slots[name]] = arrays[name].ctypes.data

    def push(self, names):
        pass  # the library works on the host arrays themselves

    def pull(self, names):
        pass

    def run(self, first_step, n_steps, seed, threads, exchange=None):
        # over several processes, the code calls `exchange` back (pynn_gpu.distributed)
        callback = _EXCHANGE(_aborting(exchange)) if exchange is not None else _EXCHANGE()
        status = self.library.pg_run(self._table, int(first_step), int(n_steps), int(threads),
                                     int(seed) & 0xFFFFFFFFFFFFFFFF, callback)
        if status != 0:
            raise RuntimeError(f"simulation kernel returned {status}")
