"""
Exact integration of linear subthreshold dynamics (Rotter & Diesmann 1999).

Between spikes the membrane and synaptic currents of the current-based integrate-and-fire
models obey x' = A x, with A depending only on the parameters. The state then advances by
the matrix exponential P = exp(A dt) exactly, whatever the step. The constant drive
(i_offset plus injected current) is carried as an extra state with zero derivative, so its
effect over one step is a column of P as well.

P is computed once per distinct parameter combination, on the host, whenever parameters
change; the kernels only multiply.
"""

import numpy as np
from scipy.linalg import expm


def propagators(build_matrix, columns, dt):
    """
    Return an array of shape (n, k, k): exp(A_i dt) for every neuron i.

    `build_matrix(**row)` returns the k x k matrix A for one neuron's parameters;
    `columns` maps parameter names to arrays of length n.
    """
    names = sorted(columns)
    table = np.column_stack([np.asarray(columns[name], dtype=float) for name in names])
    unique_rows, inverse = np.unique(table, axis=0, return_inverse=True)
    unique_p = np.array([expm(build_matrix(**dict(zip(names, row))) * dt)
                         for row in unique_rows])
    return unique_p[np.ravel(inverse)]


def curr_exp_matrix(tau_m, cm, tau_syn_E, tau_syn_I):
    """State (I_exc, I_inh, y = v - v_rest, u = constant drive)."""
    return np.array([
        [-1.0 / tau_syn_E, 0.0, 0.0, 0.0],
        [0.0, -1.0 / tau_syn_I, 0.0, 0.0],
        [1.0 / cm, 1.0 / cm, -1.0 / tau_m, 1.0 / cm],
        [0.0, 0.0, 0.0, 0.0],
    ])


def curr_alpha_matrix(tau_m, cm, tau_syn_E, tau_syn_I):
    """State (dI_exc, I_exc, dI_inh, I_inh, y = v - v_rest, u = constant drive)."""
    a = np.zeros((6, 6))
    a[0, 0] = -1.0 / tau_syn_E
    a[1, 0], a[1, 1] = 1.0, -1.0 / tau_syn_E
    a[2, 2] = -1.0 / tau_syn_I
    a[3, 2], a[3, 3] = 1.0, -1.0 / tau_syn_I
    a[4, 1] = a[4, 3] = a[4, 5] = 1.0 / cm
    a[4, 4] = -1.0 / tau_m
    return a


def curr_exp_receptors_matrix(tau_m, cm, *tau_syn):
    """
    State (I_1, ..., I_n, y = v - v_rest, u = constant drive): n exponential currents into
    one membrane. With n = 2 this is curr_exp_matrix, entry for entry.
    """
    n = len(tau_syn)
    a = np.zeros((n + 2, n + 2))
    for k, tau in enumerate(tau_syn):
        a[k, k] = -1.0 / tau
        a[n, k] = 1.0 / cm
    a[n, n] = -1.0 / tau_m
    a[n, n + 1] = 1.0 / cm
    return a
