"""
Current sources (electrodes) for pyNN.gpu.

An electrode is injected into any set of cells; the engine compiles one small kernel per
(electrode, target population) that adds `amplitude_now` to the injected current of its
neurons in every step. Parameters live in one-element arrays, so changing them between
runs takes effect in the next run without recompiling.
"""

import numpy as np
from pyNN import errors
from pyNN.parameters import ParameterSpace
from pyNN.standardmodels import build_translations, electrodes

from .. import simulator
from ..modeldef import CurrentSourceDef

DC_SOURCE_MODEL = CurrentSourceDef(
    name="dc_source",
    params=("amplitude",),
    int_params=("start_step", "stop_step"),
    # on during the steps that start at or after `start` and before `stop`
    code="amplitude_now = (_step >= start_step && _step < stop_step) ? amplitude : (scalar) 0;",
)


class _CurrentSource:
    """What every pyNN.gpu electrode shares: targets, native parameters, change tracking."""

    def __init__(self, **parameters):
        object.__setattr__(self, "_native", {})
        object.__setattr__(self, "_changed", True)
        super().__init__(**parameters)
        parameter_space = ParameterSpace(self.default_parameters, self.get_schema(), shape=(1,))
        parameter_space.update(**parameters)
        self.set_native_parameters(self.translate(parameter_space))

    def inject_into(self, cells):
        for population, indices in _by_population(cells):
            simulator.state.current_sources.append((self, population, indices))
        simulator.state.structure_changed()

    def set_native_parameters(self, parameters):
        parameters.evaluate(simplify=True)
        for name, value in parameters.items():
            self._check(name, value)
            self._native[name] = value
        object.__setattr__(self, "_changed", True)

    def get_native_parameters(self):
        return ParameterSpace(dict(self._native))

    def _check(self, name, value):
        pass

    def _steps(self, time, dt):
        return np.int64(np.rint(min(float(time), 1e15) / dt))


class DCSource(_CurrentSource, electrodes.DCSource):
    __doc__ = electrodes.DCSource.__doc__
    translations = build_translations(
        ("amplitude", "amplitude"),
        ("start", "start"),
        ("stop", "stop"),
    )
    model = DC_SOURCE_MODEL

    def _check(self, name, value):
        if name in ("start", "stop") and value < 0:
            raise errors.InvalidParameterValueError(f"{name} must be >= 0 ms (got {value})")

    def kernel_arrays(self, dt, scalar):
        p = self._native
        return {
            "amplitude": np.array([p["amplitude"]], dtype=scalar),
            "start_step": np.array([self._steps(p["start"], dt)], dtype=np.int64),
            "stop_step": np.array([self._steps(p["stop"], dt)], dtype=np.int64),
        }


def _by_population(cells):
    """Split a Population, PopulationView, Assembly or list of IDs by parent population."""
    if hasattr(cells, "all_cells"):
        ids = np.asarray(cells.all_cells, dtype=np.int64)
    else:
        ids = np.asarray([int(c) for c in cells], dtype=np.int64)
    groups = []
    for population in simulator.state.populations:
        first = int(population.first_id)
        inside = (ids >= first) & (ids < first + population.size)
        if inside.any():
            if population.celltype.model.receptors == ():
                raise errors.ConnectionError(
                    f"cannot inject current into spike sources ({population.label})")
            if not population.celltype.injectable:
                raise errors.ConnectionError(f"{population.label} cannot receive current")
            groups.append((population, np.unique(ids[inside] - first)))
    return groups
