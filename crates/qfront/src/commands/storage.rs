//! Where a study command finds its study: `--dir` (artifacts, and the SQLite store
//! `DIR/study.db`), or `--storage URL` for a store shared by many workers, with `--study`
//! naming the study when the store holds several.

use anyhow::Result;
use clap::Args;
use qfront_study::search::load_stored;
use qfront_study::store::{StorageLocation, Store};
use qfront_study::Study;
use std::path::{Path, PathBuf};

/// Options every study command takes.
#[derive(Debug, Clone, Args)]
pub struct StorageArgs {
    /// Study directory: trial artifacts (trials/<n>/), the report, and — without --storage —
    /// the store DIR/study.db. Default runs/<study name>.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Store the study elsewhere: sqlite:///path/study.db, or postgresql://user@host/database
    /// for many workers on many machines (each runs `qfront search --resume` with the same URL).
    #[arg(long, env = "QFRONT_STORAGE")]
    pub storage: Option<String>,
    /// The study's name in the store (default: the config's name for a new study; the only
    /// study of the store otherwise).
    #[arg(long)]
    pub study: Option<String>,
}

impl StorageArgs {
    /// The study directory, given the study's name.
    pub fn dir_for(&self, name: &str) -> PathBuf {
        self.dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("runs").join(name))
    }

    /// The store: `--storage`, else `DIR/study.db`.
    pub fn location(&self, dir: &Path) -> Result<StorageLocation> {
        Ok(match &self.storage {
            Some(url) => StorageLocation::parse(url)?,
            None => StorageLocation::in_dir(dir),
        })
    }

    /// For commands that read a whole store: the store (`--storage`, or the study directory's
    /// `study.db`, default runs/<--study> or runs/snips-nlu) and the directory.
    pub fn stored(&self) -> Result<(StorageLocation, PathBuf)> {
        let dir = self.dir_for(self.study.as_deref().unwrap_or("snips-nlu"));
        Ok((self.location(&dir)?, dir))
    }

    /// For commands that read a stored study: the study, its store (open), and its directory
    /// (default runs/<study name>; without --storage, runs/<--study> or runs/snips-nlu, the
    /// default preset's, is where the store is looked for).
    pub fn open_stored(&self) -> Result<(Study, Store, PathBuf)> {
        let location = match &self.storage {
            Some(url) => StorageLocation::parse(url)?,
            None => {
                StorageLocation::in_dir(&self.dir_for(self.study.as_deref().unwrap_or("snips-nlu")))
            }
        };
        let (study, store) = load_stored(&location, self.study.as_deref())?;
        let dir = self.dir_for(&study.config.name);
        Ok((study, store, dir))
    }
}
