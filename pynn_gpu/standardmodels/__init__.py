"""Standard models of pyNN.gpu: cells, synapses and electrodes."""

from pyNN.standardmodels import StandardCellType

from . import cells


def list_standard_models():
    """Names of the StandardCellType classes available in pyNN.gpu."""
    return [name for name, obj in vars(cells).items()
            if isinstance(obj, type) and issubclass(obj, StandardCellType)
            and hasattr(obj, "model")]
