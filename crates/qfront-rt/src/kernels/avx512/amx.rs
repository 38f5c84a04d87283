//! AMX int8 GEMM (Intel Sapphire Rapids and later: AMX-TILE and AMX-INT8), on the VNNI panels.
//!
//! `tdpbusd tC, tA, tB` adds `Σ_t A[m, 4k + t]·B[k, 4n + t]` over a 16×64-byte tile of u8
//! activations and a 16×64-byte tile of i8 weights into a 16×16 tile of i32, exactly (as
//! `vpdpbusd`, with no saturation): 16,384 multiply-adds per instruction. A weight tile row
//! `k` holds quad `k` of 16 outputs, four bytes each; the 8-bit VNNI panels store quad `q` of
//! a 32-output panel as 128 bytes, outputs 0–15 first, so tiles load straight from the
//! panels with a row stride of 128 bytes (no repacking); 4- and 2-bit panels are unpacked
//! to that layout on the way through the tiles, or a group of panels at a time
//! ([`gemm_padded_amx`]). The AMX set packs layers of at least 256 columns with the quads
//! rounded up to whole 16-quad tiles ([`VnniPanels::pack_rows_aligned`]); its other layers,
//! and the last `m_rows mod 16` rows of a product, run the VNNI kernels ([`gemm_padded`]).
//!
//! Written by hand with `asm!`: Rust's AMX intrinsics are not stable. Linux hands the tile
//! state to a process only on request (`arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)`),
//! which [`available`] makes once.

use super::gemm::{gemm_padded, PanelBits, VnniPanels, NR};
use crate::kernels::aligned::{AlignedBytes, CacheLine};
use std::arch::asm;
use std::sync::OnceLock;

/// Layers with fewer columns keep the VNNI kernels (their panels are not padded to tiles):
/// with tiles on every layer of 64 columns or more, the digits LeNet of the test fixtures
/// (layers of 64 and 72 columns) ran 20% slower at batch 1; from 256 columns on, the padding
/// to whole tiles is under a quarter.
pub const MIN_COLUMNS: usize = 256;

/// 4- and 2-bit products with fewer multiply-adds keep the VNNI kernels: unpacking the
/// panels costs more than the tiles save there. Measured (`qfront bench kernel`, m×k×n,
/// GOP/s at W4 / W2, tiles against the VNNI kernels): 16×256×64 (262,144 multiply-adds) 414 /
/// 415 against 525 / 557; at 524,288, 16×256×128 666 / 630 against 567 / 591, 32×256×64 647 /
/// 650 against 525 / 560, 16×1024×32 541 / 551 against 508 / 542; 16×512×128 948 / 1,040
/// against 591 / 651. (Before the unpacking moved into the tile loop the threshold was twice
/// as high: at 524,288, 32×256×64 W2, the tiles lost, 547 against 562.) 8-bit products were faster with tiles at every size measured
/// (16×256×64: 1,135 against 570).
const MIN_UNPACKED_MACS: usize = 1 << 19;

/// Quads (groups of four columns) in one 64-byte tile row.
pub const TILE_QUADS: usize = 16;
/// Rows of a tile.
const TILE_ROWS: usize = 16;
/// Bytes between a weight tile's rows: one quad of a 32-output 8-bit panel.
const PANEL_QUAD_BYTES: usize = 128;

/// Whether AMX-INT8 runs here: CPUID reports AMX-TILE and AMX-INT8, the OS saves the tile
/// state (XCR0 bits 17 and 18), and Linux granted this process the tile data. Checked (and
/// the permission requested) once per process.
pub fn available() -> bool {
    static USABLE: OnceLock<bool> = OnceLock::new();
    // SAFETY: CPUID, XGETBV (after the OSXSAVE check) and arch_prctl have no preconditions.
    *USABLE.get_or_init(|| unsafe { detect() })
}

