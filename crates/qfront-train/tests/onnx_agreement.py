"""Runs a model exported by `qfront export --format onnx` in ONNX Runtime and compares it with
qfront-rt's logits on the same inputs (written by tests/export_agrees.rs).

usage: onnx_agreement.py MODEL.onnx DIR
DIR holds inputs.bin (float32 images [N, C, H, W] or int64 token ids [N, T], little-endian),
logits.bin (float32 [N, classes] from qfront-rt) and shape.json ({"inputs": [...],
"classes": K}). Prints one JSON object: the checker's verdict, the storage type of every
integer initializer, and for ONNX Runtime with graph optimizations off (the QDQ graph
evaluated as written, in float) and on (the default: Q/DQ pairs fused into ONNX Runtime's
integer kernels) the share of identical predictions, the largest logit difference and, for
each disagreement, qfront-rt's margin between the two classes.
"""

import json
import pathlib
import sys

import numpy as np
import onnx
import onnxruntime as ort


def main():
    model_path, folder = sys.argv[1], pathlib.Path(sys.argv[2])
    meta = json.loads((folder / "shape.json").read_text())
    model = onnx.load(model_path)
    onnx.checker.check_model(model, full_check=True)
    names = {v: k for k, v in onnx.TensorProto.DataType.items()}
    storage = {}
    for tensor in model.graph.initializer:
        if "_weight_codes_" in tensor.name:
            storage[tensor.name] = names[tensor.data_type]
    shape = meta["inputs"]
    dtype = np.float32 if meta["kind"] == "image" else np.int64
    inputs = np.fromfile(folder / "inputs.bin", dtype=dtype).reshape(shape)
    reference = np.fromfile(folder / "logits.bin", dtype=np.float32).reshape(shape[0], meta["classes"])
    expected = reference.argmax(axis=1)
    result = {"checker": "ok", "storage": storage, "opset": model.opset_import[0].version}
    levels = {
        "unoptimized": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
        "default": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    }
    for label, level in levels.items():
        options = ort.SessionOptions()
        options.graph_optimization_level = level
        options.intra_op_num_threads = 1
        session = ort.InferenceSession(model.SerializeToString(), options)
        input_name = session.get_inputs()[0].name
        logits = np.concatenate(
            [session.run(None, {input_name: inputs[i:i + 256]})[0] for i in range(0, len(inputs), 256)]
        )
        predicted = logits.argmax(axis=1)
        disagreements = []
        for i in np.nonzero(predicted != expected)[0].tolist():
            margin = float(reference[i, expected[i]] - reference[i, predicted[i]])
            disagreements.append({"example": i, "qfront": int(expected[i]), "ort": int(predicted[i]),
                                  "qfront_margin": margin})
        result[label] = {
            "agreement": float((predicted == expected).mean()),
            "max_logit_difference": float(np.abs(logits - reference).max()),
            "identical_logits": float((np.abs(logits - reference).max(axis=1) < 1e-3).mean()),
            "disagreements": disagreements[:20],
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
