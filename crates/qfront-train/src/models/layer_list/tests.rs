//! Tests of layer-list resolution.

use super::super::layer_spec::parse_layer_list;
use super::*;

fn list(text: &str) -> Vec<LayerSpec> {
    parse_layer_list(&format!("[model]\nlayers = [{text}]")).unwrap()
}

fn error(text: &str) -> String {
    resolve(&list(text), ListInput::Image([1, 8, 8]), 10, 1.0)
        .unwrap_err()
        .to_string()
}

#[test]
fn resolves_shapes_names_and_positions() {
    let layers = list(
        r#"{ type = "conv2d", channels = 8, kernel = 3 }, { type = "batch_norm" }, { type = "relu" },
           { type = "max_pool", kernel = 2 },
           { type = "conv2d", name = "wide", channels = 16, kernel = 3, padding = 0 }, { type = "relu" },
           { type = "flatten" }, { type = "linear", features = 32 }, { type = "relu" },
           { type = "dropout", rate = 0.1 }, { type = "linear" }"#,
    );
    let r = resolve(&layers, ListInput::Image([1, 8, 8]), 10, 0.5).unwrap();
    assert!(
        matches!(&r[0], ResolvedLayer::Conv2d { name, out_channels: 4, out_hw: [8, 8], batch_norm: true, position: Position::First, .. } if name == "conv1")
    );
    assert!(
        matches!(&r[4], ResolvedLayer::Conv2d { name, in_channels: 4, out_channels: 8, out_hw: [2, 2], batch_norm: false, .. } if name == "wide")
    );
    assert!(
        matches!(&r[7], ResolvedLayer::Linear { name, in_features: 32, out_features: 16, flattened_from: Some([8, 2, 2]), position: Position::Middle, .. } if name == "fc1")
    );
    assert!(
        matches!(&r[10], ResolvedLayer::Linear { name, in_features: 16, out_features: 10, position: Position::Last, .. } if name == "classifier")
    );
}

#[test]
fn refuses_lists_the_runtime_cannot_run() {
    for (text, needle) in [
        (
            r#"{ type = "conv2d", channels = 8, kernel = 3 }, { type = "flatten" }, { type = "linear" }"#,
            "followed by relu",
        ),
        (
            r#"{ type = "flatten" }, { type = "linear", features = 8 }, { type = "batch_norm" }, { type = "relu" }, { type = "linear" }"#,
            "directly after a conv2d",
        ),
        (r#"{ type = "linear" }"#, "put flatten or global_avg_pool"),
        (
            r#"{ type = "flatten" }, { type = "linear", features = 7 }"#,
            "10 classes",
        ),
        (
            r#"{ type = "flatten" }, { type = "linear", features = 8 }, { type = "relu" }"#,
            "must end with the classifier",
        ),
        (
            r#"{ type = "conv2d", channels = 8, kernel = 9, padding = 0 }, { type = "relu" }, { type = "flatten" }, { type = "linear" }"#,
            "does not fit",
        ),
        (
            r#"{ type = "conv2d", name = "a", channels = 8, kernel = 3 }, { type = "relu" }, { type = "conv2d", name = "a", channels = 8, kernel = 3 }, { type = "relu" }, { type = "flatten" }, { type = "linear" }"#,
            "used twice",
        ),
        (
            r#"{ type = "max_pool", kernel = 2 }"#,
            "no conv2d or linear",
        ),
        (
            r#"{ type = "avg_pool", kernel = 2 }, { type = "flatten" }, { type = "linear" }"#,
            "put it after a relu",
        ),
        (
            r#"{ type = "conv2d", channels = 8, kernel = 3 }, { type = "relu" }, { type = "conv2d", channels = 8, kernel = 3, groups = 3 }, { type = "relu" }, { type = "flatten" }, { type = "linear" }"#,
            "3 groups must divide",
        ),
        (
            r#"{ type = "conv2d", channels = 8, kernel = 3 }, { type = "relu" }, { type = "conv2d", channels = 16, kernel = 3, groups = "depthwise" }, { type = "relu" }, { type = "flatten" }, { type = "linear" }"#,
            "keeps its input's 8 channels",
        ),
        (
            r#"{ type = "conv2d", channels = 8, kernel = 3 }, { type = "relu", name = "a" }, { type = "conv2d", channels = 16, kernel = 3 }, { type = "add", from = "a" }, { type = "relu" }, { type = "flatten" }, { type = "linear" }"#,
            "shapes must match",
        ),
        (
            r#"{ type = "conv2d", channels = 8, kernel = 3 }, { type = "relu" }, { type = "conv2d", channels = 8, kernel = 3 }, { type = "add", from = "nope" }, { type = "relu" }, { type = "flatten" }, { type = "linear" }"#,
            "no earlier relu named 'nope'",
        ),
        (
            r#"{ type = "flatten" }, { type = "linear", features = 8 }, { type = "add", from = "relu1" }, { type = "relu" }, { type = "linear" }"#,
            "goes after a conv2d",
        ),
    ] {
        let message = error(text);
        assert!(message.contains(needle), "{text}: {message}");
    }
    let unknown = parse_layer_list("[model]\nlayers = [{ type = \"lstm\" }]")
        .unwrap_err()
        .to_string();
    assert!(unknown.contains("lstm"), "{unknown}");
    let field = parse_layer_list(
        "[model]\nlayers = [{ type = \"conv2d\", channels = 8, kernel = 3, dilation = 2 }]",
    )
    .unwrap_err()
    .to_string();
    assert!(field.contains("dilation"), "{field}");
}