unsafe fn detect() -> bool {
    use std::arch::x86_64::{__cpuid, __cpuid_count};
    if __cpuid(0).eax < 7 || __cpuid(1).ecx & (1 << 27) == 0 {
        return false; // no leaf 7, or no OSXSAVE (so no XGETBV)
    }
    let edx = __cpuid_count(7, 0).edx;
    let (tile, int8) = (edx & (1 << 24) != 0, edx & (1 << 25) != 0);
    if !(tile && int8) {
        return false;
    }
    let (low, _high): (u32, u32);
    asm!("xgetbv", in("ecx") 0u32, out("eax") low, out("edx") _high, options(nomem, nostack));
    if low & (0b11 << 17) != 0b11 << 17 {
        return false;
    }
    // arch_prctl(ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18): 0 on success.
    let result: i64;
    asm!("syscall", inlateout("rax") 158i64 => result, in("rdi") 0x1023i64, in("rsi") 18i64,
         lateout("rcx") _, lateout("r11") _, options(nostack));
    result == 0
}

/// The tile configuration: palette 1, tiles 0–7 of 16 rows × 64 bytes (C tiles 0–3, A tiles
/// 4–5, B tiles 6–7).
#[repr(C, align(64))]
struct TileConfig([u8; 64]);

impl TileConfig {
    fn all_full() -> Self {
        let mut bytes = [0u8; 64];
        bytes[0] = 1;
        for tile in 0..8 {
            bytes[16 + 2 * tile] = 64; // bytes per row (u16, little-endian)
            bytes[48 + tile] = TILE_ROWS as u8;
        }
        Self(bytes)
    }
}

/// Starts the four accumulator tiles at zero, or, with `start`, at its rows (one 64-byte line
/// of 16 i32 per row of a 32-row block, the same for both halves of the 32 outputs). The
/// offset corrections of 4- and 2-bit panels enter there: subtracting them from the stored
/// result read lines right after `tilestored` wrote them, and those loads and stores drew
/// 26% of a 32-row W4 product's profile samples (moving the correction here: 0.073 → 0.049
/// ms).
#[inline(always)]
unsafe fn start_accumulators(start: Option<*const CacheLine>) {
    match start {
        None => asm!(
            "tilezero tmm0",
            "tilezero tmm1",
            "tilezero tmm2",
            "tilezero tmm3",
            options(nostack)
        ),
        Some(lines) => asm!(
            "tileloadd tmm0, [{top} + {line}*1]",
            "tileloadd tmm1, [{top} + {line}*1]",
            "tileloadd tmm2, [{low} + {line}*1]",
            "tileloadd tmm3, [{low} + {line}*1]",
            top = in(reg) lines,
            // Past the block's rows when it has only 16: tiles 2 and 3 are then unused, and
            // the lines exist (whole 32-row blocks are allocated).
            low = in(reg) lines.add(TILE_ROWS),
            line = in(reg) 64usize,
            options(nostack, readonly)
        ),
    }
}

/// One step of 16 quads: the activation tiles at `a` (rows 0–15) and `a_low` (rows 16–31,
/// when `two_row_tiles`), `stride` bytes between rows, times the weight tiles at `b` (16
/// quads in the 8-bit panel layout, 128 bytes apart).
#[inline(always)]
unsafe fn multiply_step(
    two_row_tiles: bool,
    a: *const u8,
    a_low: *const u8,
    stride: usize,
    b: *const u8,
) {
    asm!(
        "tileloadd tmm4, [{a} + {stride}*1]",
        "tileloadd tmm6, [{b} + {b_stride}*1]",
        "tileloadd tmm7, [{b_high} + {b_stride}*1]",
        "tdpbusd tmm0, tmm4, tmm6",
        "tdpbusd tmm1, tmm4, tmm7",
        a = in(reg) a,
        b = in(reg) b,
        b_high = in(reg) b.add(64),
        stride = in(reg) stride,
        b_stride = in(reg) PANEL_QUAD_BYTES,
        options(nostack, readonly),
    );
    if two_row_tiles {
        asm!(
            "tileloadd tmm5, [{a} + {stride}*1]",
            "tdpbusd tmm2, tmm5, tmm6",
            "tdpbusd tmm3, tmm5, tmm7",
            a = in(reg) a_low,
            stride = in(reg) stride,
            options(nostack, readonly),
        );
    }
}

