"""Population, PopulationView and Assembly for pyNN.gpu."""

import numpy as np
from pyNN import common, errors
from pyNN.parameters import ArrayParameter, LazyArray, ParameterSpace, Sequence, simplify
from pyNN.parameters import simplify as simplify_parameter_array
from pyNN.random import RandomDistribution
from pyNN.standardmodels import StandardCellType

from . import distributed, simulator
from .neuron_data import NeuronData
from .recording import Recorder


def state_name(celltype, variable):
    """The native name of a state variable (composed models name 'AMPA.gsyn' 'AMPA_gsyn')."""
    return getattr(celltype, "variable_map", {}).get(variable, variable)


def _simplified(values):
    """One number for values that are all the same (PyNN's simplify), else the values."""
    values = np.asarray(values)
    return simplify(values) if values.size and values.dtype != object else values


def evaluate_per_cell(parameter_space, size):
    """
    Evaluate a ParameterSpace of `size` cells. A function of the cell index that gives a
    Sequence (spike times, ...) may be written for one index, as PyNN documents, or for the
    array of all indices, as lazyarray calls it (some of PyNN's examples do that).
    """
    for name, value in list(parameter_space.items()):
        base = value.base_value
        if (value.dtype in (Sequence, ArrayParameter) and callable(base)
                and not isinstance(base, RandomDistribution) and not value.operations):
            parameter_space[name] = _sequences_per_cell(base, size)
    # a translated parameter (IF_facets_hardware1's tau_m = 1e3 * 0.2 / g_leak) may come out
    # infinite or NaN: NeuronData rejects such values with a message, not a numpy warning
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        parameter_space.evaluate(simplify=False)


def _translations(celltype):
    """A standard cell type's translations (standard name -> native name and transforms),
    for messages about its parameters; None for a native cell type."""
    return getattr(celltype, "translations", None) if isinstance(celltype, StandardCellType) \
        else None


def _sequences_per_cell(function, size):
    """One value per cell: from a call with all indices when that gives one sequence per
    cell, else from one call per index."""
    try:
        values = function(np.arange(size))
    except Exception:       # written for one index: it cannot take an array
        values = None
    if (isinstance(values, (list, tuple)) and len(values) == size
            and all(isinstance(v, (Sequence, ArrayParameter)) for v in values)):
        return list(values)
    return [function(i) for i in range(size)]


def _local_values(value, mask_local):
    """A parameter's values for the local cells: one per cell selected, else as given."""
    if isinstance(value, np.ndarray) and value.shape[:1] == mask_local.shape:
        return value[mask_local]
    if isinstance(value, list) and len(value) == mask_local.size:
        return [v for v, local in zip(value, mask_local) if local]
    return value


def _scalar_dtype():
    return np.float64 if simulator.state.precision == "double" else np.float32


class Assembly(common.Assembly):
    _simulator = simulator

    @property
    def receptor_types(self):
        """Receptor types common to all populations, in the first population's order.

        (PyNN's generic version goes through a set, so the order, and with it the default
        receptor of a projection onto an Assembly, changes from one process to the next.)
        """
        common_types = set.intersection(*[set(p.celltype.receptor_types)
                                          for p in self.populations])
        return [r for r in self.populations[0].celltype.receptor_types if r in common_types]

    def get(self, parameter_names, gather=False, simplify=True):
        """PyNN's get. Over several processes, a process may hold none of the Assembly's
        cells (a population of fewer than 33 cells is one process's): it gets empty
        values, as from Population.get (PyNN's would fail simplifying them). With
        gather=True, every process gets every cell's values, those one process gets."""
        state = simulator.state
        if state.num_processes == 1:
            return super().get(parameter_names, gather=gather, simplify=simplify)
        names = (parameter_names,) if isinstance(parameter_names, str) else parameter_names
        local = {name: [] for name in names}
        offset, positions = 0, []
        for population in self.populations:
            for name, values in zip(names, population.get(names, gather=False,
                                                          simplify=False)):
                local[name].append(np.atleast_1d(values))
            positions.append(offset + np.flatnonzero(population._mask_local))
            offset += population.size
        values = {name: np.hstack(parts) for name, parts in local.items()}
        if gather:      # every process's cells, in the Assembly's order, to every process
            gathered = state.mpi_comm.allgather((np.hstack(positions), values))
            order = np.argsort(np.hstack([where for where, _ in gathered]), kind="stable")
            values = {name: np.hstack([part[name] for _, part in gathered])[order]
                      for name in names}
        if simplify:
            values = {name: simplify_parameter_array(array) if array.size else array
                      for name, array in values.items()}
        if isinstance(parameter_names, str):
            return values[parameter_names]
        return [values[name] for name in names]

    def write_data(self, io, variables="all", gather=True, clear=False, annotations=None):
        """PyNN's write_data, clearing (clear=True) only once the data are written: a write
        that fails loses nothing."""
        super().write_data(io, variables, gather, clear=False, annotations=annotations)
        if clear:
            for population in self.populations:
                population.recorder.clear()


