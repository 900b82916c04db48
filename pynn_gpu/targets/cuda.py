"""The CUDA target (PyCUDA). Placeholder until the CUDA templates land."""

from .base import Target


class CudaTarget(Target):
    name = "cuda"

    @classmethod
    def is_available(cls):
        return False

    @classmethod
    def unavailable_reason(cls):
        return "the CUDA target is not built yet"

    def compile(self, code):
        raise NotImplementedError
