"""qfront.Model runs a .qfm model as `qfront eval` does: a model trained by the qfront CLI
(``QFRONT_BIN``) on the UCI digits shipped in the repository gives, from NumPy, exactly the
test accuracy `qfront eval` reports; latency figures and bad inputs behave."""

import gzip
import json
import os
import pathlib
import subprocess

import numpy as np
import pytest

import qfront

REPO = pathlib.Path(__file__).resolve().parents[3]
QFRONT = os.environ.get("QFRONT_BIN", "qfront")


def qfront_cli(*args):
    out = subprocess.run([QFRONT, *args], capture_output=True, text=True, env={**os.environ, "RUST_LOG": "warn"})
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def digits_model(tmp_path_factory):
    """Digits as 8-bit images (0..16 → 0..240) in two .npz files, and a W4A4 model."""
    rows = np.loadtxt(gzip.open(REPO / "data/digits8x8/digits.csv.gz", "rt"), delimiter=",")
    images = (rows[:, :64].reshape(-1, 8, 8) * 15).astype(np.uint8)
    labels = rows[:, 64].astype(np.int64)
    tmp = tmp_path_factory.mktemp("digits")
    np.savez(tmp / "train.npz", x=images[:1400], y=labels[:1400])
    np.savez(tmp / "test.npz", x=images[1400:], y=labels[1400:])
    qfm = tmp / "digits.qfm"
    data = ["--data", str(tmp / "train.npz"), "--test-data", str(tmp / "test.npz")]
    trained = qfront_cli("train", *data, "--epochs", "6", "--qfm", str(qfm), "--format", "json")
    evaluated = qfront_cli("eval", str(qfm), *data, "--format", "json")
    return qfm, images[1400:], labels[1400:], trained, evaluated


def test_predictions_match_qfront_eval(digits_model):
    qfm, images, labels, trained, evaluated = digits_model
    model = qfront.Model.load(str(qfm))
    assert model.input_shape == ("image", 1, 8, 8)
    assert model.labels == [str(d) for d in range(10)]
    pixels = (images.astype(np.float32) / 255.0)[:, None, :, :]
    logits = model.predict(pixels)
    assert logits.shape == (len(labels), 10) and logits.dtype == np.float32
    accuracy = float((logits.argmax(axis=1) == labels).mean())
    assert accuracy == pytest.approx(evaluated["test_accuracy"], abs=1e-12)
    assert accuracy == pytest.approx(trained["runtime_test_accuracy"], abs=1e-12)
    assert accuracy > 0.85
    # A non-contiguous view gives the same logits as its contiguous copy.
    wide = np.repeat(pixels, 2, axis=3)[:, :, :, ::2]
    assert not wide.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(model.predict(wide), logits)


def test_latency_reports_the_bench_figures(digits_model):
    model = qfront.Model.load(str(digits_model[0]))
    figures = model.latency(batch=4, max_time=0.05, warmup_time=0.01)
    assert set(figures) == {"median_ms", "p90_ms", "p99_ms", "mean_ms", "loops"}
    assert 0 < figures["median_ms"] <= figures["p99_ms"]
    assert figures["loops"] >= 1
    two = model.latency(batch=32, max_time=0.05, warmup_time=0.01, threads=2)
    assert two["median_ms"] > 0
    with pytest.raises(qfront.QfrontError, match="max_time"):
        model.latency(max_time=-1)
    with pytest.raises(qfront.QfrontError, match="1..=256"):
        model.latency(threads=0)


def test_bad_inputs_and_files_raise_with_the_reason(digits_model, tmp_path):
    model = qfront.Model.load(str(digits_model[0]))
    with pytest.raises(qfront.QfrontError, match=r"\[batch, 1, 8, 8\]"):
        model.predict(np.zeros((2, 8, 8), np.float32))
    with pytest.raises(qfront.QfrontError, match="float32"):
        model.predict(np.zeros((2, 1, 8, 8), np.float64))
    with pytest.raises(qfront.QfrontError, match="not finite"):
        model.predict(np.full((1, 1, 8, 8), np.nan, np.float32))
    truncated = tmp_path / "truncated.qfm"
    truncated.write_bytes(pathlib.Path(digits_model[0]).read_bytes()[:100])
    with pytest.raises(qfront.QfrontError):
        qfront.Model.load(str(truncated))
    with pytest.raises(qfront.QfrontError, match="missing.qfm"):
        qfront.Model.load(str(tmp_path / "missing.qfm"))
