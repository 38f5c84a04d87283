//! AMX int8 GEMM (Intel Sapphire Rapids and later: AMX-TILE and AMX-INT8), on the VNNI panels.
//!
//! `tdpbusd tC, tA, tB` adds `Σ_t A[m, 4k + t]·B[k, 4n + t]` over a 16×64-byte tile of u8
//! activations and a 16×64-byte tile of i8 weights into a 16×16 tile of i32, exactly (as
//! `vpdpbusd`, with no saturation): 16,384 multiply-adds per instruction. A weight tile row
//! `k` holds quad `k` of 16 outputs, four bytes each; the 8-bit VNNI panels store quad `q` of
//! a 32-output panel as 128 bytes, outputs 0–15 first, so tiles load straight from the
//! panels with a row stride of 128 bytes (no repacking); 4- and 2-bit panels are unpacked
//! to that layout one panel at a time. The AMX set packs layers of at least 256 columns with
//! the quads rounded up to whole 16-quad tiles ([`VnniPanels::pack_rows_aligned`]); its
//! other layers, and the last `m_rows mod 16` rows of a product, run the VNNI kernels
//! ([`gemm_padded`]).
//!
//! Written by hand with `asm!`: Rust's AMX intrinsics are not stable. Linux hands the tile
//! state to a process only on request (`arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)`),
//! which [`available`] makes once.

use super::gemm::{gemm_padded, PanelBits, VnniPanels, NR};
use crate::kernels::aligned::CacheLine;
use std::arch::asm;
use std::sync::OnceLock;

/// Layers with fewer columns keep the VNNI kernels (their panels are not padded to tiles):
/// with tiles on every layer of 64 columns or more, the digits LeNet of the test fixtures
/// (layers of 64 and 72 columns) ran 20% slower at batch 1; from 256 columns on, the padding
/// to whole tiles is under a quarter.
pub const MIN_COLUMNS: usize = 256;

/// 4- and 2-bit products with fewer multiply-adds keep the VNNI kernels: unpacking the
/// panels costs more than the tiles save there (measured at W2: 16×256×64, 473 against 587
/// GOP/s; 32×256×64, 547 against 562; 16×512×128, 982 against 635). 8-bit products were
/// faster with tiles at every size measured (16×256×64: 1,211 against 612).
const MIN_UNPACKED_MACS: usize = 1 << 20;

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

