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

import functools

import numpy as np
from scipy.linalg import expm
from threadpoolctl import ThreadpoolController


def propagators(build_matrix, columns, dt):
    """
    Return an array of shape (n, k, k): exp(A_i dt) for every neuron i (a read-only view
    of one matrix where every neuron has the same parameters).

    `build_matrix(**columns)` returns the matrices A, shape (m, k, k), for parameter arrays
    of length m; `columns` maps parameter names to arrays of length n.
    """
    names = sorted(columns)
    table = np.column_stack([np.asarray(columns[name], dtype=float) for name in names])
    first, which = distinct_rows(table)
    rows = table[first]
    # one expm call for the whole stack: scipy computes each matrix on its own, exactly as
    # a call per matrix would (tests/unit/test_propagators.py checks this bit for bit)
    with _one_blas_thread():
        distinct_p = expm(build_matrix(**dict(zip(names, rows.T))) * dt)
    if len(first) == 1:
        # one matrix for every cell: a read-only view of it, not n copies
        return np.broadcast_to(distinct_p[0], (len(table),) + distinct_p.shape[1:])
    return distinct_p[which]


def _one_blas_thread():
    """A context in which BLAS runs on one thread. expm multiplies small matrices (3 x 3 to
    about 10 x 10), for which OpenBLAS's threads only cost: waking them took up to 10 ms per
    call on a machine whose cores were busy, against 0.01 ms on one thread. The numbers are
    the same either way."""
    return _blas_controller().limit(limits=1, user_api="blas")


@functools.lru_cache(maxsize=None)
def _blas_controller():
    # finding the loaded thread pools takes milliseconds: once
    return ThreadpoolController()


def distinct_rows(table):
    """
    (first, which): the index of one row of each distinct value, and for every row the
    position in `first` of the row equal to it, so that table[first][which] == table.
    """
    n = len(table)
    if n == 0 or (table == table[0]).all():
        return np.zeros(min(n, 1), dtype=np.intp), np.zeros(n, dtype=np.intp)
    # Number the distinct rows column by column: a row's number so far and its value in the
    # next column give its next number. Sorting a few integer columns is several times
    # faster than np.unique(table, axis=0), which sorts the rows as records.
    number = np.zeros(n, dtype=np.int64)
    for column in table.T:
        values, code = np.unique(column, return_inverse=True)
        _, number = np.unique(number * len(values) + code, return_inverse=True)
    _, first, which = np.unique(number, return_index=True, return_inverse=True)
    return first, which


def _empty_matrices(k, *params):
    """The parameters as float arrays of one shape, and zero k x k matrices of that shape
    ((k, k) for numbers, (m, k, k) for arrays of length m)."""
    params = np.broadcast_arrays(*(np.asarray(p, dtype=float) for p in params))
    return params, np.zeros(params[0].shape + (k, k))


def curr_exp_matrix(tau_m, cm, tau_syn_E, tau_syn_I):
    """State (I_exc, I_inh, y = v - v_rest, u = constant drive)."""
    (tau_m, cm, tau_syn_E, tau_syn_I), a = _empty_matrices(4, tau_m, cm, tau_syn_E, tau_syn_I)
    a[..., 0, 0] = -1.0 / tau_syn_E
    a[..., 1, 1] = -1.0 / tau_syn_I
    a[..., 2, 0] = a[..., 2, 1] = a[..., 2, 3] = 1.0 / cm
    a[..., 2, 2] = -1.0 / tau_m
    return a


def curr_alpha_matrix(tau_m, cm, tau_syn_E, tau_syn_I):
    """State (dI_exc, I_exc, dI_inh, I_inh, y = v - v_rest, u = constant drive)."""
    (tau_m, cm, tau_syn_E, tau_syn_I), a = _empty_matrices(6, tau_m, cm, tau_syn_E, tau_syn_I)
    a[..., 0, 0] = -1.0 / tau_syn_E
    a[..., 1, 0], a[..., 1, 1] = 1.0, -1.0 / tau_syn_E
    a[..., 2, 2] = -1.0 / tau_syn_I
    a[..., 3, 2], a[..., 3, 3] = 1.0, -1.0 / tau_syn_I
    a[..., 4, 1] = a[..., 4, 3] = a[..., 4, 5] = 1.0 / cm
    a[..., 4, 4] = -1.0 / tau_m
    return a


def curr_exp_receptors_matrix(tau_m, cm, *tau_syn):
    """
    State (I_1, ..., I_n, y = v - v_rest, u = constant drive): n exponential currents into
    one membrane. With n = 2 this is curr_exp_matrix, entry for entry.
    """
    n = len(tau_syn)
    (tau_m, cm, *tau_syn), a = _empty_matrices(n + 2, tau_m, cm, *tau_syn)
    for k, tau in enumerate(tau_syn):
        a[..., k, k] = -1.0 / tau
        a[..., n, k] = 1.0 / cm
    a[..., n, n] = -1.0 / tau_m
    a[..., n, n + 1] = 1.0 / cm
    return a
