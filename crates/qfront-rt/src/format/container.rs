//! The `.qfm` container: a fixed 32-byte prefix, a JSON header (the [`QfmModel`] graph) and a
//! blob of packed weights, with a CRC-32 over header and blob.
//!
//! ```text
//! offset  size  field
//!      0     4  magic "QFM\x1a"
//!      4     4  format version (u32 LE)
//!      8     8  header length in bytes (u64 LE)
//!     16     8  blob length in bytes (u64 LE)
//!     24     4  CRC-32 (IEEE) of header ‖ blob (u32 LE)
//!     28     4  reserved, 0
//!     32     …  header (UTF-8 JSON), then blob
//! ```

use super::graph::{QfmModel, FORMAT_VERSION};
use super::validate::{validate_model, ModelLayout};
use crate::{Result, RtError};
use std::path::Path;

/// The four magic bytes at the start of every `.qfm` file.
pub const QFM_MAGIC: [u8; 4] = *b"QFM\x1a";
/// Size of the fixed prefix.
pub const PREFIX_LEN: usize = 32;
/// Largest header accepted (a guard against absurd lengths in corrupted files).
const MAX_HEADER_LEN: u64 = 64 << 20;

/// A model together with its blob, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct QfmFile {
    /// The graph.
    pub model: QfmModel,
    /// Packed weights referenced by the graph.
    pub blob: Vec<u8>,
}

impl QfmFile {
    /// Checks a model and blob and wraps them.
    pub fn new(model: QfmModel, blob: Vec<u8>) -> Result<Self> {
        validate_model(&model, blob.len())?;
        Ok(Self { model, blob })
    }

    /// The value types of every node (shape inference; cannot fail on a validated file).
    pub fn layout(&self) -> ModelLayout {
        validate_model(&self.model, self.blob.len()).expect("validated when built")
    }

    /// Serialises to bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let header = serde_json::to_vec(&self.model).expect("the graph serialises");
        let mut crc = crc32fast::Hasher::new();
        crc.update(&header);
        crc.update(&self.blob);
        let mut out = Vec::with_capacity(PREFIX_LEN + header.len() + self.blob.len());
        out.extend_from_slice(&QFM_MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(header.len() as u64).to_le_bytes());
        out.extend_from_slice(&(self.blob.len() as u64).to_le_bytes());
        out.extend_from_slice(&crc.finalize().to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(&self.blob);
        out
    }