/// Stores the accumulators: 16 or 32 rows of 32 i32 at `c`, rows `ldc_bytes` apart.
#[inline(always)]
unsafe fn store_accumulators(two_row_tiles: bool, c: *mut i32, ldc_bytes: usize) {
    let c_bytes = c as *mut u8;
    asm!(
        "tilestored [{c} + {ldc}*1], tmm0",
        "tilestored [{c_high} + {ldc}*1], tmm1",
        c = in(reg) c_bytes,
        c_high = in(reg) c_bytes.add(64),
        ldc = in(reg) ldc_bytes,
        options(nostack),
    );
    if two_row_tiles {
        let c_low = c_bytes.add(TILE_ROWS * ldc_bytes);
        asm!(
            "tilestored [{c} + {ldc}*1], tmm2",
            "tilestored [{c_high} + {ldc}*1], tmm3",
            c = in(reg) c_low,
            c_high = in(reg) c_low.add(64),
            ldc = in(reg) ldc_bytes,
            options(nostack),
        );
    }
}

/// `32 rows × 32 outputs` (`two_row_tiles`) or `16 × 32` over `quads` (a multiple of 16):
/// `a` at the block's first row, `stride` bytes between rows; `b` at the panel (8-bit
/// layout); the result goes to `c`, rows `ldc_bytes` apart; the accumulators start as
/// [`start_accumulators`] says.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn block(
    two_row_tiles: bool,
    a: *const u8,
    stride: usize,
    b: *const u8,
    quads: usize,
    c: *mut i32,
    ldc_bytes: usize,
    start: Option<*const CacheLine>,
) {
    start_accumulators(start);
    let a_low = a.add(TILE_ROWS * stride);
    for k in (0..quads).step_by(TILE_QUADS) {
        let b_k = b.add(k * PANEL_QUAD_BYTES);
        multiply_step(two_row_tiles, a.add(k * 4), a_low.add(k * 4), stride, b_k);
    }
    store_accumulators(two_row_tiles, c, ldc_bytes);
}

/// Products of at most this many 32-row blocks unpack 4- and 2-bit panels on the way through
/// the tiles ([`block_unpacking`], once per row block); longer ones unpack groups of panels
/// once per call. Measured at 1024×1024, GOP/s at W4 / W2 (W8 alongside): 16 rows 1,643 /
/// 1,834 (1,689) on the way against 827 / 866 with groups; 64 rows 1,845–2,195 / 2,497–2,510
/// (2,051–2,376) against 1,855 / 1,782; 128 rows 1,460 / 1,851 against 1,858 / 1,985 (1,963).
const FUSED_MAX_ROW_BLOCKS: usize = 2;

/// Bytes of unpacked 8-bit panels per group ([`gemm_padded_amx`]): a group is unpacked, then
/// every row block runs over it, as 8-bit panels are run. 256 KB stays in the L2 (2 MB per
/// core on Sapphire Rapids) beside a row block's activations.
const UNPACK_GROUP_BYTES: usize = 256 * 1024;

thread_local! {
    /// Where the calling thread unpacks 4- and 2-bit panels (the ring of [`block_unpacking`]
    /// or a group), kept between calls: no allocation or zero-filling per call.
    static UNPACKED: std::cell::RefCell<AlignedBytes> = std::cell::RefCell::new(AlignedBytes::default());
}

/// Where a tile block's weights come from.
#[derive(Clone, Copy)]
enum PanelSource {
    /// A panel in the 8-bit layout (an 8-bit panel, or an unpacked group's).
    Bytes(*const u8),
    /// A 4- or 2-bit panel, unpacked on the way through this ring ([`block_unpacking`]).
    UnpackThrough(*mut u8),
}