class _ParameterAccess:
    """get()/set() plumbing shared by Population and PopulationView."""

    _agreement = None       # during a set() that every process makes (several processes)
    _set_by_one_process = False     # a single cell's view (ID.set_parameters)

    def set(self, **parameters):
        """PyNN's set. Over several processes, each checks its own cells' values and the
        processes agree on the outcome before any keeps them (distributed.Agreement): a
        bad value in one process's cells raises in every process and changes nothing
        anywhere, as in one process. A single cell's parameters (cell.tau_m = ...), set by
        the process holding it alone, are checked there only."""
        state = simulator.state
        if state.num_processes == 1 or self._set_by_one_process:
            return super().set(**parameters)
        pynn_set = super().set
        distributed.agreed(state, self, lambda: pynn_set(**parameters))

    def initialize(self, **initial_values):
        """Set initial values of state variables (PyNN's initialize). The population's
        initial_values then hold the values the cells start from: a RandomDistribution is
        drawn once, not again each time they are read."""
        population = getattr(self, "grandparent", self)
        for variable, value in initial_values.items():
            value = LazyArray(value, shape=(self.size,), dtype=float)
            self._set_initial_value_array(variable, value)
            values = self._neuron_data.initial[state_name(self.celltype, variable)]
            # one number when all cells start alike (as PyNN keeps a number it was given)
            population.initial_values[variable] = LazyArray(
                _simplified(values.astype(float)), shape=(population.size,))

    def get(self, parameter_names, gather=False, simplify=True):
        """PyNN's get. Over several processes with gather=True, every process gathers its
        values unsimplified: PyNN's gathering skips a process whose values simplify to one
        number, and the others would wait for it for ever. The gathered values are then
        simplified (on the root, which holds them all)."""
        if not (gather and simulator.state.num_processes > 1):
            return super().get(parameter_names, gather=gather, simplify=simplify)
        values = super().get(parameter_names, gather=True, simplify=False)
        if not simplify:
            return values
        if isinstance(parameter_names, str):
            return _simplified(values)
        return [_simplified(v) for v in values]

    def _get_parameters(self, *names, every_cell=False):
        """The parameters of the local cells (PyNN gathers those of other processes), or,
        with every_cell, of all cells (each process holds every cell's parameters)."""
        celltype = self.celltype
        known = celltype.get_parameter_names()
        for name in names:
            if name not in known:
                raise errors.NonExistentParameterError(name, type(celltype).__name__, known)
        if isinstance(celltype, StandardCellType):
            if any(name in celltype.computed_parameters() for name in names):
                native_names = celltype.get_native_names()
            else:
                native_names = celltype.get_native_names(*names)
            native = self._get_native_parameters(*native_names, every_cell=every_cell)
            return celltype.reverse_translate(native)
        return self._get_native_parameters(*names, every_cell=every_cell)

    def _get_native_parameters(self, *names, every_cell=False):
        data = self._neuron_data
        everyone = every_cell or self._mask_local.all()
        cells = (self._parent_mask if everyone
                 else np.asarray(self._parent_mask_indices)[self._mask_local])
        values = {}
        for name in names:
            if name not in data.params:
                raise errors.NonExistentParameterError(name, self.celltype.__class__.__name__,
                                                       list(data.params))
            values[name] = data.params[name][cells]
            if len(values[name]):       # a process may hold none of the cells
                values[name] = simplify(values[name])
        return ParameterSpace(values, shape=(self.size if everyone else self.local_size,))

    def parameter_values(self, name):
        """One standard parameter's values (PyNN's units) for every cell, in every process
        of a run over several (pyNN.gpu's own use: weight scaling)."""
        space = self._get_parameters(name, every_cell=True)
        space.evaluate(simplify=False)
        return np.asarray(space[name], dtype=float)

    @property
    def _parent_mask_indices(self):
        return np.arange(self.size) if isinstance(self._parent_mask, slice) else self._parent_mask

    def _set_parameters(self, parameter_space):
        engine = simulator.state.engine
        if self.celltype.model.restart_on_change and engine is not None:
            engine.sync_to_host()   # that state is changed for some neurons: the latest first
        evaluate_per_cell(parameter_space, self.size)
        values = dict(parameter_space.items())
        mask = self._parent_mask
        if not self._mask_local.all():
            # several processes: PyNN fills other processes' cells of a parameter computed
            # from others (IF_cond_exp's tau_refrac, ...) with NaN; only local ones are set
            mask = np.asarray(self._parent_mask_indices)[self._mask_local]
            values = {name: _local_values(value, self._mask_local)
                      for name, value in values.items()}
        self._neuron_data.set_parameters(values, mask=mask, current_step=simulator.state.step,
                                         translations=_translations(self.celltype),
                                         agree=self._agreement)

    def _set_initial_value_array(self, variable, initial_values):
        data = self._neuron_data
        variable = state_name(self.celltype, variable)
        if variable not in data.initial:
            raise errors.NonExistentParameterError(variable, self.celltype.__class__.__name__,
                                                   list(data.initial))
        values = initial_values.evaluate(simplify=False) if hasattr(initial_values, "evaluate") \
            else np.asarray(initial_values)
        values = np.broadcast_to(values, (self.size,))
        engine = simulator.state.engine
        if engine is not None:
            engine.sync_to_host()   # the other neurons keep their current values
        data.set_initial(variable, values, self._parent_mask)


