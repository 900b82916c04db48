"""
The CUDA target: the generated code compiled by nvcc into a cubin (through the content-hash
cache), loaded with PyCUDA, run with no Python in the per-step loop.

Kernels take no arguments. They read the step from the device variable `_current_step`
and array pointers from module globals (`__constant__` while they fit:
codegen.lookup_memory), so a chunk of steps (the launch sequence of one step, repeated) is
captured once into a CUDA graph and replayed; rebinding an array only rewrites its
pointer. The launch sequence comes from the `//@launch` lines at the top
of the generated source.

PyCUDA (up to 2026.1 at least) has no stream capture, so graphs are made with the driver
API itself through ctypes (cuda_graphs.py), on PyCUDA's stream and context. Without it (no
libcuda symbols) the kernels of every step are launched from Python, with a warning.

PyCUDA is imported lazily: this module imports, and the nvcc helpers work, without it.
"""

import atexit
import collections
import contextlib
import functools
import logging
import os
import re
import shutil
import subprocess
import weakref

import numpy as np
from pyNN import errors

from ..cache import cached_build, content_key
from .base import Program, Target, compile_source
from .cuda_graphs import DriverGraphs as _DriverGraphs
from .occupancy import DeviceLimits, KernelResources, choose_block_size


class DeviceResident:
    """An array that exists on the device only (synapses generated there): the engine puts
    it among its host arrays, the program adopts its memory instead of copying."""

    def __init__(self, allocation, size, dtype):
        self.allocation, self.size, self.dtype = allocation, int(size), np.dtype(dtype)
        self.nbytes = self.size * self.dtype.itemsize

logger = logging.getLogger("PyNN")

BLOCK_SIZE_ENV = "PYNN_GPU_BLOCK_SIZE"
DEVICE_ENV = "PYNN_GPU_DEVICE"
NVCC_ENV = "PYNN_GPU_NVCC"
DEFAULT_BLOCK_SIZE = 128        # where the driver reports no kernel resources

# --fmad=false: no fused multiply-add, so double precision results equal the C target's
# (compiled with -ffp-contract=off). Division and sqrt are IEEE-rounded by default.
NVCC_FLAGS = ("--fmad=false", "-O3", "-w")

MAX_STEPS_PER_GRAPH = 1000
MAX_NODES_PER_GRAPH = 20000     # instantiation time grows with the node count
PROFILE_HOLD_STEPS = 200       # profile(): steps of a graph that keeps the device busy ...
PROFILE_TIMED_STEPS = 40       # ... while this many steps of timed launches are queued
SPIKE_LIST_BLOCK = 128         # threads per block of the kernels that list recorded spikes
_GRAPHS_KEPT = 4                # instantiated graphs cached per program, by chunk length

_LAUNCH_LINE = re.compile(r"^//@launch (\w+) (\d+)$", re.M)
_SCALAR_LINE = re.compile(r"^typedef (double|float) scalar;$", re.M)
_CTYPES = {"int32_t": np.int32, "int64_t": np.int64, "uint32_t": np.uint32, "double": np.float64,
           "uint8_t": np.uint8, "uint16_t": np.uint16}


class CompilationError(RuntimeError):
    pass


# --- nvcc -----------------------------------------------------------------------------------

def find_nvcc():
    """$PYNN_GPU_NVCC, nvcc on PATH, or the CUDA toolkit's; None if there is none. An
    explicit $PYNN_GPU_NVCC that is no executable file is refused (another nvcc found
    instead may be another toolkit's)."""
    configured = os.environ.get(NVCC_ENV, "").strip()
    if configured:
        if os.path.isfile(configured) and os.access(configured, os.X_OK):
            return configured
        raise errors.InvalidParameterValueError(
            f"${NVCC_ENV} is {configured!r}, which is not an executable file: point it at "
            "nvcc, or unset it to use the nvcc on PATH or in $CUDA_HOME")
    candidates = [shutil.which("nvcc")]
    for root in (os.environ.get("CUDA_HOME"), os.environ.get("CUDA_ROOT"), "/usr/local/cuda"):
        if root:
            candidates.append(os.path.join(root, "bin", "nvcc"))
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


