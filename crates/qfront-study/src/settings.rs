//! Named settings — the fixed values of a study and the parameters it searches — applied to a
//! model spec and a training config. Every name a study may use is checked by [`check_name`];
//! anything else is rejected with the list.
//!
//! | name | meaning |
//! |---|---|
//! | `width` | width multiplier on every hidden size |
//! | `wbits`, `abits` | weight bits of the middle layers, PACT activation bits (2..=8) |
//! | `first_bits`, `last_bits` | weight bits of the first and last layers |
//! | `wbits.<layer>`, `abits.<layer>` | per-layer overrides (layer names as in `ModelPlan`) |
//! | `weight_quantizer`, `edge_weight_quantizer` | `sawb`, `sawb-zero`, `sawb-channel`, `dorefa`, `min-max`, `min-max-asym`, `lsq` |
//! | `alpha_init` | initial PACT clip |
//! | `learning_rate`, `weight_decay`, `epochs`, `batch_size`, `dropout` | training |
//! | `embedding_dim`, `hidden`, `blocks`, `kernel`, `block` (`conv`/`mlp`), `pooling` (`mean`/`max`), `buckets` | NLU model |
//! | `channels1`, `channels2`, `hidden`, `kernel` | LeNet |
//! | `hidden`, `layers` (MLP: `layers` hidden layers of `hidden` units) | MLP |
//! | `stage1`, `stage2`, `stage3`, `blocks_per_stage` | ResNet |

use crate::{Result, StudyError};
use qfront_bo::space::ParamValue;
use qfront_train::models::{set_layer_size, LayerSpec};
use qfront_train::quantize::WeightQuantizer;
use qfront_train::recipe::{FamilyName, Recipe};
use qfront_train::spec::{InputShape, LayerBitsOverride, ModelSpec, NluBlock, Pooling};
use qfront_train::training::TrainConfig;
use std::collections::BTreeMap;

/// Checks that `name` is a known setting: one every family takes, one of some family's
/// sizes, or a per-layer `wbits.<layer>` / `abits.<layer>` (whether it applies to the
/// study's family is checked when the model is built).
pub fn check_name(key: &str, name: &str) -> Result<()> {
    let per_layer = ["wbits.", "abits.", "channels.", "features."]
        .iter()
        .any(|prefix| name.strip_prefix(prefix).is_some_and(|l| !l.is_empty()));
    let sized = FamilyName::NAMES
        .iter()
        .any(|f| family_settings(f).contains(&name));
    if COMMON_SETTINGS.contains(&name) || sized || per_layer {
        return Ok(());
    }
    let mut known: Vec<&str> = COMMON_SETTINGS.to_vec();
    for family in FamilyName::NAMES {
        for name in family_settings(family) {
            if !known.contains(name) {
                known.push(name);
            }
        }
    }
    Err(StudyError::config(
        key,
        format!(
            "unknown setting '{name}'; known: {}, wbits.<layer>, abits.<layer> (layer lists also channels.<layer>, features.<layer>)",
            known.join(", ")
        ),
    ))
}

/// Values by setting name.
pub type Settings = BTreeMap<String, ParamValue>;

fn int(settings: &Settings, name: &str, default: i64) -> Result<i64> {
    match settings.get(name) {
        None => Ok(default),
        Some(v) => v
            .as_f64()
            .filter(|f| f.fract() == 0.0)
            .map(|f| f as i64)
            .ok_or_else(|| StudyError::config(name, format!("{v} is not an integer"))),
    }
}

/// The setting `name` as an integer ≥ 1 (default `default`).
pub(crate) fn positive(settings: &Settings, name: &str, default: usize) -> Result<usize> {
    let v = int(settings, name, default as i64)?;
    if v < 1 {
        return Err(StudyError::config(name, format!("{v} must be at least 1")));
    }
    Ok(v as usize)
}

fn float(settings: &Settings, name: &str, default: f64) -> Result<f64> {
    match settings.get(name) {
        None => Ok(default),
        Some(v) => v
            .as_f64()
            .filter(|f| f.is_finite())
            .ok_or_else(|| StudyError::config(name, format!("{v} is not a number"))),
    }
}

fn text<'a>(settings: &'a Settings, name: &str, default: &'a str) -> Result<&'a str> {
    match settings.get(name) {
        None => Ok(default),
        Some(ParamValue::Text(t)) => Ok(t),
        Some(v) => Err(StudyError::config(name, format!("{v} is not a name"))),
    }
}