class PopulationView(_ParameterAccess, common.PopulationView):
    _assembly_class = Assembly
    _simulator = simulator

    @property
    def initial_values(self):
        parent_values = self.grandparent.initial_values
        mask = self._parent_mask
        return {name: LazyArray(np.asarray(value.evaluate(simplify=False))[mask])
                for name, value in parent_values.items()}

    @property
    def _neuron_data(self):
        return self.grandparent._data

    @property
    def _parent_mask(self):
        return self.index_in_grandparent(np.arange(self.size))

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)


class Population(_ParameterAccess, common.Population):
    __doc__ = common.Population.__doc__
    _simulator = simulator
    _recorder_class = Recorder
    _assembly_class = Assembly

    def _create_cells(self):
        try:
            self._create_checked_cells()
        except BaseException:
            # PyNN made this population's recorder before its cells: a population that
            # was refused records nothing (reset() and end() go through every recorder)
            simulator.state.recorders.discard(self.recorder)
            raise

    def _create_checked_cells(self):
        state = simulator.state
        state.require_setup("Population()")
        if not hasattr(self.celltype, "model"):
            raise errors.InvalidModelError(
                f"{type(self.celltype).__name__} is not available in pyNN.gpu; "
                f"available: {', '.join(sorted(_available_models()))}")
        id_range = np.arange(state.id_counter, state.id_counter + self.size)
        self.all_cells = np.array([simulator.ID(i) for i in id_range], dtype=simulator.ID)
        for cell in self.all_cells:
            cell.parent = self
        # the cells this process simulates (all of them, but in runs over several processes)
        self._mask_local = distributed.local_mask(self.size, state.mpi_rank, state.num_processes)
        state.id_counter += self.size

        parameter_space = self.celltype.native_parameters
        parameter_space.shape = (self.size,)
        evaluate_per_cell(parameter_space, self.size)
        self._data = NeuronData(self.celltype.model, self.size, _scalar_dtype(), state.dt,
                                off_grid=state.spike_precision == "off_grid")
        self._data.set_parameters(dict(parameter_space.items()), current_step=state.step,
                                  translations=_translations(self.celltype))
        state.populations.append(self)
        state.structure_changed()

    @property
    def _neuron_data(self):
        return self._data

    @property
    def _parent_mask(self):
        return slice(None)

    def _set_cell_initial_value(self, id, variable, value):
        """ID.set_initial_value: the cell starts from the value (PyNN's own only notes it
        in initial_values)."""
        index = self.id_to_index(id)
        self[index:index + 1].initialize(**{variable: value})

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)


def _available_models():
    from . import standardmodels
    return standardmodels.list_standard_models()