/// Writes quads `first..first + count` of panel `block` of 4- or 2-bit panels at `target`
/// (`count·128` bytes, every one written) in the 8-bit layout (quad `first + i` at `i·128`,
/// outputs 0–15 then 16–31), keeping the offset codes `u = c + z`. `first` and `count` are
/// multiples of 16.
///
/// # Safety
/// AVX-512 F/BW present; `target` is valid for `count·128` bytes of writes.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn unpack_quads(
    panels: &VnniPanels,
    block: usize,
    first: usize,
    count: usize,
    target: *mut u8,
) {
    use std::arch::x86_64::*;
    let source = panels.panel_at(block, 0);
    let load = |at: usize| _mm512_loadu_si512(source.add(at) as *const __m512i);
    let store = |at: usize, v: __m512i| _mm512_storeu_si512(target.add(at) as *mut __m512i, v);
    let field = |v: __m512i, shift: u32, mask: __m512i| {
        _mm512_and_si512(_mm512_srl_epi16(v, _mm_cvtsi32_si128(shift as i32)), mask)
    };
    if panels.bits() == PanelBits::Four {
        // Byte 4j + t of quad q: output j in the low nibble, j + 16 in the high one.
        let nibble = _mm512_set1_epi8(0x0F);
        for i in 0..count {
            let v = load((first + i) * 64);
            store(i * PANEL_QUAD_BYTES, field(v, 0, nibble));
            store(i * PANEL_QUAD_BYTES + 64, field(v, 4, nibble));
        }
    } else {
        // Byte 4j + t of quad pair p: (j, 2p), (j + 16, 2p), (j, 2p + 1), (j + 16, 2p + 1).
        let pair = _mm512_set1_epi8(0x03);
        for i in 0..count / 2 {
            let v = load((first / 2 + i) * 64);
            let even = 2 * i * PANEL_QUAD_BYTES;
            store(even, field(v, 0, pair));
            store(even + 64, field(v, 2, pair));
            store(even + PANEL_QUAD_BYTES, field(v, 4, pair));
            store(even + PANEL_QUAD_BYTES + 64, field(v, 6, pair));
        }
    }
}

/// Slots of the ring [`block_unpacking`] unpacks into.
const RING_SLOTS: usize = 4;
/// Steps of 16 quads [`block_unpacking`] unpacks ahead of the tiles (less than
/// `RING_SLOTS`, so a slot is rewritten only after the tiles have read it).
const UNPACK_AHEAD: usize = 2;
const _: () = assert!(UNPACK_AHEAD < RING_SLOTS);
/// Bytes of one ring slot: 16 quads of a 32-output panel in the 8-bit layout.
const RING_SLOT_BYTES: usize = TILE_QUADS * PANEL_QUAD_BYTES;

/// [`block`] on a 4- or 2-bit panel, unpacked 16 quads at a time into `ring` (`RING_SLOTS`
/// slots, on a cache line) just ahead of the tiles that read them. For products of one row
/// block, where unpacking a whole group first cost as much as the tiles' work (32×1024×1024:
/// 0.049 ms at W4 against 0.027 at W8): the ring stays in the L1 (see
/// [`FUSED_MAX_ROW_BLOCKS`] for the measurements).
///
/// # Safety
/// As [`block`]; AVX-512 F/BW present; `ring` valid for `RING_SLOTS·RING_SLOT_BYTES` bytes.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn block_unpacking(
    two_row_tiles: bool,
    a: *const u8,
    stride: usize,
    panels: &VnniPanels,
    panel: usize,
    c: *mut i32,
    ldc_bytes: usize,
    start: Option<*const CacheLine>,
    ring: *mut u8,
) {
    start_accumulators(start);
    let steps = panels.quads() / TILE_QUADS;
    let a_low = a.add(TILE_ROWS * stride);
    let slot = |step: usize| ring.add(step % RING_SLOTS * RING_SLOT_BYTES);
    let unpack =
        |step: usize| unpack_quads(panels, panel, step * TILE_QUADS, TILE_QUADS, slot(step));
    // Unpacked UNPACK_AHEAD steps before the tiles read them: loading each step right after
    // unpacking it was slower (16 rows, W4: 1,205 against 1,643–1,770 GOP/s), presumably
    // because the tile loads wait for the vector stores.
    for step in 0..UNPACK_AHEAD.min(steps) {
        unpack(step);
    }
    for step in 0..steps {
        if step + UNPACK_AHEAD < steps {
            unpack(step + UNPACK_AHEAD);
        }
        let k = step * TILE_QUADS;
        multiply_step(
            two_row_tiles,
            a.add(k * 4),
            a_low.add(k * 4),
            stride,
            slot(step),
        );
    }
    store_accumulators(two_row_tiles, c, ldc_bytes);
}

