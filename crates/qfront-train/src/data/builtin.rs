//! The data that ships with qfront (UCI digits and SNIPS, `data/` at the repository root) is
//! compiled into the binary, so an installed `qfront` works from any directory. Setting
//! `QFRONT_BUILTIN_DATA` to a directory of the same layout reads the files from there instead.

use super::dataset::read_file;
use crate::{Result, TrainError};
use std::path::PathBuf;

macro_rules! embed {
    ($relative:literal) => {
        (
            $relative,
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../data/",
                $relative
            )) as &[u8],
        )
    };
}

/// Every built-in file by its path under `data/`.
const FILES: [(&str, &[u8]); 15] = [
    embed!("digits8x8/digits.csv.gz"),
    embed!("snips/2017-06-custom-intent-engines/AddToPlaylist/train_AddToPlaylist_full.json"),
    embed!("snips/2017-06-custom-intent-engines/AddToPlaylist/validate_AddToPlaylist.json"),
    embed!("snips/2017-06-custom-intent-engines/BookRestaurant/train_BookRestaurant_full.json"),
    embed!("snips/2017-06-custom-intent-engines/BookRestaurant/validate_BookRestaurant.json"),
    embed!("snips/2017-06-custom-intent-engines/GetWeather/train_GetWeather_full.json"),
    embed!("snips/2017-06-custom-intent-engines/GetWeather/validate_GetWeather.json"),
    embed!("snips/2017-06-custom-intent-engines/PlayMusic/train_PlayMusic_full.json"),
    embed!("snips/2017-06-custom-intent-engines/PlayMusic/validate_PlayMusic.json"),
    embed!("snips/2017-06-custom-intent-engines/RateBook/train_RateBook_full.json"),
    embed!("snips/2017-06-custom-intent-engines/RateBook/validate_RateBook.json"),
    embed!("snips/2017-06-custom-intent-engines/SearchCreativeWork/train_SearchCreativeWork_full.json"),
    embed!("snips/2017-06-custom-intent-engines/SearchCreativeWork/validate_SearchCreativeWork.json"),
    embed!("snips/2017-06-custom-intent-engines/SearchScreeningEvent/train_SearchScreeningEvent_full.json"),
    embed!("snips/2017-06-custom-intent-engines/SearchScreeningEvent/validate_SearchScreeningEvent.json"),
];

/// The SNIPS intents (folder names), sorted.
pub const SNIPS_INTENTS: [&str; 7] = [
    "AddToPlaylist",
    "BookRestaurant",
    "GetWeather",
    "PlayMusic",
    "RateBook",
    "SearchCreativeWork",
    "SearchScreeningEvent",
];

/// Where an override directory is set, the path it gives `relative`.
pub fn override_path(relative: &str) -> Option<PathBuf> {
    std::env::var_os("QFRONT_BUILTIN_DATA").map(|dir| PathBuf::from(dir).join(relative))
}

/// The bytes of built-in file `relative` (e.g. `digits8x8/digits.csv.gz`).
pub fn read_builtin(relative: &str) -> Result<Vec<u8>> {
    if let Some(path) = override_path(relative) {
        return read_file(&path, "built-in data file (QFRONT_BUILTIN_DATA)");
    }
    FILES
        .iter()
        .find(|(name, _)| *name == relative)
        .map(|(_, bytes)| bytes.to_vec())
        .ok_or_else(|| TrainError::MissingData {
            what: "built-in data file".into(),
            path: PathBuf::from(relative),
            hint: "not compiled into this binary".into(),
        })
}

/// How errors name a built-in file.
pub fn display_path(relative: &str) -> PathBuf {
    override_path(relative).unwrap_or_else(|| PathBuf::from(format!("<built-in>/{relative}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_files_match_the_repository_copies() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data");
        for (name, bytes) in FILES {
            assert_eq!(std::fs::read(root.join(name)).unwrap(), bytes, "{name}");
        }
    }
}
