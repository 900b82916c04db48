"""
pyNN.gpu: a PyNN backend that runs spiking networks through generated code, on NVIDIA
GPUs (CUDA through PyCUDA) or on any CPU (C compiled by the system compiler).

Use it as any PyNN backend:

    import pyNN.gpu as sim
    sim.setup(timestep=0.1)          # target="auto" | "cpu" | "cuda", precision="double" | "float"
"""

from pyNN import errors, random, space                            # noqa: F401
from pyNN.connectors import *                                      # noqa: F401,F403
from pyNN.network import Network                                  # noqa: F401
from pyNN.random import GSLRNG, NumpyRNG, RandomDistribution      # noqa: F401
from pyNN.recording import *                                       # noqa: F401,F403
from pyNN.space import Space                                      # noqa: F401
from pyNN.standardmodels import StandardCellType                  # noqa: F401

from .control import (connectivity_report, end, get_current_time,  # noqa: F401
                      get_max_delay, get_min_delay, get_time_step, initialize, num_processes,
                      rank, reset, run, run_for, run_until, setup)
from .native_cells import NativeCellType, native_cell_type, native_models  # noqa: F401
from .native_synapses import NativeSynapseType, native_synapse_type  # noqa: F401
from .native_connectivity import NativeRNG                        # noqa: F401
from .populations import Assembly, Population, PopulationView    # noqa: F401
from .procedural_api import (connect, create, record, record_gsyn, record_v,  # noqa: F401
                             set)
from .projections import Projection                               # noqa: F401
from .scaling import (ScalingPolicy, apply_weight_scaling, in_degree,  # noqa: F401
                      scale_weights, scaling_report)
from .standardmodels import list_standard_models                  # noqa: F401
from .standardmodels.cells import (EIF_cond_alpha_isfa_ista, EIF_cond_exp_isfa_ista,  # noqa: F401
                                   GIF_cond_exp, HH_cond_exp, IF_cond_alpha, IF_cond_exp,
                                   IF_cond_exp_gsfa_grr, IF_curr_alpha, IF_curr_delta,
                                   IF_curr_exp, IF_facets_hardware1, Izhikevich,
                                   SpikeSourceArray, SpikeSourcePoisson)
from .standardmodels.drives import PoissonDrive                     # noqa: F401
from .standardmodels.point_neuron import AdExp, LIF, PointNeuron  # noqa: F401
from .standardmodels.receptors import (AlphaPSR, BetaPSR,  # noqa: F401
                                       CondAlphaPostSynapticResponse,
                                       CondBetaPostSynapticResponse,
                                       CondExpPostSynapticResponse,
                                       CurrExpPostSynapticResponse, ExpPSR)
from .standardmodels.electrodes import (ACSource, DCSource,  # noqa: F401
                                        NoisyCurrentSource, StepCurrentSource)
from .standardmodels.sources import (SpikeSourceGamma, SpikeSourceInhGamma,  # noqa: F401
                                     SpikeSourcePoissonRefractory)
from .standardmodels.synapses import (ElectricalSynapse, MultiQuantalSynapse,  # noqa: F401
                                      SimpleStochasticSynapse, StaticSynapse,
                                      StochasticTsodyksMarkramSynapse, TsodyksMarkramSynapse)
from .standardmodels.plasticity import (AdditivePotentiationMultiplicativeDepression,  # noqa: F401
                                        AdditiveWeightDependence,
                                        GutigWeightDependence, MultiplicativeWeightDependence,
                                        SpikePairRule, STDPMechanism, Vogels2011Rule)

__version__ = "0.1.0"
