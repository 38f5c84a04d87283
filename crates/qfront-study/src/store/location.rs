//! Where a study is stored: a SQLite file (one machine; the default, `runs/<study>/study.db`)
//! or a PostgreSQL database (many workers on many machines, like Optuna's RDB storage).

use crate::{Result, StudyError};
use std::path::{Path, PathBuf};

/// A parsed storage location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageLocation {
    /// A SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL (`postgresql://user:password@host:port/database`).
    Postgres(String),
}

impl StorageLocation {
    /// The default store of a study directory: `DIR/study.db`.
    pub fn in_dir(dir: &Path) -> Self {
        StorageLocation::Sqlite(dir.join("study.db"))
    }

    /// Parses a storage URL: `sqlite:///absolute/study.db`, `sqlite://relative/study.db`, or
    /// `postgresql://…` / `postgres://…` (libpq's URL form).
    pub fn parse(url: &str) -> Result<Self> {
        let url = url.trim();
        if url.starts_with("postgresql://") || url.starts_with("postgres://") {
            // Checked here so a typo fails before any work, with the parser's reason.
            url.parse::<postgres::Config>().map_err(|e| {
                StudyError::config("storage", format!("{}: {e}", mask_password(url)))
            })?;
            return Ok(StorageLocation::Postgres(url.to_string()));
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() || path == "/" {
                return Err(StudyError::config(
                    "storage",
                    "sqlite:// needs a file, e.g. sqlite:///home/me/study.db",
                ));
            }
            return Ok(StorageLocation::Sqlite(PathBuf::from(path)));
        }
        Err(StudyError::config(
            "storage",
            format!(
                "'{}' is not a storage URL; use sqlite:///path/study.db or postgresql://user@host/database",
                mask_password(url)
            ),
        ))
    }

    /// Whether several machines can share it.
    pub fn is_shared(&self) -> bool {
        matches!(self, StorageLocation::Postgres(_))
    }
}

impl std::fmt::Display for StorageLocation {
    /// The location for messages, with any password masked.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StorageLocation::Sqlite(path) => write!(f, "{}", path.display()),
            StorageLocation::Postgres(url) => f.write_str(&mask_password(url)),
        }
    }
}

/// `scheme://user:secret@host/db` → `scheme://user:***@host/db`.
fn mask_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_bad_ones_are_refused_with_the_fix() {
        assert_eq!(
            StorageLocation::parse("sqlite:///tmp/x/study.db").unwrap(),
            StorageLocation::Sqlite(PathBuf::from("/tmp/x/study.db"))
        );
        assert_eq!(
            StorageLocation::parse("sqlite://runs/a.db").unwrap(),
            StorageLocation::Sqlite(PathBuf::from("runs/a.db"))
        );
        let pg = StorageLocation::parse("postgresql://me:hunter2@db.local:5433/studies").unwrap();
        assert!(pg.is_shared());
        assert_eq!(pg.to_string(), "postgresql://me:***@db.local:5433/studies");
        for bad in [
            "mysql://x/y",
            "runs/study.db",
            "sqlite://",
            "postgresql://h:notaport/db",
        ] {
            let e = StorageLocation::parse(bad).unwrap_err().to_string();
            assert!(e.contains("storage"), "{bad}: {e}");
        }
        let e = StorageLocation::parse("redis://u:secret@h/db")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("secret"), "passwords never reach messages: {e}");
    }
}
