"""Exact-integration propagators: against their closed forms, against one matrix exponential
per cell (bit for bit), and derived again after set() only where their inputs change."""

import dataclasses

import numpy as np
import pytest
from scipy.linalg import expm

from pynn_gpu.modelcheck import ModelDefinitionError
from pynn_gpu.neuron_data import NeuronData
from pynn_gpu.standardmodels.cells import IF_CURR_EXP_MODEL
from pynn_gpu.standardmodels.propagators import (curr_alpha_matrix, curr_exp_matrix,
                                                 curr_exp_receptors_matrix, distinct_rows,
                                                 propagators)


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


# --- every cell's propagator is the matrix exponential of its own matrix, bit for bit -------

def _heterogeneous_columns(rng, n, n_syn):
    """Time constants and capacitances over orders of magnitude, with repeated rows and
    tau_syn equal to tau_m (and just beside it) in some cells."""
    columns = {"tau_m": rng.choice(np.exp(rng.uniform(-2.0, 6.0, 40)), n),
               "cm": rng.choice(np.exp(rng.uniform(-4.0, 2.0, 40)), n)}
    for k in range(n_syn):
        columns[f"tau_syn_{k}"] = rng.choice(np.exp(rng.uniform(-2.0, 6.0, 40)), n)
    columns["tau_syn_0"][:50] = columns["tau_m"][:50]
    columns["tau_syn_0"][50:100] = columns["tau_m"][50:100] * (1 + 1e-12)
    return columns


def _one_by_one(build, columns, dt):
    """The propagators the plain way: one expm per cell."""
    names = sorted(columns)
    return np.array([expm(build(**{name: columns[name][i] for name in names}) * dt)
                     for i in range(len(columns[names[0]]))])


def _receptors(tau_m, cm, tau_syn_0, tau_syn_1, tau_syn_2):
    return curr_exp_receptors_matrix(tau_m, cm, tau_syn_0, tau_syn_1, tau_syn_2)


def _two_receptors(build):
    def matrix(tau_m, cm, tau_syn_0, tau_syn_1):
        return build(tau_m, cm, tau_syn_0, tau_syn_1)
    return matrix


@pytest.mark.parametrize("build, n_syn", [(_two_receptors(curr_exp_matrix), 2),
                                          (_two_receptors(curr_alpha_matrix), 2),
                                          (_receptors, 3)])
@pytest.mark.parametrize("dt", [0.01, 0.1, 1.0])
def test_propagators_are_each_cell_s_matrix_exponential_bit_for_bit(build, n_syn, dt):
    columns = _heterogeneous_columns(np.random.default_rng(7), 600, n_syn)
    p = propagators(build, columns, dt)
    expected = _one_by_one(build, columns, dt)
    assert p.shape == expected.shape
    assert p.tobytes() == expected.tobytes()


def test_propagators_of_identical_cells_are_one_matrix_exponential():
    columns = {"tau_m": np.full(5, 20.0), "cm": np.full(5, 0.5),
               "tau_syn_E": np.full(5, 5.0), "tau_syn_I": np.full(5, 20.0)}
    p = propagators(curr_exp_matrix, columns, 0.1)
    assert p.tobytes() == _one_by_one(curr_exp_matrix, columns, 0.1).tobytes()
    assert propagators(curr_exp_matrix, {k: v[:0] for k, v in columns.items()}, 0.1).shape \
        == (0, 4, 4)


def test_distinct_rows_number_every_row():
    rng = np.random.default_rng(3)
    table = rng.choice([0.5, 1.0, 2.0], size=(1000, 3))
    first, which = distinct_rows(table)
    assert np.array_equal(table[first][which], table)
    assert len(first) == len({tuple(row) for row in table})


# --- set(): the propagators are derived again only where their inputs change ---------------

def _population_data(n, rng):
    """A NeuronData of IF_curr_exp with cm different in every cell, and a record of the
    cells each derive() call was given."""
    calls = []

    def derive(params, dt):
        calls.append(sorted(params))
        return IF_CURR_EXP_MODEL.derive(params, dt)

    model = dataclasses.replace(IF_CURR_EXP_MODEL, derive=derive)
    data = NeuronData(model, n, np.float64, 0.1)
    values = {name: np.full(n, value) for name, value in DEFAULTS.items()}
    values["cm"] = rng.uniform(0.5, 1.5, n)
    data.set_parameters(values)
    return data, calls


