"""pyNN.gpu: a PyNN backend that runs spiking networks through generated code."""