/// The GEMM of [`gemm_padded`] with AMX tiles where the panels allow them (quads a multiple
/// of 16) and the product has at least 16 rows (and, on 4- and 2-bit panels,
/// `MIN_UNPACKED_MACS` multiply-adds); the VNNI kernels otherwise and for the last
/// `m_rows mod 16` rows. 4- and 2-bit panels are unpacked to bytes a group of panels at a
/// time (reused by every row block), and their offset `z` removed with each row's
/// activation sum, as the VNNI kernels do.
///
/// # Safety
/// [`available`] must have returned true (AVX-512 F/BW/VNNI present too); `a` holds
/// `m_rows` rows of `panels.padded_columns()` bytes and `out.len() ≥ m_rows·rows`.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub unsafe fn gemm_padded_amx(a: &[u8], m_rows: usize, panels: &VnniPanels, out: &mut [i32]) {
    let quads = panels.quads();
    let macs = m_rows * panels.output_rows() * quads * 4;
    let small = panels.bits() != PanelBits::Eight && macs < MIN_UNPACKED_MACS;
    if !quads.is_multiple_of(TILE_QUADS) || m_rows < TILE_ROWS || small {
        return gemm_padded(a, m_rows, panels, out);
    }
    let rows = panels.output_rows();
    let stride = panels.padded_columns();
    assert!(a.len() >= m_rows * stride && out.len() >= m_rows * rows);
    let tiled_rows = m_rows / TILE_ROWS * TILE_ROWS;
    let corrections = panels.offset_corrections(a, tiled_rows);
    let mut buffer = [0i32; 2 * TILE_ROWS * NR];
    // Activations not on 64-byte lines are copied once onto lines (tile loads that straddle
    // two lines ran at half the speed; the copy is O(m·k) against the product's O(m·k·n)).
    let mut copy = AlignedBytes::default();
    let a_lines = if (a.as_ptr() as usize).is_multiple_of(64) {
        a.as_ptr()
    } else {
        let bytes = tiled_rows * stride;
        copy.resize(bytes);
        copy.copy_from_slice(&a[..bytes]);
        copy.as_ptr()
    };
    // The accumulators' start per row, `−correction` in all 16 lanes (offset panels only),
    // rounded up to whole 32-row blocks.
    let start_lines: Vec<CacheLine> = if corrections.is_empty() {
        Vec::new()
    } else {
        let mut lines = vec![CacheLine::ZERO; tiled_rows.next_multiple_of(2 * TILE_ROWS)];
        for (line, fix) in lines.iter_mut().zip(&corrections) {
            for bytes in line.0.chunks_exact_mut(4) {
                bytes.copy_from_slice(&fix.wrapping_neg().to_le_bytes());
            }
        }
        lines
    };
    // One tile block: rows `first..` (32, or 16 for the last) by panel `nb`.
    let mut run = |nb: usize, first: usize, source: PanelSource| {
        let cols = NR.min(rows - nb * NR);
        let two = first + 2 * TILE_ROWS <= tiled_rows;
        let block_rows = if two { 2 * TILE_ROWS } else { TILE_ROWS };
        let a_block = a_lines.add(first * stride);
        let start = (!start_lines.is_empty()).then(|| start_lines.as_ptr().add(first));
        let (c, ldc) = if cols == NR {
            (out.as_mut_ptr().add(first * rows + nb * NR), rows * 4)
        } else {
            // A last, partial panel goes through a buffer (its padding outputs are zero).
            (buffer.as_mut_ptr(), NR * 4)
        };
        match source {
            PanelSource::Bytes(b) => block(two, a_block, stride, b, quads, c, ldc, start),
            PanelSource::UnpackThrough(ring) => {
                block_unpacking(two, a_block, stride, panels, nb, c, ldc, start, ring)
            }
        }
        if cols < NR {
            for r in 0..block_rows {
                let at = (first + r) * rows + nb * NR;
                out[at..at + cols].copy_from_slice(&buffer[r * NR..r * NR + cols]);
            }
        }
    };
    let config = TileConfig::all_full();
    asm!("ldtilecfg [{0}]", in(reg) config.0.as_ptr(), options(nostack, readonly));
    let panel_count = rows.div_ceil(NR);
    let row_blocks = tiled_rows.div_ceil(2 * TILE_ROWS);
    if panels.bits() == PanelBits::Eight {
        // Row blocks outside: each block's activations stay in L1 while the panels pass
        // (measured 1.4× faster than the other order at 256×1024×1024).
        for first in (0..tiled_rows).step_by(2 * TILE_ROWS) {
            for nb in 0..panel_count {
                run(nb, first, PanelSource::Bytes(panels.panel_at(nb, 0)));
            }
        }
    } else {
        UNPACKED.with(|cell| {
            let mut scratch = cell.borrow_mut();
            if row_blocks <= FUSED_MAX_ROW_BLOCKS {
                // Few row blocks: each panel is unpacked on the way, 16 quads at a time, into
                // a ring that stays in the L1 (`block_unpacking`), once per row block.
                scratch.ensure_len(RING_SLOTS * RING_SLOT_BYTES);
                let ring = PanelSource::UnpackThrough(scratch.as_mut_ptr());
                for first in (0..tiled_rows).step_by(2 * TILE_ROWS) {
                    for nb in 0..panel_count {
                        run(nb, first, ring);
                    }
                }
                return;
            }
            // Groups of panels (about UNPACK_GROUP_BYTES) are unpacked once per call, then run
            // in the 8-bit order: row blocks outside, the group's panels inside (one panel at
            // a time with the row blocks inside streamed every block's activations from the L2
            // per panel; at 256×1024×1024 W4 the groups alone measured 0.41 → 0.39 ms, the
            // corrections in the start tiles then 0.25 ms).
            let panel_bytes = quads * PANEL_QUAD_BYTES;
            let group = (UNPACK_GROUP_BYTES / panel_bytes).clamp(1, panel_count);
            scratch.ensure_len(group * panel_bytes);
            let target = scratch.as_mut_ptr();
            for first_panel in (0..panel_count).step_by(group) {
                let here = group.min(panel_count - first_panel);
                for g in 0..here {
                    let at = target.add(g * panel_bytes);
                    unpack_quads(panels, first_panel + g, 0, quads, at);
                }
                for first in (0..tiled_rows).step_by(2 * TILE_ROWS) {
                    for g in 0..here {
                        let at = target.add(g * panel_bytes);
                        run(first_panel + g, first, PanelSource::Bytes(at));
                    }
                }
            }
        });
    }
    asm!("tilerelease", options(nostack, nomem));
    if tiled_rows < m_rows {
        gemm_padded(
            &a[tiled_rows * stride..],
            m_rows - tiled_rows,
            panels,
            &mut out[tiled_rows * rows..],
        );
    }
}

