"""The demo network (also the Vogels-Abbott benchmark) builds and runs on each target."""

import pytest

from pynn_gpu.demo import build_and_run


@pytest.mark.parametrize("model", ["COBA", "CUBA"])
def test_demo_network_runs_and_reports(target, model):
    result = build_and_run(model, target=target, duration=200.0, n=800)
    assert result["target"] == target
    # recurrent: p = 0.02 * 4000 / 800 = 0.1 of 800 x 800 pairs; stimulus: 0.01 of 20 x 800
    expected = 0.1 * 800 * 800 + 0.01 * 20 * 800
    assert abs(result["synapses"] - expected) < 5 * expected ** 0.5
    assert result["rate_exc_hz"] > 0.0 and result["rate_inh_hz"] > 0.0
    assert result["simulation_s"] > 0.0
