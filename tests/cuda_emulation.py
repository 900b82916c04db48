"""
The CUDA target emulated on the host: a stand-in for the few pycuda.driver calls the CUDA
target makes, whose device memory is host memory and whose "nvcc" is the host C++ compiler
building the generated CUDA source with a shim header (__global__ functions become plain
functions, a launch loops over blocks and lanes). The emulation runs the real
CudaTarget/CudaProgram code and the real kernel text, so the launch order, the ring and
recording arithmetic, the device clock, pointer binding and graph chunking are checked
against the C target on any machine. What it cannot check is nvcc's device arithmetic and
real concurrency (the `cuda` runs on a GPU do that).

install_emulator(monkeypatch) switches it on for the rest of a test (tests/conftest.py's
"emulated" target, tests/targets/conftest.py's cuda_backend and emulate fixtures, and the
MPI test scripts).
"""

import ctypes
import shutil
import subprocess
import sys
import tempfile
import time
import types

import numpy as np
import pytest

from pynn_gpu.targets import cuda as cuda_target

# Lanes of a warp run one after another, 31 down to 0, so lane 0 (the only lane the
# kernels let use a ballot) sees the bits of every lane; warps run last to first, so thread
# 0 of a block, the only one that acts after a barrier, runs after all others.
_SHIM = r"""
#include <stdint.h>
#define __global__
#define __device__
#define __constant__
#define __forceinline__ inline
struct emu_dim3 { unsigned x, y, z; };
static emu_dim3 blockIdx, threadIdx, blockDim, gridDim;
static uint32_t emu_ballot;
static inline void __syncthreads(void) {}
static inline void __threadfence(void) {}
static inline uint32_t __ballot_sync(uint32_t, int predicate)
{
    if (predicate) emu_ballot |= 1u << (threadIdx.x & 31);
    return emu_ballot;
}
static inline int __popc(uint32_t x) { return __builtin_popcount(x); }
static inline int __ffs(int x) { return __builtin_ffs(x); }
template <typename T> static inline T atomicAdd(T *address, T value)
{
    const T old = *address;
    *address = old + value;
    return old;
}
template <typename T> static inline T atomicOr(T *address, T value)
{
    const T old = *address;
    *address = old | value;
    return old;
}
extern "C" void emu_launch(void (*kernel)(void), unsigned grid, unsigned block)
{
    blockDim.x = block; gridDim.x = grid;
    for (unsigned b = 0; b < grid; ++b) {
        blockIdx.x = b;
        for (int w = (int) block - 32; w >= 0; w -= 32) {
            emu_ballot = 0u;
            for (int lane = 31; lane >= 0; --lane) { threadIdx.x = w + (unsigned) lane; kernel(); }
        }
    }
}
"""


# device attributes the CUDA target asks for (those of an H200)
_DEVICE_ATTRIBUTES = {
    "MULTIPROCESSOR_COUNT": 132, "MAX_THREADS_PER_MULTIPROCESSOR": 2048,
    "MAX_BLOCKS_PER_MULTIPROCESSOR": 32, "MAX_REGISTERS_PER_MULTIPROCESSOR": 65536,
    "MAX_SHARED_MEMORY_PER_MULTIPROCESSOR": 233472, "MAX_THREADS_PER_BLOCK": 1024,
}


