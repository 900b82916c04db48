"""
Times (ms) to step numbers for the kernels, with a step for "never".

A time beyond any simulation (a `duration` or `stop` of +inf, or a start so late) becomes
NEVER_STEP: clipping in steps, not in ms, keeps it so at any timestep (a time clipped in
ms, divided by a small dt, overflowed int64 and became a step before the start).
"""

import numpy as np

NEVER_STEP = 2**62      # no simulation reaches it; int64, with room for sums of two


def time_steps(times, dt):
    """The nearest step number of each time (int64); NEVER_STEP for a time beyond any
    simulation, +inf included."""
    return whole_steps(np.rint(np.asarray(times, dtype=float) / dt))


def whole_steps(steps):
    """Step numbers given as whole floats, as int64; NEVER_STEP for those beyond it."""
    return np.where(steps < NEVER_STEP, steps, NEVER_STEP).astype(np.int64)