/// The named setting `name` as one of `options` (default `default`).
fn choice<T: Copy>(
    settings: &Settings,
    name: &str,
    default: &str,
    options: &[(&str, T)],
) -> Result<T> {
    let t = text(settings, name, default)?;
    options
        .iter()
        .find(|(option, _)| *option == t)
        .map(|(_, value)| *value)
        .ok_or_else(|| {
            let names: Vec<&str> = options.iter().map(|(option, _)| *option).collect();
            StudyError::config(name, format!("'{t}' is not {}", names.join(" or ")))
        })
}

fn quantizer(settings: &Settings, name: &str, default: &str) -> Result<WeightQuantizer> {
    let t = text(settings, name, default)?;
    WeightQuantizer::from_name(t).ok_or_else(|| {
        StudyError::config(
            name,
            format!("'{t}' is not one of {}", WeightQuantizer::NAMES.join(", ")),
        )
    })
}

/// Settings every family takes.
const COMMON_SETTINGS: [&str; 13] = [
    "width",
    "wbits",
    "abits",
    "first_bits",
    "last_bits",
    "weight_quantizer",
    "edge_weight_quantizer",
    "alpha_init",
    "learning_rate",
    "weight_decay",
    "epochs",
    "batch_size",
    "dropout",
];

/// The size settings of each family.
fn family_settings(family: &str) -> &'static [&'static str] {
    match family {
        "mlp" => &["hidden", "layers"],
        "lenet" => &["channels1", "channels2", "hidden", "kernel"],
        "resnet20" => &["stage1", "stage2", "stage3", "blocks_per_stage"],
        "nlu" => &[
            "embedding_dim",
            "hidden",
            "blocks",
            "kernel",
            "block",
            "pooling",
            "buckets",
            "max_tokens",
        ],
        "layers" => &["max_tokens"],
        _ => &[],
    }
}

