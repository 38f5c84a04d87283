//! Byte buffers that start on a 64-byte cache line.
//!
//! `Vec<u8>` promises only byte alignment, and glibc's large allocations start 16 bytes past
//! a page, so every row of a padded activation matrix sat 16 bytes off a line and each AMX
//! tile row load straddled two lines (half the speed; see BENCHMARKS.md, "AMX"). Activation
//! rows the GEMMs read are written into an [`AlignedBytes`] instead; with a row stride that
//! is a multiple of 64, every row then starts on a line and no copy is needed. No crate in
//! the dependency tree offers a growable aligned byte buffer, hence this small one (a
//! `Vec` of 64-byte lines viewed as bytes).

use std::ops::{Deref, DerefMut};

/// One 64-byte cache line.
#[derive(Clone, Copy, Debug)]
#[repr(C, align(64))]
pub struct CacheLine(pub [u8; 64]);

impl CacheLine {
    /// A line of zeros.
    pub const ZERO: CacheLine = CacheLine([0; 64]);
}

/// A growable byte buffer whose first byte is on a 64-byte line; dereferences to its `len`
/// bytes.
#[derive(Debug, Default)]
pub struct AlignedBytes {
    lines: Vec<CacheLine>,
    len: usize,
}

impl AlignedBytes {
    /// Makes the buffer `len` bytes long, keeping its first `min(len, old length)` bytes;
    /// bytes past the old length are zero. Reuses the allocation when it is large enough.
    pub fn resize(&mut self, len: usize) {
        if len > self.len {
            // Bytes of the lines already there but past the old length may be stale.
            let reused_end = len.min(self.lines.len() * 64);
            let old = self.len;
            self.len = reused_end;
            self[old..reused_end].fill(0);
            self.lines.resize(len.div_ceil(64), CacheLine::ZERO);
        }
        self.len = len;
    }

    /// Makes the buffer at least `len` bytes long ([`AlignedBytes::resize`] when it is
    /// shorter; left as it is otherwise): for scratch that every call overwrites.
    pub fn ensure_len(&mut self, len: usize) {
        if self.len < len {
            self.resize(len);
        }
    }
}

impl Deref for AlignedBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: `lines` holds at least `len` initialised bytes (`resize` keeps
        // `len ≤ 64·lines.len()`), and `CacheLine` is plain bytes with no padding.
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr() as *const u8, self.len) }
    }
}

impl DerefMut for AlignedBytes {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`, with unique access through `&mut self`.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr() as *mut u8, self.len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_on_a_line_and_zeroes_what_it_grows() {
        let mut buffer = AlignedBytes::default();
        for len in [1, 63, 64, 65, 1000, 200_000] {
            buffer.resize(0);
            buffer.resize(len);
            assert_eq!(buffer.len(), len);
            assert_eq!(buffer.as_ptr() as usize % 64, 0, "length {len}");
            assert!(buffer.iter().all(|&b| b == 0), "length {len}: not zeroed");
            buffer.fill(0xAB);
        }
        // Shrinking keeps the prefix; growing again zeroes the stale tail of the last line.
        buffer.resize(10);
        buffer.resize(100);
        assert!(buffer[..10].iter().all(|&b| b == 0xAB));
        assert!(buffer[10..].iter().all(|&b| b == 0));
        // `ensure_len` grows like `resize` and never shrinks or clears.
        buffer.fill(0xCD);
        buffer.ensure_len(50);
        assert_eq!(buffer.len(), 100);
        assert!(buffer.iter().all(|&b| b == 0xCD));
        buffer.ensure_len(300);
        assert_eq!(buffer.len(), 300);
        assert!(buffer[..100].iter().all(|&b| b == 0xCD) && buffer[100..].iter().all(|&b| b == 0));
    }
}