DEFAULTS = {"v_rest": -65.0, "cm": 1.0, "tau_m": 20.0, "tau_refrac": 2.0, "tau_syn_E": 5.0,
            "tau_syn_I": 5.0, "i_offset": 0.0, "v_reset": -65.0, "v_thresh": -50.0}
PROPAGATORS = ("P11e", "P11i", "P21e", "P21i", "P22", "P20")


def test_setting_a_parameter_the_propagators_do_not_read_leaves_them_untouched():
    data, calls = _population_data(200, np.random.default_rng(1))
    before = {name: data.kernel[name].copy() for name in PROPAGATORS}
    data.changed.clear()
    calls.clear()
    data.set_parameters({"v_thresh": np.linspace(-55.0, -50.0, 200)})
    assert calls == []
    assert data.changed == {"v_thresh"}
    for name in PROPAGATORS:
        assert data.kernel[name].tobytes() == before[name].tobytes()


def test_setting_an_input_of_the_propagators_updates_exactly_the_cells_set():
    rng = np.random.default_rng(2)
    data, calls = _population_data(300, rng)
    before = {name: data.kernel[name].copy() for name in PROPAGATORS}
    cells = np.arange(300) % 3 == 0
    calls.clear()
    data.set_parameters({"tau_m": rng.uniform(5.0, 30.0, cells.sum())}, mask=cells)
    assert calls == [sorted(IF_CURR_EXP_MODEL.derive_inputs)]   # the declared inputs only
    # every cell as if derived afresh from all the parameters, bit for bit
    afresh = IF_CURR_EXP_MODEL.derive(data.params, 0.1)
    for name in PROPAGATORS:
        assert data.kernel[name].tobytes() == afresh[name].tobytes()
        assert data.kernel[name][~cells].tobytes() == before[name][~cells].tobytes()
    assert (data.kernel["P22"][cells] != before["P22"][cells]).all()   # exp(-dt / tau_m)


def test_set_on_a_view_derives_the_propagators_of_its_cells(cpu_sim):
    sim = cpu_sim
    cells = sim.Population(40, sim.IF_curr_alpha(cm=sim.RandomDistribution("uniform",
                                                                          (0.5, 1.5))))
    cells[5:30:4].set(tau_syn_E=np.linspace(1.0, 9.0, 7))
    cells[::7].set(v_thresh=-52.0)
    data = cells._data
    afresh = data.model.derive(data.params, data.dt)
    for name in data.model.derived + data.model.int_derived:
        assert data.kernel[name].tobytes() == np.asarray(afresh[name], data.kernel[name].dtype
                                                         ).tobytes(), name


def test_declared_inputs_of_derive_must_be_parameters():
    with pytest.raises(ModelDefinitionError, match="not parameters"):
        dataclasses.replace(IF_CURR_EXP_MODEL, derive_inputs=("tau_m", "tau_x"))


def test_beta_normalisation_keeps_its_digits_where_the_time_constants_nearly_agree():
    """N of a beta response makes its peak 1: for time constants a few rounding steps apart
    (0.3 and 0.1 * 3) it is the alpha function's e / tau to rounding, not 17 % off."""
    from pynn_gpu.standardmodels.receptors import beta_peak_factor, beta_rise_factor
    near = [(0.3, 0.1 * 3), (0.7, 0.1 * 7), (2.0, np.nextafter(2.0, 1.0)),
            (2.0, np.nextafter(2.0, 3.0)), (5.0, 5.0 * (1 + 1e-12)), (3.0, 3.0)]
    for tau_rise, tau_decay in near:
        np.testing.assert_allclose(beta_peak_factor(tau_rise, tau_decay), np.e / tau_decay,
                                   rtol=1e-10, err_msg=f"{tau_rise}, {tau_decay}")
    # distinct time constants: the peak of the closed form, where no digits are lost
    for tau_rise, tau_decay in [(0.2, 1.7), (2.0, 30.0), (5.0, 1.0)]:
        t_peak = np.log(tau_decay / tau_rise) / (1 / tau_rise - 1 / tau_decay)
        shape = np.exp(-t_peak / tau_decay) - np.exp(-t_peak / tau_rise)
        k = 1 / tau_rise - 1 / tau_decay
        np.testing.assert_allclose(beta_peak_factor(tau_rise, tau_decay), k / shape,
                                   rtol=1e-13)
        np.testing.assert_allclose(beta_rise_factor(tau_rise, tau_decay, t_peak), shape / k,
                                   rtol=1e-13)
