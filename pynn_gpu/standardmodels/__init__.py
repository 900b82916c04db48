"""
Standard models of pyNN.gpu: cells, synapses and electrodes.

Every point-neuron model of PyNN 0.13 is available under its PyNN name, with PyNN's
parameter names and units (`list_standard_models()` lists them). Each cell type carries the
backend-native model it runs as its `model` attribute: a
:class:`pynn_gpu.modeldef.NeuronModelDef` holding the native parameter and state-variable
names, the derived constants, and the C snippets both targets compile::

    import pyNN.gpu as sim
    native = sim.EIF_cond_exp_isfa_ista.model       # or population.celltype.model
    native.params, native.state_names, native.derived
    print(native.update)                            # the per-step code of one neuron

A population's native values (parameters, derived constants, state) are in
`population._data.kernel` (arrays by native name). To run a model of your own, subclass a
standard cell type and set `model` to a NeuronModelDef (with `translations` for its
parameters); the integration scheme of each model is in its module's docstring
(cells.py, neurons_*.py) and its measured error in docs/numerics.md. The sub-step length of the
sub-stepped models can be changed through `neurons_common.MAX_SUBSTEP` before a network is
built.

PyNN's composable `PointNeuron` (a LIF or AdExp membrane with any number of named
receptors) is in point_neuron.py and receptors.py: each composition generates its own
NeuronModelDef (`celltype.model`), so it is not among the classes listed here.
"""

from pyNN.standardmodels import StandardCellType

from . import cells, sources


def list_standard_models():
    """Names of the StandardCellType classes available in pyNN.gpu (neurons and sources)."""
    names = []
    for module in (cells, sources):
        names += [name for name, obj in vars(module).items()
                  if isinstance(obj, type) and issubclass(obj, StandardCellType)
                  and hasattr(obj, "model") and obj.__module__.startswith(__name__)
                  and name not in names]
    return names
