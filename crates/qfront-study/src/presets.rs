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

    #[test]
    fn saas_settings_are_study_settings_with_documented_defaults() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/presets/digits-cnn.toml"
        ))
        .unwrap();
        let study = StudyConfig::from_toml(&text).unwrap().validate().unwrap();
        let saas = &study.optimizer.saas;
        assert_eq!(
            (
                saas.warmup,
                saas.samples,
                saas.thinning,
                saas.max_tree_depth
            ),
            (256, 128, 16, 6)
        );
        let custom = StudyConfig::from_toml(&format!(
            "{text}\n[saas]\nwarmup = 64\nsamples = 32\nthinning = 8\n"
        ))
        .unwrap()
        .validate()
        .unwrap();
        let saas = &custom.optimizer.saas;
        assert_eq!((saas.warmup, saas.samples, saas.thinning), (64, 32, 8));
        let refused =
            StudyConfig::from_toml(&format!("{text}\n[saas]\nsamples = 4\nthinning = 16\n"))
                .unwrap()
                .validate()
                .unwrap_err()
                .to_string();
        assert!(refused.contains("saas"), "{refused}");
        assert!(StudyConfig::from_toml(&format!("{text}\n[saas]\nwarm_up = 4\n")).is_err());
    }

    #[test]
    fn the_surrogate_is_a_study_setting_that_defaults_to_the_adaptive_recipe() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/presets/digits-cnn.toml"
        ))
        .unwrap();
        let with = |line: &str| StudyConfig::from_toml(&format!("{line}\n{text}")).unwrap();
        let adaptive = with("").validate().unwrap().optimizer;
        assert!(adaptive.quadratic_trend && adaptive.outcome_warp);
        assert_eq!(
            with("surrogate = \"adaptive\"")
                .validate()
                .unwrap()
                .optimizer,
            adaptive
        );
        let plain = with("surrogate = \"plain\"").validate().unwrap().optimizer;
        assert!(!plain.quadratic_trend && !plain.outcome_warp);
        assert_eq!(plain.worst_observed_mean_min_dim, usize::MAX);
        let refused = with("surrogate = \"botorch\"")
            .validate()
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("surrogate") && refused.contains("adaptive, plain"),
            "{refused}"
        );
    }
}