/// Refuses settings the family does not use and per-layer overrides naming a layer the model
/// does not have (a typo like `wbits.cnov2` would otherwise be silently ignored).
fn check_applies(family: &str, spec: &ModelSpec, settings: &Settings) -> Result<()> {
    let own = family_settings(family);
    let layers: Vec<String> = qfront_train::models::ModelPlan::of(spec)
        .layers
        .into_iter()
        .map(|l| l.name)
        .collect();
    for name in settings.keys() {
        let sizes_a_layer = name.starts_with("channels.") || name.starts_with("features.");
        if sizes_a_layer && family == "layers" {
            continue; // checked against the list by `sized_layers`
        }
        if let Some(layer) = name
            .strip_prefix("wbits.")
            .or_else(|| name.strip_prefix("abits."))
        {
            if !layers.iter().any(|l| l == layer) {
                return Err(StudyError::config(
                    name,
                    format!(
                        "this {family} model has no layer '{layer}'; its layers are {}",
                        layers.join(", ")
                    ),
                ));
            }
        } else if !COMMON_SETTINGS.contains(&name.as_str()) && !own.contains(&name.as_str()) {
            return Err(StudyError::config(
                name,
                format!(
                    "does not apply to the {family} family; its own settings are {}",
                    own.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// The model family names.
pub const FAMILIES: [&str; 5] = FamilyName::NAMES;

/// Builds the model spec and training config of a trial of a built-in family.
pub fn build(
    family: &str,
    input: &InputShape,
    classes: usize,
    settings: &Settings,
    seed: u64,
) -> Result<(ModelSpec, TrainConfig)> {
    build_model(family, None, input, classes, settings, seed)
}

/// Applies `channels.<layer>` and `features.<layer>` settings to a layer list.
fn sized_layers(layers: &[LayerSpec], settings: &Settings) -> Result<Vec<LayerSpec>> {
    let mut out = layers.to_vec();
    for name in settings.keys() {
        let (layer, channels) = match (
            name.strip_prefix("channels."),
            name.strip_prefix("features."),
        ) {
            (Some(layer), _) => (layer, true),
            (_, Some(layer)) => (layer, false),
            _ => continue,
        };
        let value = positive(settings, name, 1)?;
        set_layer_size(&mut out, layer, channels, value)
            .map_err(|e| StudyError::config(name, e.to_string()))?;
    }
    Ok(out)
}

/// Builds the model spec and training config of a trial; `layers` is the list of the
/// `layers` family.
pub fn build_model(
    family: &str,
    layers: Option<&qfront_train::models::ModelFile>,
    input: &InputShape,
    classes: usize,
    settings: &Settings,
    seed: u64,
) -> Result<(ModelSpec, TrainConfig)> {
    let family_name = family;
    let mut recipe = Recipe::new(FamilyName::parse(family)?);
    let size = |name: &str| -> Result<Option<usize>> {
        settings
            .contains_key(name)
            .then(|| positive(settings, name, 1))
            .transpose()
    };
    match recipe.family {
        FamilyName::Layers => {
            let file = layers.ok_or_else(|| {
                StudyError::config("model", "family 'layers' needs a layer list: [model] layers = [...] or model = \"net.toml\"")
            })?;
            file.check_input(input)?;
            recipe.layers = Some(sized_layers(&file.layers, settings)?);
            recipe.pretrained = file.pretrained.clone();
        }
        FamilyName::Mlp => {
            // `layers` hidden layers of `hidden` units; the recipe's default otherwise.
            if settings.contains_key("hidden") || settings.contains_key("layers") {
                recipe.mlp_hidden = Some(vec![
                    positive(settings, "hidden", 256)?;
                    positive(settings, "layers", 2)?
                ]);
            }
        }
        FamilyName::Lenet => {
            recipe.lenet_channels = [size("channels1")?, size("channels2")?];
            recipe.hidden = size("hidden")?;
            recipe.kernel = size("kernel")?;
        }
        FamilyName::Resnet20 => {
            recipe.stage_channels = [size("stage1")?, size("stage2")?, size("stage3")?];
            recipe.blocks_per_stage = size("blocks_per_stage")?;
        }
        FamilyName::Nlu => {
            recipe.buckets = size("buckets")?;
            recipe.embedding_dim = size("embedding_dim")?;
            recipe.hidden = size("hidden")?;
            recipe.kernel = size("kernel")?;
            recipe.blocks = Some(int(settings, "blocks", 1)?.max(0) as usize);
            recipe.block = Some(choice(
                settings,
                "block",
                "conv",
                &[("conv", NluBlock::Conv), ("mlp", NluBlock::Mlp)],
            )?);
            recipe.pooling = Some(choice(
                settings,
                "pooling",
                "max",
                &[("mean", Pooling::Mean), ("max", Pooling::Max)],
            )?);
        }
    }
    let bits = |name: &str, default: i64| -> Result<u32> {
        let b = int(settings, name, default)?;
        if !(2..=8).contains(&b) {
            return Err(StudyError::config(
                name,
                format!("{b} bits: the runtime executes 2..=8"),
            ));
        }
        Ok(b as u32)
    };
    for (name, _) in settings.iter() {
        for (prefix, weights) in [("wbits.", true), ("abits.", false)] {
            if let Some(layer) = name.strip_prefix(prefix) {
                let entry =
                    recipe
                        .per_layer
                        .entry(layer.to_string())
                        .or_insert(LayerBitsOverride {
                            weight_bits: None,
                            activation_bits: None,
                        });
                let b = bits(name, 4)?;
                if weights {
                    entry.weight_bits = Some(b);
                } else {
                    entry.activation_bits = Some(b);
                }
            }
        }
    }
    recipe.width = Some(float(settings, "width", 1.0)?);
    recipe.weight_bits = Some(bits("wbits", 4)?);
    recipe.activation_bits = Some(bits("abits", 4)?);
    recipe.first_layer_bits = Some(bits("first_bits", 8)?);
    recipe.last_layer_bits = Some(bits("last_bits", 8)?);
    recipe.weight_quantizer = Some(quantizer(settings, "weight_quantizer", "sawb")?);
    recipe.edge_weight_quantizer = Some(quantizer(settings, "edge_weight_quantizer", "min-max")?);
    recipe.alpha_init = Some(float(settings, "alpha_init", 4.0)?);
    recipe.dropout = Some(float(settings, "dropout", 0.0)?);
    let spec = recipe.spec(input.clone(), classes)?;
    check_applies(family_name, &spec, settings)?;
    let config = TrainConfig {
        learning_rate: float(settings, "learning_rate", 3e-3)?,
        weight_decay: float(settings, "weight_decay", 1e-4)?,
        epochs: positive(settings, "epochs", 5)?,
        batch_size: positive(settings, "batch_size", 64)?,
        seed,
        ..TrainConfig::default()
    };
    config.validate()?;
    Ok((spec, config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use qfront_train::spec::ModelFamily;

    fn settings(pairs: &[(&str, ParamValue)]) -> Settings {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn builds_each_family_from_named_settings() {
        let tokens = InputShape::Tokens {
            max_tokens: 32,
            vocabulary: 4097,
        };
        let s = settings(&[
            ("embedding_dim", ParamValue::Int(16)),
            ("hidden", ParamValue::Int(48)),
            ("blocks", ParamValue::Int(2)),
            ("block", ParamValue::Text("mlp".into())),
            ("pooling", ParamValue::Text("mean".into())),
            ("wbits", ParamValue::Int(3)),
            ("wbits.block1", ParamValue::Int(2)),
            ("abits.block0", ParamValue::Int(8)),
            ("learning_rate", ParamValue::Float(0.01)),
            ("epochs", ParamValue::Int(2)),
        ]);
        let (spec, config) = build("nlu", &tokens, 7, &s, 5).unwrap();
        let ModelFamily::Nlu {
            embedding_dim,
            hidden,
            blocks,
            block,
            pooling,
            ..
        } = spec.family
        else {
            panic!("an NLU spec")
        };
        assert_eq!(
            (embedding_dim, hidden, blocks, block, pooling),
            (16, 48, 2, NluBlock::Mlp, Pooling::Mean)
        );
        assert_eq!(spec.quant.weight_bits, 3);
        assert_eq!(spec.quant.per_layer["block1"].weight_bits, Some(2));
        assert_eq!(spec.quant.per_layer["block0"].activation_bits, Some(8));
        assert_eq!(
            (config.learning_rate, config.epochs, config.seed),
            (0.01, 2, 5)
        );
        let image = InputShape::Image {
            channels: 1,
            height: 8,
            width: 8,
        };
        let (spec, _) = build(
            "mlp",
            &image,
            10,
            &settings(&[
                ("hidden", ParamValue::Int(32)),
                ("layers", ParamValue::Int(3)),
            ]),
            0,
        )
        .unwrap();
        assert_eq!(
            spec.family,
            ModelFamily::Mlp {
                hidden: vec![32, 32, 32]
            }
        );
    }

    #[test]
    fn bad_values_name_their_setting() {
        let image = InputShape::Image {
            channels: 1,
            height: 8,
            width: 8,
        };
        for (name, value, expected) in [
            ("wbits", ParamValue::Int(33), "wbits"),
            ("abits", ParamValue::Int(0), "abits"),
            (
                "weight_quantizer",
                ParamValue::Text("magic".into()),
                "weight_quantizer",
            ),
            ("hidden", ParamValue::Float(2.5), "hidden"),
            ("channels1", ParamValue::Int(0), "channels1"),
        ] {
            let err = build("lenet", &image, 10, &settings(&[(name, value)]), 0)
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{name}: {err}");
        }
        let tokens = InputShape::Tokens {
            max_tokens: 32,
            vocabulary: 4097,
        };
        for (name, expected) in [
            ("block", "'lstm' is not conv or mlp"),
            ("pooling", "'lstm' is not mean or max"),
        ] {
            let bad = settings(&[(name, ParamValue::Text("lstm".into()))]);
            let err = build("nlu", &tokens, 7, &bad, 0).unwrap_err().to_string();
            assert!(err.contains(name) && err.contains(expected), "{err}");
        }
        assert!(check_name("parameter", "depthh")
            .unwrap_err()
            .to_string()
            .contains("depthh"));
        assert!(check_name("parameter", "wbits.conv2").is_ok());
        assert!(check_name("parameter", "wbits.").is_err());
        // A per-layer override of a layer the model lacks, and a setting of another family.
        let typo = settings(&[("wbits.cnov2", ParamValue::Int(2))]);
        let err = build("lenet", &image, 10, &typo, 0)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no layer 'cnov2'") && err.contains("conv2"),
            "{err}"
        );
        let foreign = settings(&[("channels1", ParamValue::Int(8))]);
        let err = build("mlp", &image, 10, &foreign, 0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("channels1") && err.contains("mlp"), "{err}");
    }
}
