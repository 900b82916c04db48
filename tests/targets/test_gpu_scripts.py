"""
The benchmark scripts benchmarks/gpu_profile.sh runs on a lent GPU, run here at tiny sizes
on the emulated CUDA target (see conftest.py) with the options that script gives them: a
script that breaks is found without spending device time. Their figures mean nothing here;
what is checked is that each runs to the end and reports what the GPU run is for.
"""

import json
import runpy
import sys

import pytest

from pynn_gpu._paths import kernels_dir

BENCHMARKS = kernels_dir().parent / "benchmarks"

if not BENCHMARKS.is_dir():
    pytest.skip("the benchmark scripts are not beside this installation",
                allow_module_level=True)


def run_script(name, arguments, monkeypatch, capsys, emulator):
    """Run benchmarks/<name> as `python <name> <arguments>` on the emulated CUDA target; its
    standard output."""
    monkeypatch.setattr(sys, "argv", [str(BENCHMARKS / name), *arguments])
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    runpy.run_path(str(BENCHMARKS / name), run_name="__main__")
    assert emulator.kernel_launches > 0             # it ran on the (emulated) device
    return capsys.readouterr().out


@pytest.mark.parametrize("options", [
    ["--connectivity", "ragged"],
    ["--connectivity", "ragged", "--precision", "float", "--propagation", "balanced"],
])
def test_microcircuit(emulate, monkeypatch, capsys, tmp_path, options):
    out = tmp_path / "micro.json"
    run_script("microcircuit_gpu.py", ["--target", "cuda", "--scale", "0.005", "--transient",
                                       "2", "--duration", "3", "--profile-steps", "5",
                                       *options, "--json", str(out)], monkeypatch, capsys,
               emulate())
    result = json.loads(out.read_text())
    assert result["target"] == "cuda" and result["neurons"] > 300
    assert result["realtime_factor"] > 0 and len(result["rates_hz"]) == 8
    kernels = result["kernel_us_per_step"]
    assert any(k.startswith("update_") for k in kernels)
    assert any(k.startswith("propagate_") for k in kernels)


def test_plasticity_cost(emulate, monkeypatch, capsys, tmp_path):
    out = tmp_path / "plasticity.json"
    run_script("plasticity_cost.py", ["--target", "cuda", "--cells", "200", "--in-degree", "20",
                                      "--duration", "20", "--json", str(out)],
               monkeypatch, capsys, emulate())
    result = json.loads(out.read_text())
    assert result["spikes"] > 0 and result["static_run_s"] > 0


def test_delay_cost(emulate, monkeypatch, capsys, tmp_path):
    out = tmp_path / "delays.json"
    run_script("delay_cost.py", ["--target", "cuda", "--cells", "200", "--in-degree", "20",
                                 "--duration", "20", "--repeats", "1", "--json", str(out)],
               monkeypatch, capsys, emulate())
    result = json.loads(out.read_text())
    assert result["source_spikes"] > 0
    rings = {name: v["ring_length"] for name, v in result["variants"].items()}
    assert rings == {"constant-max": 101, "constant-min": 2, "heterogeneous": 101}


@pytest.mark.parametrize("propagation", ["post", "balanced"])
def test_vogels_abbott_as_the_scaling_sweep_runs_it(emulate, monkeypatch, capsys,
                                                    propagation):
    # vogels_abbott_scaling.py runs this command in a process of its own per size
    out = run_script("vogels_abbott.py", ["--model", "COBA", "--target", "cuda", "--n", "400",
                                          "--duration", "20", "--native-rng", "--connectivity",
                                          "ragged", "--propagation", propagation, "--json"],
                     monkeypatch, capsys, emulate())
    result = json.loads(out.strip().splitlines()[-1])
    assert result["target"] == "cuda" and result["neurons"] == 400
    assert result["propagation"] == propagation and result["synapses"] > 0
