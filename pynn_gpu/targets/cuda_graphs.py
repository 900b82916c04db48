"""
CUDA graphs through the driver API (libcuda, ctypes): PyCUDA (up to 2026.1 at least) has no
stream capture, so the CUDA target captures the launches of a chunk of steps on PyCUDA's
stream and context with the driver's own functions, and replays the graph.
"""

import ctypes


class DriverGraphs:
    """Capture launches made on a PyCUDA stream into an executable graph (libcuda, ctypes)."""

    CAPTURE_THREAD_LOCAL = 1     # CU_STREAM_CAPTURE_MODE_THREAD_LOCAL

    def __init__(self, library="libcuda.so.1"):     # the driver PyCUDA has loaded
        lib = ctypes.CDLL(library)
        vp, p = ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)
        signatures = {
            "cuStreamBeginCapture_v2": [vp, ctypes.c_int],
            "cuStreamEndCapture": [vp, p],
            "cuGraphInstantiateWithFlags": [p, vp, ctypes.c_ulonglong],
            "cuGraphLaunch": [vp, vp],
            "cuGraphExecDestroy": [vp],
            "cuGraphDestroy": [vp],
            "cuGetErrorName": [ctypes.c_int, ctypes.POINTER(ctypes.c_char_p)],
        }
        self._fn = {}
        for name, argtypes in signatures.items():
            function = getattr(lib, name)
            function.argtypes, function.restype = argtypes, ctypes.c_int
            self._fn[name] = function

    def _call(self, name, *args):
        status = self._fn[name](*args)
        if status != 0:
            text = ctypes.c_char_p()
            self._fn["cuGetErrorName"](status, ctypes.byref(text))
            raise RuntimeError(f"{name} failed: {(text.value or b'?').decode()} ({status})")

    def capture(self, stream, record):
        """Run record() (which launches on `stream`) under capture; return the graph exec."""
        handle = ctypes.c_void_p(stream.handle)
        self._call("cuStreamBeginCapture_v2", handle, self.CAPTURE_THREAD_LOCAL)
        graph = ctypes.c_void_p()
        try:
            record()
        finally:
            ended = self._fn["cuStreamEndCapture"](handle, ctypes.byref(graph))
        if ended != 0:
            self._call("cuStreamEndCapture", handle, ctypes.byref(graph))   # raises
        executable = ctypes.c_void_p()
        try:
            self._call("cuGraphInstantiateWithFlags", ctypes.byref(executable), graph, 0)
        finally:
            self._fn["cuGraphDestroy"](graph)
        return executable.value

    def launch(self, executable, stream):
        self._call("cuGraphLaunch", ctypes.c_void_p(executable), ctypes.c_void_p(stream.handle))

    def destroy(self, executable):
        self._fn["cuGraphExecDestroy"](ctypes.c_void_p(executable))