/// The AMX int8 peak: `iterations` rounds of four independent `tdpbusd` (16,384
/// multiply-adds each) on tiles in registers. Returns a tile element so nothing is elided.
///
/// # Safety
/// [`available`] must have returned true.
pub unsafe fn peak_loop(iterations: u64) -> i32 {
    let config = TileConfig::all_full();
    let a = [1u8; TILE_ROWS * 64];
    let mut c = [0i32; TILE_ROWS * 16];
    asm!("ldtilecfg [{0}]", in(reg) config.0.as_ptr(), options(nostack, readonly));
    asm!(
        "tilezero tmm0", "tilezero tmm1", "tilezero tmm2", "tilezero tmm3",
        "tileloadd tmm4, [{a} + {s}*1]", "tileloadd tmm6, [{a} + {s}*1]",
        a = in(reg) a.as_ptr(), s = in(reg) 64usize, options(nostack, readonly),
    );
    for _ in 0..iterations {
        asm!(
            "tdpbusd tmm0, tmm4, tmm6",
            "tdpbusd tmm1, tmm4, tmm6",
            "tdpbusd tmm2, tmm4, tmm6",
            "tdpbusd tmm3, tmm4, tmm6",
            options(nostack, nomem),
        );
    }
    asm!("tilestored [{c} + {s}*1], tmm0", c = in(reg) c.as_mut_ptr(), s = in(reg) 64usize,
         options(nostack));
    asm!("tilerelease", options(nostack, nomem));
    c[0]
}

/// Multiply-adds per round of [`peak_loop`].
pub const PEAK_MACS_PER_ITERATION: u64 = 4 * 16 * 16 * 64;
