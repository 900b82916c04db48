"""Exact-integration propagators against their closed forms."""

import numpy as np

from pynn_gpu.standardmodels.cells import IF_CURR_EXP_MODEL


def test_curr_exp_propagators_match_closed_form():
    dt = 0.1
    params = {"tau_m": np.array([20.0, 10.0, 5.0]), "cm": np.array([1.0, 0.25, 0.5]),
              "tau_syn_E": np.array([5.0, 10.0, 2.0]), "tau_syn_I": np.array([3.0, 2.0, 5.0]),
              "tau_refrac": np.array([2.0, 0.0, 0.1])}
    derived = IF_CURR_EXP_MODEL.derive(params, dt)
    tm, c, te = params["tau_m"], params["cm"], params["tau_syn_E"]
    with np.errstate(divide="ignore", invalid="ignore"):   # neuron 1 has tau_m == tau_syn
        p21 = te * tm / (c * (tm - te)) * (np.exp(-dt / tm) - np.exp(-dt / te))
    p21[1] = dt / c[1] * np.exp(-dt / tm[1])   # tau_m == tau_syn: the limit of the formula
    np.testing.assert_allclose(derived["P22"], np.exp(-dt / tm), rtol=1e-14)
    np.testing.assert_allclose(derived["P11e"], np.exp(-dt / te), rtol=1e-14)
    np.testing.assert_allclose(derived["P20"], tm / c * (1 - np.exp(-dt / tm)), rtol=1e-12)
    np.testing.assert_allclose(derived["P21e"], p21, rtol=1e-10)
    np.testing.assert_array_equal(derived["refractory_steps"], [20, 0, 1])
