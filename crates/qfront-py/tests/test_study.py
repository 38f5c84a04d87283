"""qfront.Study over qfront's own stores: an external study created from Python, asked and
told from Python and from the CLI on the same store, its trials and front, and the errors of
bad configs, unknown trials and non-finite metrics."""

import json
import math
import os
import subprocess

import pytest

import qfront

QFRONT = os.environ.get("QFRONT_BIN", "qfront")

CONFIG = """
name = "py-mlp"
kind = "external"
objectives = ["-val_loss", "-params_m"]
constraints = ["val_loss <= 2.5"]
optimizer = "qnehvi"
budget = 12
seed = 3
[[parameter]]
name = "lr"
type = "float"
low = 1e-4
high = 1e-1
scale = "log"
[[parameter]]
name = "hidden_units"
type = "int"
low = 16
high = 256
"""


def measure(params):
    """A deterministic stand-in for a training run: loss smallest near lr = 1e-2."""
    loss = (math.log10(params["lr"]) + 2) ** 2 + 0.2 + 32 / params["hidden_units"]
    return {"val_loss": loss, "params_m": params["hidden_units"] * 0.01}


def test_a_study_is_asked_and_told_from_python_and_the_cli(tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    config = tmp_path / "study.toml"
    config.write_text(CONFIG)
    study = qfront.Study.create(storage, config)
    assert (study.name, study.parameters) == ("py-mlp", ["lr", "hidden_units"])
    assert study.objectives == ["-val_loss", "-params_m"]
    for _ in range(4):
        for trial, params in study.ask(2):
            assert 1e-4 <= params["lr"] <= 1e-1 and 16 <= params["hidden_units"] <= 256
            study.tell(trial, values=measure(params))
    # The CLI sees the same study and can take turns with Python.
    env = {**os.environ, "RUST_LOG": "warn"}
    asked = subprocess.run([QFRONT, "study", "ask", "--storage", storage, "--study", "py-mlp"],
                           capture_output=True, text=True, env=env, check=True)
    cli_trial = json.loads(asked.stdout.strip().splitlines()[-1])
    study.tell(cli_trial["trial"], failed="out of memory")
    trials = study.trials()
    assert len(trials) == 9
    assert sum(t["state"] == "complete" for t in trials) == 8
    assert [t for t in trials if t["state"] == "failed"][0]["error"] == "out of memory"
    # Every trial says how it was chosen, as the CLI's ask printed it: the initial design's
    # first trial is a Sobol point, the CLI's ninth came from the models.
    assert trials[0]["proposal"] == {"kind": "sobol"}
    assert cli_trial["proposal"]["kind"] != "sobol"
    assert [t["proposal"] for t in trials if t["number"] == cli_trial["trial"]] == [cli_trial["proposal"]]
    front = study.pareto()
    assert front and all(t["metrics"]["val_loss"] <= 2.5 for t in front)
    # Loading by storage finds it again.
    again = qfront.Study.load(storage)
    assert again.name == "py-mlp" and len(again.trials()) == 9
    # Creating it twice is refused unless asked to load it.
    with pytest.raises(qfront.QfrontError):
        qfront.Study.create(storage, config)
    assert qfront.Study.create(storage, config, load_if_exists=True).name == "py-mlp"


def test_bad_input_raises_with_the_reason(tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    with pytest.raises(qfront.QfrontError, match="colour"):
        qfront.Study.create(storage, config_toml="colour = 1\n" + CONFIG)
    with pytest.raises(qfront.QfrontError, match="storage"):
        qfront.Study.create("mysql://x", config_toml=CONFIG)
    study = qfront.Study.create(storage, config_toml=CONFIG)
    (trial, params), = study.ask()
    with pytest.raises(qfront.QfrontError, match="cannot tell trial 99: there is no such trial"):
        study.tell(99, values=measure(params))
    with pytest.raises(qfront.QfrontError):
        study.tell(trial, values={"val_loss": float("nan"), "params_m": 1.0})
    with pytest.raises(qfront.QfrontError, match="not both"):
        study.tell(trial, values=measure(params), failed="x")
    with pytest.raises(ValueError):
        qfront.Study.create(storage)
    study.tell(trial, values=measure(params))
    assert study.trials()[0]["state"] == "complete"