@functools.lru_cache(maxsize=None)
def nvcc_version(nvcc):
    return subprocess.run([nvcc, "--version"], capture_output=True, text=True).stdout


@functools.lru_cache(maxsize=None)
def _nvcc_archs(nvcc):
    """Virtual architectures this nvcc knows, e.g. {75, 80, 90}."""
    result = subprocess.run([nvcc, "--list-gpu-arch"], capture_output=True, text=True)
    return {int(m) for m in re.findall(r"compute_(\d+)", result.stdout)}


def nvcc_command(nvcc, source, output, arch="sm_90", ptx=False):
    """The command line that compiles generated source into a cubin (or PTX) for `arch`."""
    return [nvcc, f"-arch={arch}", *NVCC_FLAGS, "-ptx" if ptx else "-cubin",
            "-o", str(output), str(source)]


def _arch_for(nvcc, capability):
    """(arch option, ptx?) for a device: native cubin, or PTX the driver JIT-compiles when
    this nvcc is older than the device."""
    major, minor = capability
    wanted = 10 * major + minor
    known = _nvcc_archs(nvcc)
    if not known or wanted in known:
        return f"sm_{wanted}", False
    older = [a for a in known if a <= wanted]
    if not older:
        raise CompilationError(f"{nvcc} cannot compile for compute capability {major}.{minor}")
    return f"compute_{max(older)}", True


def _graph_api():
    """_DriverGraphs, or None (with a warning) where the driver library lacks them."""
    try:
        return _DriverGraphs()
    except (OSError, AttributeError) as error:
        _warn_once(f"CUDA graphs are not available ({error}): pyNN.gpu launches the kernels "
                   "of every step from Python, which is slower")
        return None


def _launcher(function, grid, block):
    """launch(stream) for a kernel without arguments. PyCUDA's own launch methods first call
    the legacy cuFuncSetBlockShape: one more driver call per launch, and not a stream
    operation, so it is kept out of graph capture."""
    launch_kernel = getattr(function, "_launch_kernel", None)
    if launch_kernel is not None:
        return lambda stream: launch_kernel(grid, block, b"", 0, stream)
    function.prepare("")
    return lambda stream: function.prepared_async_call(grid, block, stream)


# --- the target -----------------------------------------------------------------------------

def _block_size():
    """The block size forced by $PYNN_GPU_BLOCK_SIZE, or None: chosen per kernel from its
    occupancy (pynn_gpu.targets.occupancy)."""
    text = os.environ.get(BLOCK_SIZE_ENV)
    if not text:
        return None
    try:
        size = int(text)
    except ValueError:
        size = 0
    # whole warps: the spike ballot needs every lane of a warp present
    if size < 32 or size > 1024 or size % 32:
        raise ValueError(f"{BLOCK_SIZE_ENV} must be a multiple of 32 from 32 to 1024 "
                         f"(got {text!r})")
    return size


def _device_limits(cuda, device):
    """The device's occupancy limits, as far as the driver reports them."""
    attribute = cuda.device_attribute
    defaults = DeviceLimits()
    names = {
        "multiprocessors": "MULTIPROCESSOR_COUNT",
        "max_threads_per_sm": "MAX_THREADS_PER_MULTIPROCESSOR",
        "max_blocks_per_sm": "MAX_BLOCKS_PER_MULTIPROCESSOR",
        "registers_per_sm": "MAX_REGISTERS_PER_MULTIPROCESSOR",
        "registers_per_block": "MAX_REGISTERS_PER_BLOCK",
        "shared_per_sm": "MAX_SHARED_MEMORY_PER_MULTIPROCESSOR",
        "shared_reserved_per_block": "RESERVED_SHARED_MEMORY_PER_BLOCK",
        "max_threads_per_block": "MAX_THREADS_PER_BLOCK",
    }
    values = {}
    for field, name in names.items():
        try:
            values[field] = int(device.get_attribute(getattr(attribute, name)))
        except Exception:       # an attribute this PyCUDA or driver does not know
            values[field] = getattr(defaults, field)
    try:
        # register sub-partitions: 4 from compute capability 6.1 on, 2 on 6.0
        if tuple(device.compute_capability()) == (6, 0):
            values["register_partitions"] = 2
    except Exception:
        pass
    return DeviceLimits(**values)


