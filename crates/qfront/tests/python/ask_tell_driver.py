#!/usr/bin/env python3
"""Drives a qfront study from Python through `qfront study create/ask/tell`, the way a
PyTorch trainer would: ask for parameters, "train" (here a closed-form stand-in, so the
test is fast), tell the measured metrics. Standard library only.

Usage: ask_tell_driver.py QFRONT_BINARY STUDY_DIR TRIALS
"""
import json
import math
import subprocess
import sys

qfront, directory, trials = sys.argv[1], sys.argv[2], int(sys.argv[3])

CONFIG = """
name = "python-driven"
dataset = "digits"
family = "mlp"
objectives = ["accuracy", "-latency_ms"]
optimizer = "qnehvi"
budget = 100
initial_points = 4
seed = 3

[[parameter]]
name = "learning_rate"
type = "float"
low = 0.0001
high = 0.1
scale = "log"

[[parameter]]
name = "hidden"
type = "ordered"
values = [16, 32, 64, 128, 256]
"""


def run(*args):
    out = subprocess.run([qfront, *args], check=True, capture_output=True, text=True)
    return out.stdout


with open(directory + ".toml", "w") as f:
    f.write(CONFIG)
created = json.loads(run("study", "create", "--config", directory + ".toml", "--dir", directory))
assert created["study"] == "python-driven", created

for _ in range(trials):
    asked = [json.loads(line) for line in run("study", "ask", "--dir", directory).splitlines()]
    assert len(asked) == 1, asked
    trial, params = asked[0]["trial"], asked[0]["params"]
    lr, hidden = params["learning_rate"], params["hidden"]
    if trial == 2:
        run("study", "tell", "--dir", directory, "--trial", str(trial), "--failed", "simulated crash")
        continue
    # A stand-in for training: accuracy peaks at lr = 3e-3 and grows with width; latency
    # grows with width.
    accuracy = 0.97 - 0.05 * math.log10(lr / 3e-3) ** 2 - 2.0 / hidden
    latency_ms = 0.01 * hidden
    values = json.dumps({"accuracy": accuracy, "latency_ms": latency_ms})
    run("study", "tell", "--dir", directory, "--trial", str(trial), "--values", values)

listing = json.loads(run("trials", "--dir", directory, "--format", "json"))
assert [t["trial"] for t in listing] == list(range(trials)), listing
assert sum(t["state"] == "failed" for t in listing) == 1
front = json.loads(run("pareto", "--dir", directory, "--format", "json"))
print(json.dumps({"trials": len(listing), "front": len(front)}))