/// `32 rows × 32 outputs` (`two_row_tiles`) or `16 × 32` over `quads` (a multiple of 16):
/// `a` at the block's first row, `stride` bytes between rows; `b` at the panel; the result
/// goes to `c`, rows `ldc_bytes` apart.
#[inline(always)]
unsafe fn block(
    two_row_tiles: bool,
    a: *const u8,
    stride: usize,
    b: *const u8,
    quads: usize,
    c: *mut i32,
    ldc_bytes: usize,
) {
    asm!(
        "tilezero tmm0",
        "tilezero tmm1",
        "tilezero tmm2",
        "tilezero tmm3",
        options(nostack)
    );
    let a_low = a.add(TILE_ROWS * stride);
    for k in (0..quads).step_by(TILE_QUADS) {
        let (a_k, b_k) = (a.add(k * 4), b.add(k * PANEL_QUAD_BYTES));
        asm!(
            "tileloadd tmm4, [{a} + {stride}*1]",
            "tileloadd tmm6, [{b} + {b_stride}*1]",
            "tileloadd tmm7, [{b_high} + {b_stride}*1]",
            "tdpbusd tmm0, tmm4, tmm6",
            "tdpbusd tmm1, tmm4, tmm7",
            a = in(reg) a_k,
            b = in(reg) b_k,
            b_high = in(reg) b_k.add(64),
            stride = in(reg) stride,
            b_stride = in(reg) PANEL_QUAD_BYTES,
            options(nostack, readonly),
        );
        if two_row_tiles {
            asm!(
                "tileloadd tmm5, [{a} + {stride}*1]",
                "tdpbusd tmm2, tmm5, tmm6",
                "tdpbusd tmm3, tmm5, tmm7",
                a = in(reg) a_low.add(k * 4),
                stride = in(reg) stride,
                options(nostack, readonly),
            );
        }
    }
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

/// Copies panel `block` of 4- or 2-bit panels into `buffer` in the 8-bit layout (quad `q`
/// at `q·128`, outputs 0–15 then 16–31), keeping the offset codes `u = c + z`: the nibbles
/// and bit pairs are unpacked once per call and panel, then read by every row block.
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn unpack_panel(panels: &VnniPanels, block: usize, buffer: &mut Vec<CacheLine>) {
    use std::arch::x86_64::*;
    let quads = panels.quads();
    buffer.resize(quads * PANEL_QUAD_BYTES / 64, CacheLine::ZERO);
    let source = panels.panel_at(block, 0);
    let target = buffer.as_mut_ptr() as *mut u8;
    let load = |at: usize| _mm512_loadu_si512(source.add(at) as *const __m512i);
    let store = |at: usize, v: __m512i| _mm512_storeu_si512(target.add(at) as *mut __m512i, v);
    let field = |v: __m512i, shift: u32, mask: __m512i| {
        _mm512_and_si512(_mm512_srl_epi16(v, _mm_cvtsi32_si128(shift as i32)), mask)
    };
    if panels.bits() == PanelBits::Four {
        // Byte 4j + t of quad q: output j in the low nibble, j + 16 in the high one.
        let nibble = _mm512_set1_epi8(0x0F);
        for q in 0..quads {
            let v = load(q * 64);
            store(q * PANEL_QUAD_BYTES, field(v, 0, nibble));
            store(q * PANEL_QUAD_BYTES + 64, field(v, 4, nibble));
        }
    } else {
        // Byte 4j + t of quad pair p: (j, 2p), (j + 16, 2p), (j, 2p + 1), (j + 16, 2p + 1).
        let pair = _mm512_set1_epi8(0x03);
        for p in 0..quads / 2 {
            let v = load(p * 64);
            let even = 2 * p * PANEL_QUAD_BYTES;
            store(even, field(v, 0, pair));
            store(even + 64, field(v, 2, pair));
            store(even + PANEL_QUAD_BYTES, field(v, 4, pair));
            store(even + PANEL_QUAD_BYTES + 64, field(v, 6, pair));
        }
    }
}

/// The GEMM of [`gemm_padded`] with AMX tiles where the panels allow them (quads a multiple
/// of 16) and the product has at least 16 rows (and, on 4- and 2-bit panels,
/// `MIN_UNPACKED_MACS` multiply-adds); the VNNI kernels otherwise and for the last
/// `m_rows mod 16` rows. 4- and 2-bit panels are unpacked to bytes one panel at a time
/// (32 outputs × the columns, reused by every row block), and their offset `z` removed with
/// each row's activation sum, as the VNNI kernels do.
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
    let mut copy = Vec::new();
    let a_lines = if (a.as_ptr() as usize).is_multiple_of(64) {
        a.as_ptr()
    } else {
        let bytes = tiled_rows * stride;
        copy.resize(bytes / 64, CacheLine::ZERO);
        std::slice::from_raw_parts_mut(copy.as_mut_ptr() as *mut u8, bytes)
            .copy_from_slice(&a[..bytes]);
        copy.as_ptr() as *const u8
    };
    // One tile block: rows `first..` (32, or 16 for the last) by panel `nb` (at `b`).
    let mut run = |nb: usize, first: usize, b: *const u8| {
        let cols = NR.min(rows - nb * NR);
        let two = first + 2 * TILE_ROWS <= tiled_rows;
        let block_rows = if two { 2 * TILE_ROWS } else { TILE_ROWS };
        let a_block = a_lines.add(first * stride);
        if cols == NR {
            let c = out.as_mut_ptr().add(first * rows + nb * NR);
            block(two, a_block, stride, b, quads, c, rows * 4);
        } else {
            // A last, partial panel goes through a buffer (its padding outputs are zero).
            block(two, a_block, stride, b, quads, buffer.as_mut_ptr(), NR * 4);
            for r in 0..block_rows {
                let at = (first + r) * rows + nb * NR;
                out[at..at + cols].copy_from_slice(&buffer[r * NR..r * NR + cols]);
            }
        }
        if !corrections.is_empty() {
            for r in 0..block_rows {
                let at = (first + r) * rows + nb * NR;
                let fix = corrections[first + r];
                out[at..at + cols].iter_mut().for_each(|v| *v -= fix);
            }
        }
    };
    let config = TileConfig::all_full();
    asm!("ldtilecfg [{0}]", in(reg) config.0.as_ptr(), options(nostack, readonly));
    let panel_count = rows.div_ceil(NR);
    if panels.bits() == PanelBits::Eight {
        // Row blocks outside: each block's activations stay in L1 while the panels pass
        // (measured 1.4× faster than the other order at 256×1024×1024).
        for first in (0..tiled_rows).step_by(2 * TILE_ROWS) {
            for nb in 0..panel_count {
                run(nb, first, panels.panel_at(nb, 0));
            }
        }
    } else {
        // Panels outside: each is unpacked once and read by every row block.
        let mut unpacked = Vec::new();
        for nb in 0..panel_count {
            unpack_panel(panels, nb, &mut unpacked);
            for first in (0..tiled_rows).step_by(2 * TILE_ROWS) {
                run(nb, first, unpacked.as_ptr() as *const u8);
            }
        }
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
