"""The network as pure data, between the PyNN objects and the code generator."""

from .graph import (ArraySpec, CurrentSourceGroup, NetworkGraph, NeuronGroup,  # noqa: F401
                    SampleRequest, SynapseGroup)
