//! Integer kernels: a scalar reference for every op ([`reference`](mod@reference)); on x86-64, AVX2 fast
//! paths ([`avx2`]), AVX-512 F/BW ones on the same panels and AVX-512 VNNI ones ([`avx512`]); on aarch64, NEON, dot-product
//! and int8-matrix-multiply paths (`neon`, on aarch64 only). The fastest set the CPU has is chosen at run
//! time. [`PreparedWeights`] holds a layer's codes in the layouts its kernels read, and
//! [`PreparedWeights::matmul`] dispatches.

pub mod aligned;
#[cfg(target_arch = "x86_64")]
pub mod avx2;
#[cfg(target_arch = "x86_64")]
pub mod avx512;
mod kernel_set;
#[cfg(target_arch = "aarch64")]
pub mod neon;
pub mod reference;
pub mod requant;
pub mod spin_pool;

pub use kernel_set::KernelSet;
use std::sync::Arc;

/// `Σ bytes` (row sums for layers with a weight zero point), with `vpsadbw` when AVX2 is
/// present.
pub fn byte_sum(bytes: &[u8]) -> i32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 is present.
        return unsafe { avx2::byte_sum(bytes) };
    }
    bytes.iter().map(|&v| v as i32).sum()
}

/// Row counts below this use the matrix–vector kernels (weights stay packed), at or above it
/// the GEMM (weights repacked into panels once, on first use).
pub const GEMM_MIN_ROWS: usize = 4;

/// Multiply-adds of one GEMM call below which it stays on one thread even when the session
/// has several: handing a small product to a second core costs more than it saves (at batch
/// 1 every call is a matrix–vector product and stays on one thread).
pub const PARALLEL_MIN_MACS: usize = 1 << 20;

thread_local! {
    /// Set while [`without_gemm_split`] runs: GEMMs stay on the calling thread.
    static NO_GEMM_SPLIT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with every GEMM it calls on the calling thread, whatever pool the weights have
/// (a session's one-thread plan).
pub fn without_gemm_split<R>(f: impl FnOnce() -> R) -> R {
    let before = NO_GEMM_SPLIT.with(|flag| flag.replace(true));
    let result = f();
    NO_GEMM_SPLIT.with(|flag| flag.set(before));
    result
}

/// The pool that splits GEMMs over `threads` threads (`None` for 1), made once per session
/// (see [`PreparedWeights::set_thread_pool`]), never per call.
pub fn thread_pool(threads: usize) -> Result<Option<Arc<spin_pool::SpinPool>>, String> {
    if threads <= 1 {
        return Ok(None);
    }
    spin_pool::SpinPool::new(threads).map(|pool| Some(Arc::new(pool)))
}

/// Widened GEMM inputs (AVX2 and AVX-512 BW sets) hold a multiple of this many rows (the
/// micro-kernels' row count).
pub const WIDENED_ROW_MULTIPLE: usize = 6;

/// Rows of the AVX-512 GEMM's largest tile: threads split its rows in multiples of it.
pub const PADDED_ROW_MULTIPLE: usize = 8;

/// Reusable buffers of the kernels.
#[derive(Debug, Default)]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub struct Scratch {
    packed: Vec<i32>,
    padded: aligned::AlignedBytes,
}

/// A weight matrix `[rows, columns]` of signed codes, in the layouts its kernel set reads
/// and no other:
/// - `Reference`: row-major i8 codes;
/// - `Avx512Vnni`: [`avx512::gemm::VnniPanels`] at the codes' width (2-bit codes take a
///   quarter of a byte, 3- and 4-bit half, 5- to 8-bit one), read by every row count;
/// - `Neon*`: `neon::panels::NeonPanels` (aarch64 only): 2-bit codes in bit pairs, 3- and
///   4-bit in nibbles (signed for plain NEON, offset for the dot-product and i8mm sets),
///   bytes otherwise;
/// - `Avx512Bw` and `Avx2`: the VNNI panels for codes of at most 7 bits (read by their
///   `vpmaddubsw` GEMMs, [`avx512::gemm::gemm_padded_pair_sums`] and
///   [`avx2::gemm_pairs`]), [`avx2::gemm::Avx2Panels`] for 8-bit codes (their `vpmaddwd`
///   GEMMs), at the same widths, read by every row count.
#[derive(Debug)]
pub struct PreparedWeights {
    /// Outputs.
    pub rows: usize,
    /// Reduction length.
    pub columns: usize,
    /// Bits of the codes (2..=8).
    pub bits: u32,
    /// Row-major codes (the reference set only; empty otherwise).
    codes: Vec<i8>,
    kernels: KernelSet,
    #[cfg(target_arch = "x86_64")]
    avx2_panels: Option<avx2::gemm::Avx2Panels>,
    #[cfg(target_arch = "x86_64")]
    vnni_panels: Option<avx512::gemm::VnniPanels>,
    #[cfg(target_arch = "aarch64")]
    neon: Option<neon::panels::NeonPanels>,
    pool: Option<Arc<spin_pool::SpinPool>>,
}