def _kernel_resources(function):
    """Registers and static shared memory of a compiled kernel, or None if unknown."""
    try:
        return KernelResources(registers_per_thread=int(function.num_regs),
                               shared_per_block=int(function.shared_size_bytes),
                               max_threads_per_block=int(function.max_threads_per_block))
    except Exception:
        return None


class CudaTarget(Target):
    name = "cuda"
    _probe = None          # (available, reason), filled by the first is_available()

    @classmethod
    def is_available(cls):
        if cls._probe is None:
            cls._probe = cls._check()
        return cls._probe[0]

    @classmethod
    def unavailable_reason(cls):
        cls.is_available()
        return cls._probe[1]

    @staticmethod
    def _check():
        try:
            import pycuda.driver as cuda
            cuda.init()
            count = cuda.Device.count()
            if count == 0:
                return False, "PyCUDA found no CUDA device"
        except Exception as error:    # ImportError, driver errors, no libcuda ...
            return False, f"{type(error).__name__}: {error}"
        if find_nvcc() is None:
            return False, "nvcc not found (set $PYNN_GPU_NVCC or put nvcc on PATH)"
        return True, ""

    @staticmethod
    def check_device_setting():
        """InvalidParameterValueError unless $PYNN_GPU_DEVICE, where set, names one of the
        devices (the CUDA target has been found available)."""
        index = configured_device()
        if index is None:
            return
        import pycuda.driver as cuda
        count = cuda.Device.count()
        if index >= count:
            raise errors.InvalidParameterValueError(
                f"${DEVICE_ENV} is {index}, but there {'is' if count == 1 else 'are'} {count} "
                f"CUDA device{'' if count == 1 else 's'} here (indices 0 to {count - 1})")

    def __init__(self):
        import pycuda.driver as cuda
        self._cuda = cuda
        cuda.init()
        self.device_index = _device_index(cuda.Device.count())
        self.device = cuda.Device(self.device_index)
        self.block_size = _block_size()
        self.nvcc = find_nvcc()
        self._programs = weakref.WeakSet()     # programs not yet garbage, freed by close()
        self.context = self.device.make_context()     # created and made current
        self.limits = _device_limits(cuda, self.device)
        _open_targets.add(self)
        self.graphs = _graph_api()
        logger.info("pyNN.gpu CUDA target on device %d (%s, compute capability %d.%d)",
                    self.device_index, self.device.name(), *self.device.compute_capability())

    @contextlib.contextmanager
    def activated(self):
        """Make this target's context current for the duration (another may be on top)."""
        if self.context is None:
            raise RuntimeError("the CUDA target was closed (pyNN end() was called)")
        self.context.push()
        try:
            yield
        finally:
            self._cuda.Context.pop()

    def compile(self, code):
        module = self.load_module(code)
        with self.activated():
            program = CudaProgram(code, self, module)
        self._programs.add(program)
        return program

    def load_module(self, code):
        """Compile CUDA source (through the cache) and load it into this target's context."""
        if self.nvcc is None:
            raise CompilationError("nvcc not found (set $PYNN_GPU_NVCC or put nvcc on PATH)")
        arch, ptx = _arch_for(self.nvcc, self.device.compute_capability())
        suffix = ".ptx" if ptx else ".cubin"
        key = content_key(code.cache_text, " ".join(nvcc_command("nvcc", "", "", arch, ptx)),
                          nvcc_version(self.nvcc))

        def build(output):
            source = output.with_suffix(".cu")
            compile_source(nvcc_command(self.nvcc, source, output, arch, ptx), source,
                           code.source, CompilationError, "nvcc")

        binary = cached_build(key, suffix, build).read_bytes()
        if ptx:
            binary += b"\0"      # cuModuleLoadData reads PTX as a C string
        with self.activated():
            return self._cuda.module_from_buffer(binary)

    def close(self):
        """Free device memory, then destroy the context (detach pops it if current)."""
        if self.context is None:
            return
        try:
            with self.activated():
                for program in self._programs:
                    program.release()
        finally:
            self._programs = weakref.WeakSet()
            context, self.context = self.context, None
            _open_targets.discard(self)
            context.detach()


