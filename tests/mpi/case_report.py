"""
What the MPI case scripts (edge_cases.py, set_agreement.py) print: one line
"rank <r>: <case> <outcome>" per case in every process, which test_mpi.case_outcomes reads.
"""

import pyNN.gpu as sim


def report(case, outcome):
    print(f"rank {sim.rank()}: {case} {outcome}", flush=True)


def attempt(case, action):
    """Run action(); the outcome is "ok", or the type and message of the error it raised."""
    try:
        action()
    except Exception as error:
        report(case, f"{type(error).__name__}: {error}")
    else:
        report(case, "ok")