impl PreparedWeights {
    /// Prepares codes (`[rows, columns]`, row-major, of `bits` bits) for `kernels`, keeping
    /// only the layouts that set reads (see [`PreparedWeights`]). A set this CPU lacks
    /// falls back to the reference kernels.
    pub fn new(codes: Vec<i8>, rows: usize, columns: usize, bits: u32, kernels: KernelSet) -> Self {
        assert_eq!(
            codes.len(),
            rows * columns,
            "codes of a {rows}×{columns} matrix"
        );
        Self::prepare(rows, columns, bits, kernels, Some(codes), |_, _| {})
    }

    /// Prepares a `[rows, columns]` matrix of `bits`-bit codes that `fill(first_row, out)`
    /// writes a block of rows at a time (row-major into `out`), for `kernels`. The sets that
    /// keep no row-major codes pack block by block, so the layer never exists at 8 bits per
    /// code in memory on their way (AVX-512 VNNI, NEON).
    pub fn from_rows(
        rows: usize,
        columns: usize,
        bits: u32,
        kernels: KernelSet,
        fill: impl FnMut(usize, &mut [i8]),
    ) -> Self {
        Self::prepare(rows, columns, bits, kernels, None, fill)
    }

    /// [`Self::new`] when `owned` holds the codes, [`Self::from_rows`] otherwise.
    #[allow(unused_variables)]
    fn prepare(
        rows: usize,
        columns: usize,
        bits: u32,
        kernels: KernelSet,
        owned: Option<Vec<i8>>,
        mut fill: impl FnMut(usize, &mut [i8]),
    ) -> Self {
        let kernels = if KernelSet::available().contains(&kernels) {
            kernels
        } else {
            KernelSet::Reference
        };
        let mut weights = Self {
            rows,
            columns,
            bits,
            codes: Vec::new(),
            kernels,
            #[cfg(target_arch = "x86_64")]
            avx2_panels: None,
            #[cfg(target_arch = "x86_64")]
            vnni_panels: None,
            #[cfg(target_arch = "aarch64")]
            neon: None,
            pool: None,
        };
        if weights.keeps_codes() {
            let codes = owned.unwrap_or_else(|| {
                let mut all = vec![0i8; rows * columns];
                fill(0, &mut all);
                all
            });
            weights.codes = codes;
            return weights;
        }
        #[allow(unused_mut, unused_variables)]
        let mut source = |first: usize, out: &mut [i8]| match &owned {
            Some(all) => out.copy_from_slice(&all[first * columns..first * columns + out.len()]),
            None => fill(first, out),
        };
        #[cfg(target_arch = "x86_64")]
        if kernels.uses_avx2_panels(bits) {
            weights.avx2_panels = Some(avx2::gemm::Avx2Panels::pack_rows(
                rows,
                columns,
                bits,
                &mut source,
            ));
        } else if kernels.uses_vnni_panels(bits) {
            // The AMX set pads layers of 256 columns or more to whole tiles.
            let tiles = kernels == KernelSet::Avx512Amx && columns >= avx512::amx::MIN_COLUMNS;
            weights.vnni_panels = Some(avx512::gemm::VnniPanels::pack_rows_aligned(
                rows,
                columns,
                bits,
                if tiles { avx512::amx::TILE_QUADS } else { 1 },
                &mut source,
            ));
        }
        #[cfg(target_arch = "aarch64")]
        {
            weights.neon = neon::panels::PanelLayout::for_kernels(kernels).map(|layout| {
                neon::panels::NeonPanels::pack_rows(rows, columns, bits, layout, &mut source)
            });
        }
        weights
    }

    /// Whether the set keeps row-major codes (the reference set only).
    fn keeps_codes(&self) -> bool {
        self.kernels == KernelSet::Reference
    }

    /// Splits large GEMM calls (≥ [`PARALLEL_MIN_MACS`], at least two kernel row blocks per
    /// thread) over `pool`'s threads by rows of activations; `None` keeps every call on the
    /// caller's thread. The threads write disjoint rows of the output, so results are
    /// identical to the single-threaded ones.
    pub fn set_thread_pool(&mut self, pool: Option<Arc<spin_pool::SpinPool>>) {
        self.pool = pool;
    }

