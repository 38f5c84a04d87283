//! The studies that ship with qfront (`presets/*.toml` in this crate).

use crate::{Result, StudyConfig, StudyError};

/// `(name, TOML)` of every preset; the first is the default.
pub const PRESETS: [(&str, &str); 4] = [
    ("snips-nlu", include_str!("../presets/snips-nlu.toml")),
    ("digits-cnn", include_str!("../presets/digits-cnn.toml")),
    ("fashion-cnn", include_str!("../presets/fashion-cnn.toml")),
    ("one-bitwidth", include_str!("../presets/one-bitwidth.toml")),
];

/// The config of preset `name`.
pub fn preset(name: &str) -> Result<StudyConfig> {
    let (_, text) = PRESETS.iter().find(|(n, _)| *n == name).ok_or_else(|| {
        StudyError::config(
            "preset",
            format!(
                "'{name}' is not one of {}",
                PRESETS.map(|(n, _)| n).join(", ")
            ),
        )
    })?;
    StudyConfig::from_toml(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_validates() {
        for (name, _) in PRESETS {
            let config = preset(name).unwrap();
            assert_eq!(config.name, name);
            // The one-bitwidth preset is validated through its two sub-studies when it runs.
            if config.one_bitwidth.is_none() {
                config.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
            }
        }
        let snips = preset("snips-nlu").unwrap().validate().unwrap();
        assert!(
            snips.config.parameters.len() >= 18,
            "a space like the paper's"
        );
        assert!(preset("nope").is_err());
    }
}