# PyCUDA aborts the interpreter if a context is still on its stack at exit: close what
# a script left open (setup() without end()).
_open_targets = weakref.WeakSet()


@atexit.register
def _close_open_targets():
    for target in list(_open_targets):
        try:
            target.close()
        except Exception as error:
            logger.warning("pyNN.gpu: closing the CUDA target failed: %s", error)


# --- a compiled network ---------------------------------------------------------------------

class CudaProgram(Program):

    def __init__(self, code, target, module):
        super().__init__(code)
        cuda = self._cuda = target._cuda
        self.target = target
        self.module = module
        scalar = _SCALAR_LINE.search(code.source).group(1)
        self._dtypes = dict(_CTYPES, scalar=np.float64 if scalar == "double" else np.float32)
        self._ctypes = {spec.name: spec.ctype for spec in code.arrays}
        self._launches = []         # launch(stream) of each kernel of one step, in order
        self._launch_names = []     # ... and its kernel's name
        self.block_sizes = {}       # kernel name -> threads per block
        for name, threads in _LAUNCH_LINE.findall(code.source):
            self._launch_names.append(name)
            threads = int(threads)
            function = module.get_function(name)
            block = self._block_for(function, threads)
            # whole warps, no more than needed for small kernels
            block = min(block, (threads + 31) // 32 * 32)
            grid = (threads + block - 1) // block
            self.block_sizes[name] = block
            self._launches.append(_launcher(function, (grid, 1), (block, 1, 1)))
        self._steps_per_graph = max(1, min(MAX_STEPS_PER_GRAPH,
                                           MAX_NODES_PER_GRAPH // max(len(self._launches), 1)))
        self._clock = {name: module.get_global(name)[0]
                       for name in ("_current_step", "_first_step", "_seed")}
        self._device = {}           # name -> DeviceAllocation
        self._host = {}             # name -> bound host array
        self._tables = [(table, *module.get_global(f"{table.name}_rows"))
                        for table in code.tables]
        self._tables_stale = True   # an allocation moved since the tables were written
        self._stale = set()         # allocated but not yet given the host values
        self._graphs = collections.OrderedDict()   # chunk length -> graph exec handle
        self._capture_works = True
        self.stream = cuda.Stream()

    def _block_for(self, function, threads):
        resources = _kernel_resources(function)
        forced = self.target.block_size
        if forced is not None:
            # a kernel of many registers cannot start blocks of that many threads
            largest = forced if resources is None else resources.max_threads_per_block // 32 * 32
            if forced > largest:
                logger.warning("%s=%d is more threads than a kernel of %d registers per "
                               "thread can run in a block: it gets %d", BLOCK_SIZE_ENV,
                               forced, resources.registers_per_thread, largest)
                return largest
            return forced
        if resources is None:
            return DEFAULT_BLOCK_SIZE
        return choose_block_size(threads, resources, self.target.limits)

    # --- arrays -----------------------------------------------------------------------------

    def bind(self, arrays):
        # only the arrays replaced since the last bind (see Program._replaced)
        replaced = self._replaced(arrays, self._host)
        if not replaced and not self._tables_stale:
            return
        with self.target.activated():
            for name in replaced:
                host = arrays[name]
                if isinstance(host, DeviceResident):
                    self._adopt(name, host)
                    continue
                if not host.flags.c_contiguous:
                    raise ValueError(f"array {name} must be contiguous")
                expected = self._dtypes[self._ctypes[name]]
                if host.dtype != expected:
                    raise TypeError(f"array {name} is {host.dtype}, the kernels use "
                                    f"{np.dtype(expected)}")
                allocation = self._device.get(name)
                if allocation is None or self._host[name].nbytes != host.nbytes:
                    self._allocate(name, host.nbytes)
                self._host[name] = host
            if self._tables_stale:
                self._write_tables()

    def _write_tables(self):
        """Each merged kernel's struct table: array pointers and int64 values, 8 bytes each."""
        for table, symbol, size in self._tables:
            words = np.zeros((len(table.rows), len(table.fields)), dtype=np.uint64)
            for r, row in enumerate(table.rows):
                for f, (spec, value) in enumerate(zip(table.fields, row)):
                    if not spec.is_array and spec.ctype == "double":
                        words[r, f] = np.float64(value).view(np.uint64)
                    elif not spec.is_array:
                        words[r, f] = np.uint64(int(value) & 0xFFFFFFFFFFFFFFFF)
                    elif value is not None:
                        words[r, f] = int(self._device[value])
            if size != words.nbytes:
                raise RuntimeError(f"table {table.name}_rows has {size} bytes, "
                                   f"expected {words.nbytes}")
            self._cuda.memcpy_htod(symbol, words)
        self._tables_stale = False

    def _adopt(self, name, resident):
        """Use memory the target filled itself (generated synapses): nothing to push."""
        expected = np.dtype(self._dtypes[self._ctypes[name]])
        if resident.dtype != expected:
            raise TypeError(f"array {name} is {resident.dtype}, the kernels use {expected}")
        if self._device.get(name) is not resident.allocation:
            old = self._device.pop(name, None)
            if old is not None and not isinstance(self._host.get(name), DeviceResident):
                old.free()
            self._device[name] = resident.allocation
            self._set_pointer(name, resident.allocation)
            self._tables_stale = True
        self._host[name] = resident
        self._stale.discard(name)

    def _allocate(self, name, nbytes):
        old = self._device.pop(name, None)
        if old is not None:
            old.free()
        allocation = self._cuda.mem_alloc(max(nbytes, 8))
        self._device[name] = allocation
        self._set_pointer(name, allocation)
        self._stale.add(name)
        self._tables_stale = True

    def push(self, names):
        with self.target.activated():
            for name in names:
                host = self._host[name]
                if isinstance(host, DeviceResident):
                    continue        # only on the device
                if host.nbytes:
                    self._cuda.memcpy_htod(self._device[name], host)
                self._stale.discard(name)

    def written_by_target(self, names):
        self._stale.difference_update(names)

    def _push_stale(self):
        if self._stale:
            self.push(sorted(self._stale))

    def pull(self, names):
        with self.target.activated():
            self._push_stale()
            for name in names:
                host = self._host[name]
                if host.nbytes and not isinstance(host, DeviceResident):
                    self._cuda.memcpy_dtoh(host, self._device[name])

    def __del__(self):
        # a program replaced by a rebuild: free its memory now, not at close()
        try:
            if self._device and self.target.context is not None:
                with self.target.activated():
                    self.release()
        except Exception:
            pass

    def release(self):
        """Free device memory and graphs (the target's context must be current)."""
        while self._graphs:
            self.target.graphs.destroy(self._graphs.popitem()[1])
        for allocation in self._device.values():
            allocation.free()
        self._device.clear()
        self._launches = []
        self.stream = None
        self.module = None

    # --- recorded spikes ----------------------------------------------------------------------

    def recorded_spikes(self, name, words, n_steps):
        """(steps, neurons) of the spike bits recorded in the first n_steps rows of `name`
        (see Program.recorded_spikes), listed on the device: what crosses to the host is one
        count per step and 4 bytes per spike, not every bit of every step (the cortical
        microcircuit records 96 MB of bits per simulated second, and about 1 MB of spikes)."""
        rows, row_words = int(n_steps), int(words.shape[1])
        cuda = self._cuda
        counts = np.zeros(rows, np.int64)
        neurons = np.zeros(0, np.int32)
        if rows == 0 or row_words == 0:
            return np.zeros(0, np.int64), neurons.astype(np.int64)
        grid = ((rows + SPIKE_LIST_BLOCK - 1) // SPIKE_LIST_BLOCK, 1)
        block = (SPIKE_LIST_BLOCK, 1, 1)
        with self.target.activated():
            self._push_stale()
            start = cuda.mem_alloc(8 * rows)
            listed = None
            try:
                self._set_pointer("_rec_words", self._device[name])
                self._set_pointer("_rec_start", start)
                self._set_global("_rec_rows", np.array([rows], np.int64))
                self._set_global("_rec_row_words", np.array([row_words], np.int64))
                self._launch_once("count_recorded_spikes", grid, block)
                cuda.memcpy_dtoh(counts, start)
                first = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
                total = int(counts.sum())
                if total:
                    cuda.memcpy_htod(start, first)
                    listed = cuda.mem_alloc(4 * total)
                    self._set_pointer("_rec_neurons", listed)
                    self._launch_once("list_recorded_spikes", grid, block)
                    neurons = np.empty(total, np.int32)
                    cuda.memcpy_dtoh(neurons, listed)
            finally:
                start.free()
                if listed is not None:
                    listed.free()
        steps = np.repeat(np.arange(rows, dtype=np.int64), counts)
        return steps, neurons.astype(np.int64)

    def _set_global(self, variable, values):
        """A __device__ or __constant__ global of the module, written from host values."""
        symbol, size = self.module.get_global(variable)
        assert size == values.nbytes, f"{variable} has {size} bytes, not {values.nbytes}"
        self._cuda.memcpy_htod(symbol, values)

    def _set_pointer(self, variable, allocation):
        self._set_global(variable, np.array([int(allocation)], np.uint64))

    def _launch_once(self, kernel, grid, block):
        _launcher(self.module.get_function(kernel), grid, block)(self.stream)
        self.stream.synchronize()

    # --- running ----------------------------------------------------------------------------

    def _start(self, first_step, seed):
        """Before a run: pending arrays to the device, the clock and the seed set (the
        target's context must be current)."""
        self._push_stale()
        for clock in ("_current_step", "_first_step"):
            self._cuda.memcpy_htod(self._clock[clock], np.array([first_step], np.int64))
        self._cuda.memcpy_htod(self._clock["_seed"],
                               np.array([int(seed) & 0xFFFFFFFFFFFFFFFF], np.uint64))

    def run(self, first_step, n_steps, seed, threads, exchange=None):
        cuda = self._cuda
        # over several processes: windows of exchange.lag steps, the spikes combined after each
        window = exchange.every if exchange is not None else n_steps
        with self.target.activated():
            self._start(first_step, seed)
            done = 0
            while done < n_steps:
                end = min(done + window, n_steps)
                while done < end:
                    length = min(end - done, self._steps_per_graph)
                    self._run_chunk(length)
                    done += length
                if exchange is not None:
                    self.stream.synchronize()
                    self.pull(exchange.read_names)
                    exchange(first_step + done)
                    self.push(exchange.written_names)
            if exchange is not None:
                self._finish_lagged_steps(first_step, first_step + n_steps, exchange.lag)
            self.stream.synchronize()
            now = np.zeros(1, np.int64)
            cuda.memcpy_dtoh(now, self._clock["_current_step"])
        if int(now[0]) != first_step + n_steps:
            raise RuntimeError(f"CUDA run ended at step {int(now[0])}, "
                               f"expected {first_step + n_steps}")

    def _finish_lagged_steps(self, first_step, end_step, lag):
        """Over several processes: the spikes of the run's last `lag` steps, combined by its
        last exchange, reach their synapses now (the kernels that act lag steps late, with the
        clock set as they expect it), so that a run leaves nothing in flight."""
        # the kernels that act lag steps late open the step (codegen's launch plan)
        lagged = []
        for name, launch in zip(self._launch_names, self._launches):
            if not name.startswith(("list_delayed_", "learn_", "propagate_")):
                break
            lagged.append(launch)
        for step in range(max(first_step, end_step - lag), end_step):
            self.stream.synchronize()
            self._cuda.memcpy_htod(self._clock["_current_step"], np.array([step + lag], np.int64))
            for launch in lagged:
                launch(self.stream)
        self.stream.synchronize()
        self._cuda.memcpy_htod(self._clock["_current_step"], np.array([end_step], np.int64))

    def _run_chunk(self, n_steps):
        graphs = self.target.graphs
        if graphs is None or not self._capture_works:
            self._launch_steps(n_steps)
            return
        executable = self._graphs.get(n_steps)
        if executable is None:
            try:
                executable = graphs.capture(self.stream, lambda: self._launch_steps(n_steps))
            except Exception as error:    # nothing ran: captured launches do not execute
                self._capture_works = False
                _warn_once(f"CUDA graph capture failed ({error}): pyNN.gpu launches the "
                           "kernels of every step from Python, which is slower")
                self._launch_steps(n_steps)
                return
            self._graphs[n_steps] = executable
            while len(self._graphs) > _GRAPHS_KEPT:
                graphs.destroy(self._graphs.popitem(last=False)[1])
        self._graphs.move_to_end(n_steps)
        graphs.launch(executable, self.stream)

    def _launch_steps(self, n_steps):
        for _ in range(n_steps):
            for launch in self._launches:
                launch(self.stream)

    def profile(self, first_step, n_steps, seed):
        """Run n_steps and return the mean microseconds per step of each kernel, timed with
        a CUDA event between every two kernels. Launched from Python, small kernels would
        be timed at Python's launch rate (the device waits for each launch), so the steps
        go in rounds: a graph of PROFILE_HOLD_STEPS steps keeps the device busy while
        Python queues PROFILE_TIMED_STEPS steps of single launches and events behind it,
        which the device then runs back to back. (Events recorded inside graphs cannot be
        timed.) The network advances as in run(); this is for finding where a step's time
        goes."""
        names = [name for name, _ in _LAUNCH_LINE.findall(self.code.source)]
        totals, timed, done = np.zeros(len(names)), 0, 0
        with self.target.activated():
            self._start(first_step, seed)
            while done < n_steps:
                hold = min(PROFILE_HOLD_STEPS, n_steps - done - 1)    # leaves one to time
                if hold:
                    self._run_chunk(hold)
                steps = min(PROFILE_TIMED_STEPS, n_steps - done - hold)
                totals += self._timed_steps(steps)
                timed += steps
                done += hold + steps
        return {name: total / max(timed, 1) for name, total in zip(names, totals)}

    def _timed_steps(self, n_steps):
        """Microseconds of each kernel, summed over n_steps steps launched singly."""
        events = [[self._cuda.Event() for _ in range(len(self._launches) + 1)]
                  for _ in range(n_steps)]
        for marks in events:
            marks[0].record(self.stream)
            for launch, mark in zip(self._launches, marks[1:]):
                launch(self.stream)
                mark.record(self.stream)
        self.stream.synchronize()
        return np.array([[later.time_since(earlier) * 1000.0
                          for earlier, later in zip(marks, marks[1:])]
                         for marks in events]).reshape(n_steps, -1).sum(axis=0)


def configured_device():
    """The device index $PYNN_GPU_DEVICE gives (None where it is unset or blank)."""
    text = os.environ.get(DEVICE_ENV, "").strip()
    if not text:
        return None
    try:
        index = int(text)
    except ValueError:
        index = -1
    if index < 0:
        raise errors.InvalidParameterValueError(
            f"${DEVICE_ENV} must be the index of a CUDA device, a whole number >= 0 "
            f"(got {text!r})")
    return index


def _device_index(count):
    """$PYNN_GPU_DEVICE, else, in a job over several processes, the process's rank on its
    machine modulo the machine's GPUs (one GPU per process where there are enough), else 0."""
    configured = configured_device()
    if configured is not None:
        return configured
    from ..distributed import local_rank
    rank = local_rank()
    return rank % max(count, 1) if rank is not None else 0


@functools.lru_cache(maxsize=None)
def _warn_once(message):
    logger.warning("pyNN.gpu: %s", message)
