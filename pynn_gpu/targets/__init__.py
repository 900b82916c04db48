"""Compilation targets: where the generated code runs."""

import logging
import os

from pyNN import errors

logger = logging.getLogger("PyNN")

ENV_VAR = "PYNN_GPU_TARGET"
TARGET_NAMES = ("auto", "cpu", "cuda")


def resolve_target_name(requested=None):
    """
    "cpu" or "cuda" for a setup(target=...) value, or the environment's choice, after
    checking it; nothing is created yet. "auto" picks CUDA when PyCUDA imports and a
    device answers, else the C target. The C target needs a C compiler: without one,
    setup() says so (CompilerNotFoundError) instead of the first run().
    """
    configured = os.environ.get(ENV_VAR, "").strip()
    name = requested or configured or "auto"
    if name not in TARGET_NAMES:
        origin = "target" if requested else f"${ENV_VAR}"
        raise errors.InvalidParameterValueError(
            f"{origin} must be one of {', '.join(TARGET_NAMES)} (got {name!r})")
    from .cpu import CpuTarget
    from .cuda import CudaTarget
    if name == "auto":
        name = "cuda" if CudaTarget.is_available() else "cpu"
        logger.info("pyNN.gpu: target 'auto' chose %s", name)
    if name == "cuda" and not CudaTarget.is_available():
        raise errors.InvalidParameterValueError(
            "target 'cuda' needs PyCUDA and an NVIDIA GPU; neither answered here. "
            "Use target='cpu' or 'auto'. (" + CudaTarget.unavailable_reason() + ")")
    if name == "cuda":
        CudaTarget.check_device_setting()
    if name == "cpu":
        CpuTarget.check_compiler()
    return name


def make_target(name):
    """A new Target object for a name returned by resolve_target_name."""
    from .cpu import CpuTarget
    from .cuda import CudaTarget
    return CudaTarget() if name == "cuda" else CpuTarget()