    /// Parses and validates bytes. Never panics: every defect is an [`RtError::Format`] or
    /// [`RtError::InvalidModel`] that names it.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() < PREFIX_LEN {
            return Err(RtError::format(format!(
                "the file has {} bytes, fewer than the {PREFIX_LEN}-byte prefix; it is truncated or not a .qfm file",
                bytes.len()
            )));
        }
        if bytes[0..4] != QFM_MAGIC {
            return Err(RtError::format(
                "bad magic bytes; this is not a .qfm file (write one with `qfront export` or `qfront train --qfm`)",
            ));
        }
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
        let version = u32_at(4);
        if version != FORMAT_VERSION {
            return Err(RtError::format(format!(
                "format version {version}; this qfront reads version {FORMAT_VERSION} (re-export the model with this qfront)"
            )));
        }
        let header_len = u64_at(8);
        let blob_len = u64_at(16);
        let stored_crc = u32_at(24);
        if u32_at(28) != 0 {
            return Err(RtError::format(
                "the reserved prefix bytes are not zero; the file is corrupted",
            ));
        }
        if header_len > MAX_HEADER_LEN {
            return Err(RtError::format(format!(
                "header length {header_len} bytes is implausible; the file is corrupted"
            )));
        }
        let expected = (PREFIX_LEN as u64)
            .checked_add(header_len)
            .and_then(|n| n.checked_add(blob_len))
            .ok_or_else(|| RtError::format("section lengths overflow; the file is corrupted"))?;
        let actual = bytes.len() as u64;
        if actual < expected {
            return Err(RtError::format(format!(
                "truncated: the prefix announces {expected} bytes but the file has {actual}; copy it again"
            )));
        }
        if actual > expected {
            return Err(RtError::format(format!(
                "{} unexpected bytes after the blob; the file is corrupted",
                actual - expected
            )));
        }
        let header = &bytes[PREFIX_LEN..PREFIX_LEN + header_len as usize];
        let blob = &bytes[PREFIX_LEN + header_len as usize..];
        let mut crc = crc32fast::Hasher::new();
        crc.update(header);
        crc.update(blob);
        let crc = crc.finalize();
        if crc != stored_crc {
            return Err(RtError::format(format!(
                "checksum mismatch (stored {stored_crc:08x}, computed {crc:08x}); the file is corrupted"
            )));
        }
        let model: QfmModel = serde_json::from_slice(header)
            .map_err(|e| RtError::format(format!("malformed header: {e}")))?;
        Self::new(model, blob.to_vec())
    }

    /// Reads and validates a file.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| RtError::Io {
            path: path.to_path_buf(),
            error: e,
        })?;
        Self::from_bytes(&bytes).map_err(|e| match e {
            RtError::Format { reason } => RtError::Format {
                reason: format!("{}: {reason}", path.display()),
            },
            other => other,
        })
    }

    /// The signed codes of `weights` (a matrix of this file's graph), `[rows, columns]` row by
    /// row. Cannot fail on a validated file: its ranges and lengths were checked.
    pub fn weight_codes(&self, weights: &super::WeightSpec) -> Vec<i8> {
        unpack_weights(weights, &self.blob)
    }

    /// Reads only the graph of the file at `path` (its prefix and JSON header, not the
    /// weights): what a listing needs, without the blob's size or checksum. The magic bytes,
    /// version and header length are checked; the graph is not validated against the blob.
    pub fn read_graph(path: &Path) -> Result<QfmModel> {
        use std::io::Read;
        let io = |e| RtError::Io {
            path: path.to_path_buf(),
            error: e,
        };
        let fail = |reason: String| RtError::format(format!("{}: {reason}", path.display()));
        let mut file = std::fs::File::open(path).map_err(io)?;
        let mut prefix = [0u8; PREFIX_LEN];
        file.read_exact(&mut prefix)
            .map_err(|_| fail("shorter than the prefix; truncated or not a .qfm file".into()))?;
        if prefix[0..4] != QFM_MAGIC {
            return Err(fail("bad magic bytes; this is not a .qfm file".into()));
        }
        let version = u32::from_le_bytes(prefix[4..8].try_into().expect("4 bytes"));
        if version != FORMAT_VERSION {
            return Err(fail(format!(
                "format version {version}; this qfront reads version {FORMAT_VERSION}"
            )));
        }
        let length = u64::from_le_bytes(prefix[8..16].try_into().expect("8 bytes"));
        if length > MAX_HEADER_LEN {
            return Err(fail(format!("a header of {length} bytes is implausible")));
        }
        let mut header = vec![0u8; length as usize];
        file.read_exact(&mut header)
            .map_err(|_| fail("the header is truncated".into()))?;
        serde_json::from_slice(&header).map_err(|e| fail(format!("malformed header: {e}")))
    }

    /// Writes through a temporary file renamed into place, so an interrupted write never
    /// leaves a half file under `path`.
    pub fn write(&self, path: &Path) -> Result<()> {
        let io = |e| RtError::Io {
            path: path.to_path_buf(),
            error: e,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model.qfm".into());
        let tmp = path.with_file_name(format!(".{file_name}.tmp"));
        std::fs::write(&tmp, self.to_bytes()).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }
}

/// The codes of rows `first_row..` of a weight matrix (as many as `out` holds), row-major,
/// unpacked from the blob without the rest of the matrix.
pub(crate) fn unpack_weight_rows(
    weights: &super::WeightSpec,
    blob: &[u8],
    first_row: usize,
    out: &mut [i8],
) {
    let start = weights.data.offset as usize;
    let bytes = &blob[start..start + weights.data.length as usize];
    let bits = qfront_quant::BitWidth::new(weights.bits).expect("validated");
    qfront_quant::packing::unpack_codes_into(bytes, first_row * weights.columns, out, bits)
        .expect("validated length")
}

/// Unpacks a validated weight matrix from `blob`, row-major (see [`QfmFile::weight_codes`]).
pub(crate) fn unpack_weights(weights: &super::WeightSpec, blob: &[u8]) -> Vec<i8> {
    let start = weights.data.offset as usize;
    let bytes = &blob[start..start + weights.data.length as usize];
    let bits = qfront_quant::BitWidth::new(weights.bits).expect("validated");
    qfront_quant::packing::unpack_codes(bytes, weights.rows * weights.columns, bits)
        .expect("validated length")
}