class Emulator:
    """Host memory and counters behind the fake pycuda.driver."""

    def __init__(self):
        self.live = {}                 # address -> buffer of every allocation not freed
        self.contexts = []             # PyCUDA's context stack
        self.graphs_instantiated = 0
        self.graph_launches = 0
        self.kernel_launches = 0
        self.workdir = tempfile.mkdtemp(prefix="pynn_gpu_emulator_")
        self.shim = f"{self.workdir}/cuda_shim.h"
        with open(self.shim, "w") as f:
            f.write(_SHIM)

    def compile_command(self, nvcc, source, output, arch="sm_90", ptx=False):
        return ["g++", "-x", "c++", "-include", self.shim, "-O2", "-ffp-contract=off",
                "-fno-math-errno", "-fPIC", "-shared", "-w", "-o", str(output), str(source)]

    def driver(self):
        """A module with the pycuda.driver names the CUDA target uses."""
        emu = self

        class Device:
            def __init__(self, index):
                self.index = index

            @staticmethod
            def count():
                return 1

            def name(self):
                return "host emulation"

            def compute_capability(self):
                return (9, 0)

            def get_attribute(self, attribute):
                return _DEVICE_ATTRIBUTES[attribute]

            def make_context(self):
                context = Context()
                emu.contexts.append(context)
                return context

        class Context:
            def push(self):
                emu.contexts.append(self)

            @staticmethod
            def pop():
                emu.contexts.pop()

            def detach(self):
                emu.contexts[:] = [c for c in emu.contexts if c is not self]

        class Allocation:
            def __init__(self, nbytes):
                self.buffer = np.zeros(nbytes, np.uint8)
                self.address = self.buffer.ctypes.data
                emu.live[self.address] = self.buffer

            def __int__(self):
                return self.address

            def free(self):
                del emu.live[self.address]

        def address(pointer):
            value = int(pointer)
            assert any(value >= a and value < a + b.nbytes for a, b in emu.live.items()) \
                or value in emu.globals_, f"not device memory: {value:#x}"
            return value

        emu.globals_ = set()

        def memcpy_htod(destination, source):
            source = np.ascontiguousarray(source)
            ctypes.memmove(address(destination), source.ctypes.data, source.nbytes)

        def memcpy_dtoh(destination, source):
            ctypes.memmove(destination.ctypes.data, address(source), destination.nbytes)

        class Function:
            # what the driver reports of a compiled kernel (an H200-like device's values)
            num_regs, shared_size_bytes, max_threads_per_block = 40, 0, 1024

            def __init__(self, library, name):
                self.launch = library.emu_launch
                self.kernel = ctypes.cast(getattr(library, name), ctypes.c_void_p)

            def _launch_kernel(self, grid, block, arguments, shared, stream):
                assert grid[1:] == (1,) and block[1:] == (1, 1) and block[0] % 32 == 0
                assert arguments == b"" and shared == 0
                stream.submit(lambda: self._run(grid[0], block[0]))

            def _run(self, grid, block):
                emu.kernel_launches += 1
                self.launch(self.kernel, grid, block)

        class Module:
            def __init__(self, binary):
                path = tempfile.mktemp(suffix=".so", dir=emu.workdir)
                with open(path, "wb") as f:
                    f.write(binary)
                self.library = ctypes.CDLL(path)
                self.library.emu_launch.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint]
                # symbol sizes, as the driver reports them for a module's globals
                listing = subprocess.run(["nm", "-S", "--defined-only", path],
                                         capture_output=True, text=True, check=True).stdout
                self.sizes = {parts[3]: int(parts[1], 16) for parts in map(str.split,
                              listing.splitlines()) if len(parts) == 4}

            def get_function(self, name):
                return Function(self.library, name)

            def get_global(self, name):
                where = ctypes.addressof(ctypes.c_uint64.in_dll(self.library, name))
                emu.globals_.add(where)
                return where, self.sizes[name]

        class Event:
            """Records the host clock when the stream reaches it (streams run at once)."""
            def __init__(self):
                self.when = None

            def record(self, stream):
                stream.submit(lambda: setattr(self, "when", time.perf_counter()))

            def synchronize(self):
                pass

            def time_since(self, earlier):
                return (self.when - earlier.when) * 1000.0      # ms, as CUDA events

        class Stream:
            def __init__(self):
                self.captured = None

            def submit(self, operation):
                if self.captured is None:
                    operation()
                else:
                    self.captured.append(operation)

            def synchronize(self):
                pass

        module = types.ModuleType("pycuda.driver")
        module.init = lambda flags=0: None
        module.Device, module.Context = Device, Context
        module.device_attribute = types.SimpleNamespace(**{k: k for k in _DEVICE_ATTRIBUTES})
        module.Stream, module.Event = Stream, Event
        module.mem_alloc = Allocation
        module.memcpy_htod, module.memcpy_dtoh = memcpy_htod, memcpy_dtoh
        module.module_from_buffer = Module
        return module


class EmulatedGraphs:
    """Stands in for the CUDA target's driver-API graphs: capture records the launches."""

    def __init__(self, emulator):
        self.emulator = emulator
        self.live = {}

    def capture(self, stream, record):
        assert stream.captured is None
        stream.captured = []
        try:
            record()
        finally:
            operations, stream.captured = stream.captured, None
        self.emulator.graphs_instantiated += 1
        handle = id(operations)
        self.live[handle] = operations
        return handle

    def launch(self, executable, stream):
        self.emulator.graph_launches += 1
        for operation in self.live[executable]:
            operation()

    def destroy(self, executable):
        del self.live[executable]


def install_emulator(monkeypatch, with_capture=True):
    """Make the CUDA target run on the host emulation for the rest of the test."""
    if shutil.which("g++") is None:
        pytest.skip("the CUDA emulation needs g++")
    emulator = Emulator()
    package = types.ModuleType("pycuda")
    package.driver = emulator.driver()
    monkeypatch.setitem(sys.modules, "pycuda", package)
    monkeypatch.setitem(sys.modules, "pycuda.driver", package.driver)
    monkeypatch.setattr(cuda_target, "find_nvcc", lambda: shutil.which("g++"))
    monkeypatch.setattr(cuda_target, "nvcc_command", emulator.compile_command)
    monkeypatch.setattr(cuda_target.CudaTarget, "_probe", None)
    emulator.graphs = EmulatedGraphs(emulator) if with_capture else None
    monkeypatch.setattr(cuda_target, "_graph_api", lambda: emulator.graphs)
    return emulator