    /// The pool and the rows per chunk (a multiple of `multiple`) when a call of `m_rows` rows
    /// is large enough to split (see [`PreparedWeights::set_thread_pool`]); `None` otherwise.
    #[cfg_attr(
        not(any(target_arch = "x86_64", target_arch = "aarch64")),
        allow(dead_code)
    )]
    fn split_rows(&self, m_rows: usize, multiple: usize) -> Option<(&spin_pool::SpinPool, usize)> {
        let pool = self.pool.as_deref()?;
        if NO_GEMM_SPLIT.with(|flag| flag.get()) {
            return None;
        }
        // Already on one of the pool's threads (a session running one part of a split batch
        // per thread): the other threads are busy with their parts.
        if spin_pool::in_pool_task() {
            return None;
        }
        let macs = m_rows * self.rows * self.columns;
        if macs < PARALLEL_MIN_MACS || m_rows < 2 * multiple {
            return None;
        }
        let chunk = m_rows.div_ceil(pool.threads()).div_ceil(multiple) * multiple;
        Some((pool, chunk))
    }

    /// Runs `gemm(first_row, rows, out_rows)` on each chunk of `chunk` output rows of
    /// `out[..m_rows·rows]`, on `pool`'s threads.
    #[cfg_attr(
        not(any(target_arch = "x86_64", target_arch = "aarch64")),
        allow(dead_code)
    )]
    fn run_chunks(
        &self,
        pool: &spin_pool::SpinPool,
        chunk: usize,
        m_rows: usize,
        out: &mut [i32],
        gemm: impl Fn(usize, usize, &mut [i32]) + Sync,
    ) {
        let rows = self.rows;
        let mut parts: Vec<&mut [i32]> = out[..m_rows * rows].chunks_mut(chunk * rows).collect();
        pool.for_each_mut(&mut parts, |i, out| gemm(i * chunk, out.len() / rows, out));
    }

    /// Runs `gemm(first_row, rows, out_rows)` over the output rows `out[..m_rows·rows]`: split
    /// over the pool's threads when [`PreparedWeights::split_rows`] says so, else once here.
    #[cfg_attr(
        not(any(target_arch = "x86_64", target_arch = "aarch64")),
        allow(dead_code)
    )]
    fn over_row_chunks(
        &self,
        m_rows: usize,
        multiple: usize,
        out: &mut [i32],
        gemm: impl Fn(usize, usize, &mut [i32]) + Sync,
    ) {
        match self.split_rows(m_rows, multiple) {
            Some((pool, chunk)) => self.run_chunks(pool, chunk, m_rows, out, gemm),
            None => gemm(0, m_rows, out),
        }
    }

    /// The kernel set it was prepared for.
    pub fn kernels(&self) -> KernelSet {
        self.kernels
    }

    /// The row-major codes, for the set that keeps them (reference).
    pub fn codes(&self) -> Option<&[i8]> {
        self.keeps_codes().then_some(&self.codes[..])
    }

    /// Bytes of weights held in memory, every layout together.
    pub fn resident_bytes(&self) -> usize {
        #[allow(unused_mut)]
        let mut bytes = self.codes.len();
        #[cfg(target_arch = "x86_64")]
        {
            bytes += self.vnni_panels.as_ref().map_or(0, |p| p.bytes());
            bytes += self.avx2_panels.as_ref().map_or(0, |p| p.bytes());
        }
        #[cfg(target_arch = "aarch64")]
        {
            bytes += self
                .neon
                .as_ref()
                .map_or(0, |p| p.data.len() + 4 * p.correction.len());
        }
        bytes
    }

    /// Bytes the matrix–vector kernels stream per call (the packed layout).
    pub fn streamed_bytes(&self) -> usize {
        #[cfg(target_arch = "x86_64")]
        if let Some(panels) = &self.vnni_panels {
            return panels.bytes();
        }
        #[cfg(target_arch = "x86_64")]
        if let Some(panels) = &self.avx2_panels {
            return panels.bytes();
        }
        #[cfg(target_arch = "aarch64")]
        if let Some(panels) = &self.neon {
            return panels.data.len();
        }
        self.codes.len()
    }

    /// `out[m·rows + o] = Σ_k a[m·columns + k]·code[o, k]` for `m < m_rows` (exact i32).
    pub fn matmul(&self, a: &[u8], m_rows: usize, out: &mut [i32], scratch: &mut Scratch) {
        debug_assert!(a.len() >= m_rows * self.columns && out.len() >= m_rows * self.rows);
        #[cfg(target_arch = "x86_64")]
        if self.kernels.is_x86_simd() {
            return self.matmul_simd(a, m_rows, out, scratch);
        }
        #[cfg(target_arch = "aarch64")]
        if let Some(panels) = &self.neon {
            panels.prepare_activations(a, m_rows, &mut scratch.padded);
            let prepared = &scratch.padded[..];
            let row_bytes = panels.prepared_len(neon::TILE_ROWS) / neon::TILE_ROWS;
            // SAFETY: panels exist only for a NEON set, chosen only when the CPU has its
            // extension; every chunk starts at a multiple of 8 rows (a pair boundary).
            self.over_row_chunks(m_rows, neon::TILE_ROWS, out, |first, m, out| unsafe {
                neon::gemm::gemm(panels, &prepared[first * row_bytes..], m, out)
            });
            return;
        }
        let _ = scratch;
        reference::gemm(a, m_rows, self.columns, &self.codes, self.rows, out)
    }

    /// Whether [`PreparedWeights::matmul_widened`] applies to `m_rows` rows (AVX2 or AVX-512
    /// BW GEMM, from [`GEMM_MIN_ROWS`] rows: fewer are widened by the GEMM itself).
    pub fn takes_widened(&self, m_rows: usize) -> bool {
        self.kernels.uses_avx2_panels(self.bits) && m_rows >= GEMM_MIN_ROWS
    }

    /// Whether [`PreparedWeights::matmul_padded`] applies to `m_rows` rows (AVX-512 GEMM on
    /// VNNI panels).
    pub fn takes_padded(&self, m_rows: usize) -> bool {
        self.kernels.uses_vnni_panels(self.bits) && m_rows >= GEMM_MIN_ROWS
    }

    /// Row length of [`PreparedWeights::matmul_padded`]'s input: columns rounded up to 4
    /// (to 8 for 2-bit weights, whose panels pair groups of four columns).
    pub fn padded_columns(&self) -> usize {
        #[cfg(target_arch = "x86_64")]
        if let Some(panels) = &self.vnni_panels {
            return panels.padded_columns();
        }
        self.columns.div_ceil(4) * 4
    }

    /// The AVX2 or AVX-512 BW GEMM on activations already widened to i16 rows of
    /// `⌈columns/2⌉` words (rows zero-padded to a multiple of 6), as `exec`'s im2col writes
    /// them.
    pub fn matmul_widened(&self, widened: &[i32], m_rows: usize, out: &mut [i32]) {
        assert!(
            self.takes_widened(m_rows),
            "widened input needs the AVX2 or AVX-512 BW GEMM"
        );
        #[cfg(target_arch = "x86_64")]
        {
            let panels = self.avx2_panels.as_ref().expect("built for the AVX2 set");
            let pairs = self.columns.div_ceil(2);
            assert!(
                widened.len()
                    >= m_rows.div_ceil(WIDENED_ROW_MULTIPLE) * WIDENED_ROW_MULTIPLE * pairs
            );
            let kernels = self.kernels;
            // SAFETY: AVX2 panels exist only for a set that multiplies on them (chosen only
            // when its instructions are present); sizes asserted, and every chunk starts at a
            // multiple of 6 rows, so its zero-padded tail is inside `widened`.
            self.over_row_chunks(m_rows, WIDENED_ROW_MULTIPLE, out, |first, m, out| unsafe {
                widened_gemm(kernels, &widened[first * pairs..], m, pairs, panels, out)
            });
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (widened, out);
    }

    /// The AVX-512 GEMM on VNNI panels (AVX-512 VNNI, or AVX-512 BW for codes of at most 7
    /// bits) on `m_rows` u8 rows of [`PreparedWeights::padded_columns`] bytes (zero tail), as
    /// `exec`'s im2col writes them.
    pub fn matmul_padded(&self, rows_u8: &[u8], m_rows: usize, out: &mut [i32]) {
        assert!(
            self.takes_padded(m_rows),
            "padded input needs the AVX-512 VNNI GEMM"
        );
        #[cfg(target_arch = "x86_64")]
        {
            let panels = self
                .vnni_panels
                .as_ref()
                .expect("built for the AVX-512 set");
            let columns = self.padded_columns();
            assert!(rows_u8.len() >= m_rows * columns);
            let kernels = self.kernels;
            // SAFETY: the set's instructions are present (checked by takes_padded: the set is
            // chosen only on a CPU that has them); sizes asserted, and the kernel reads
            // exactly each chunk's rows.
            self.over_row_chunks(m_rows, PADDED_ROW_MULTIPLE, out, |first, m, out| unsafe {
                padded_gemm(kernels, &rows_u8[first * columns..], m, panels, out)
            });
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (rows_u8, out);
    }

    #[cfg(target_arch = "x86_64")]
    fn matmul_simd(&self, a: &[u8], m_rows: usize, out: &mut [i32], scratch: &mut Scratch) {
        let columns = self.columns;
        if let Some(panels) = &self.vnni_panels {
            // Every row count runs the panel GEMM (one row is the matrix–vector product).
            let stride = panels.padded_columns();
            avx512::gemm::pad_activations(a, m_rows, columns, stride, &mut scratch.padded);
            let padded = &scratch.padded;
            let kernels = self.kernels;
            // SAFETY: VNNI panels exist only for a set that multiplies on them (chosen only
            // when its instructions are present); every chunk starts at a multiple of 8 rows
            // inside the padded rows.
            self.over_row_chunks(m_rows, PADDED_ROW_MULTIPLE, out, |first, m, out| unsafe {
                padded_gemm(kernels, &padded[first * stride..], m, panels, out)
            });
            return;
        }
        if let Some(panels) = &self.avx2_panels {
            let kernels = self.kernels;
            // SAFETY: AVX2 panels exist only for a set that multiplies on them (chosen only
            // when its instructions, AVX2 among them, are present); sizes checked above.
            let gemm = |a: &[u8], m: usize, out: &mut [i32], buffer: &mut Vec<i32>| unsafe {
                let pairs = avx2::gemm::widen_activations(a, m, columns, buffer);
                widened_gemm(kernels, buffer, m, pairs, panels, out)
            };
            match self.split_rows(m_rows, WIDENED_ROW_MULTIPLE) {
                None => gemm(a, m_rows, out, &mut scratch.packed),
                // Each chunk's rows with their own packing buffer.
                Some((pool, chunk)) => {
                    self.run_chunks(pool, chunk, m_rows, out, |first, m, out| {
                        gemm(&a[first * columns..], m, out, &mut Vec::new())
                    })
                }
            }
        }
    }
}

/// The GEMM on VNNI panels for `kernels`: AMX tiles where they fit (AMX set), `vpdpbusd`
/// (AVX-512 VNNI), or its `vpmaddubsw`
/// form at 512 bits (AVX-512 BW) or 256 bits (AVX2) for codes of at most 7 bits.
///
/// # Safety
/// The set's instructions must be present and `panels` built for it (see
/// [`KernelSet::uses_vnni_panels`]); sizes as for `avx512::gemm::gemm_padded`.
#[cfg(target_arch = "x86_64")]
unsafe fn padded_gemm(
    kernels: KernelSet,
    a: &[u8],
    m_rows: usize,
    panels: &avx512::gemm::VnniPanels,
    out: &mut [i32],
) {
    match kernels {
        KernelSet::Avx512Amx => avx512::amx::gemm_padded_amx(a, m_rows, panels, out),
        KernelSet::Avx512Vnni => avx512::gemm::gemm_padded(a, m_rows, panels, out),
        KernelSet::Avx512Bw => avx512::gemm::gemm_padded_pair_sums(a, m_rows, panels, out),
        KernelSet::Avx2 => avx2::gemm_pairs::gemm_padded(a, m_rows, panels, out),
        other => unreachable!("{other:?} multiplies on no VNNI panels"),
    }
}

/// The `vpmaddwd` GEMM on AVX2 panels for `kernels` (8-bit codes): 256 bits (AVX2) or 512
/// (AVX-512 BW), on activations widened to i16 rows of `pairs` words.
///
/// # Safety
/// The set's instructions must be present and `panels` built for it (see
/// [`KernelSet::uses_avx2_panels`]); sizes as for `avx2::gemm::gemm_widened`.
#[cfg(target_arch = "x86_64")]
unsafe fn widened_gemm(
    kernels: KernelSet,
    widened: &[i32],
    m_rows: usize,
    pairs: usize,
    panels: &avx2::gemm::Avx2Panels,
    out: &mut [i32],
) {
    match kernels {
        KernelSet::Avx512Bw => avx512::gemm_bw::gemm_widened(widened, m_rows, pairs, panels, out),
        KernelSet::Avx2 => avx2::gemm::gemm_widened(widened, m_rows, pairs, panels, out),
        other => unreachable!("{other:?} multiplies on no AVX2 panels"),
    }
}
