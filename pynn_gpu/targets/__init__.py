"""Compilation targets: where the generated code runs."""

import logging
import os

from pyNN import errors

logger = logging.getLogger("PyNN")

ENV_VAR = "PYNN_GPU_TARGET"
TARGET_NAMES = ("auto", "cpu", "cuda")


def choose_target(requested=None):
    """
    Return the Target for a setup(target=...) value, or the environment's choice.

    "auto" picks CUDA when PyCUDA imports and a device answers, else the C target.
    """
    name = requested or os.environ.get(ENV_VAR, "auto")
    if name not in TARGET_NAMES:
        raise errors.InvalidParameterValueError(
            f"target must be one of {', '.join(TARGET_NAMES)} (got {name!r})")
    from .cpu import CpuTarget
    from .cuda import CudaTarget
    if name == "auto":
        name = "cuda" if CudaTarget.is_available() else "cpu"
        logger.info("pyNN.gpu: target 'auto' chose %s", name)
    if name == "cuda":
        if not CudaTarget.is_available():
            raise errors.InvalidParameterValueError(
                "target 'cuda' needs PyCUDA and an NVIDIA GPU; neither answered here. "
                "Use target='cpu' or 'auto'. (" + CudaTarget.unavailable_reason() + ")")
        return CudaTarget()
    return CpuTarget()
