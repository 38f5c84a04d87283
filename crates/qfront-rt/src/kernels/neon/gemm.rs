//! The aarch64 GEMM: `out[m·rows + o] = Σ_k a[m, k]·w[o, k]` (exact i32) over activation
//! rows prepared by [`NeonPanels::prepare_activations`]. Rows go in blocks of up to
//! [`TILE_ROWS`]; each block meets every 8-channel panel in one register tile of
//! `rows × 8` i32 accumulators, so one row (batch 1) is the same loop with one row of
//! accumulators. Work per tile and reduction step, as emitted (see BENCHMARKS.md for the
//! counted instructions per multiply-add):
//! - `Neon`, 8 rows × 8 steps: 8 row loads, 8 panel loads and widenings (4 loads and 6
//!   shifts for 4-bit codes, 2 loads and 14 shifts for 2-bit), 128 `smlal` (4 multiply-adds
//!   each);
//! - `NeonDot`, 8 rows × 16 steps: 8 row loads, 8 panel loads, 64 `sdot` (16 each);
//! - `NeonI8mm`, 4 row pairs × 8 steps: 4 row-pair loads, 4 panel loads, 16 `usmmla`
//!   (32 each).

use super::instructions::{sdot_lane, usmmla};
use super::panels::{NeonPanels, PanelLayout};
use super::{PANEL_CHANNELS, TILE_ROWS};
use std::arch::aarch64::*;

/// Stores a tile row's 8 accumulators (`low` = channels 0..4, `high` = 4..8), or its first
/// `valid` channels at the matrix's last panel.
#[inline(always)]
unsafe fn store_row(out: *mut i32, low: int32x4_t, high: int32x4_t, valid: usize) {
    if valid == PANEL_CHANNELS {
        vst1q_s32(out, low);
        vst1q_s32(out.add(4), high);
    } else {
        let mut row = [0i32; PANEL_CHANNELS];
        vst1q_s32(row.as_mut_ptr(), low);
        vst1q_s32(row.as_mut_ptr().add(4), high);
        std::ptr::copy_nonoverlapping(row.as_ptr(), out, valid);
    }
}

/// `ROWS` rows of i16 activations (`a`, rows `depth` words apart, as native-endian bytes)
/// times one `Widen` panel of `BITS`-bit codes (8, 4 or 2: one, two or four reduction steps
/// per byte, see [`NeonPanels::pack_rows`]), written to `out` (rows `out_stride` apart,
/// `valid` channels).
#[inline(always)]
unsafe fn tile_widen<const ROWS: usize, const BITS: u32>(
    a: *const u8,
    depth: usize,
    panel: *const i8,
    out: *mut i32,
    out_stride: usize,
    valid: usize,
) {
    let mut acc = [[vdupq_n_s32(0); 2]; ROWS];
    let mut k = 0;
    while k < depth {
        let mut x = [vdupq_n_s16(0); ROWS];
        for (r, x) in x.iter_mut().enumerate() {
            *x = vreinterpretq_s16_u8(vld1q_u8(a.add(2 * (r * depth + k))));
        }
        // Multiplies the 8 channels' codes `w` (i8) of step `$lane` of the block.
        macro_rules! step {
            ($lane:literal, $w:expr) => {{
                let w = vmovl_s8($w);
                let (low, high) = (vget_low_s16(w), vget_high_s16(w));
                for r in 0..ROWS {
                    acc[r][0] = vmlal_laneq_s16::<$lane>(acc[r][0], low, x[r]);
                    acc[r][1] = vmlal_laneq_s16::<$lane>(acc[r][1], high, x[r]);
                }
            }};
        }
        // Bytes per step as one constant (`k·8·BITS/8` would keep a mask for the wrap).
        let codes = panel.add(k * (PANEL_CHANNELS * BITS as usize / 8));
        match BITS {
            8 => {
                step!(0, vld1_s8(codes));
                step!(1, vld1_s8(codes.add(8)));
                step!(2, vld1_s8(codes.add(16)));
                step!(3, vld1_s8(codes.add(24)));
                step!(4, vld1_s8(codes.add(32)));
                step!(5, vld1_s8(codes.add(40)));
                step!(6, vld1_s8(codes.add(48)));
                step!(7, vld1_s8(codes.add(56)));
            }
            4 => {
                // Steps 2i and 2i + 1 in the low and high nibbles of the i-th 8 bytes.
                macro_rules! two {
                    ($i:literal, $first:literal, $second:literal) => {{
                        let v = vld1_s8(codes.add($i * 8));
                        step!($first, vshr_n_s8::<4>(vshl_n_s8::<4>(v)));
                        step!($second, vshr_n_s8::<4>(v));
                    }};
                }
                two!(0, 0, 1);
                two!(1, 2, 3);
                two!(2, 4, 5);
                two!(3, 6, 7);
            }
            _ => {
                // Steps 4i to 4i + 3 in bits 0–1, 2–3, 4–5, 6–7 of the i-th 8 bytes.
                macro_rules! four {
                    ($i:literal, $s0:literal, $s1:literal, $s2:literal, $s3:literal) => {{
                        let v = vld1_s8(codes.add($i * 8));
                        step!($s0, vshr_n_s8::<6>(vshl_n_s8::<6>(v)));
                        step!($s1, vshr_n_s8::<6>(vshl_n_s8::<4>(v)));
                        step!($s2, vshr_n_s8::<6>(vshl_n_s8::<2>(v)));
                        step!($s3, vshr_n_s8::<6>(v));
                    }};
                }
                four!(0, 0, 1, 2, 3);
                four!(1, 4, 5, 6, 7);
            }
        }
        k += 8;
    }
    for (r, [low, high]) in acc.into_iter().enumerate() {
        store_row(out.add(r * out_stride), low, high, valid);
    }
}

/// `ROWS` rows of `a − 128` i8 activations times one `Dot` panel, plus the panel's
/// correction `128·Σ w` (`correction`, 8 channels); with `BITS` < 8 (codes stored as
/// `u = c + z` in nibbles or bit pairs, unpacked in registers), minus each row's `z·Σ a`
/// (`row_fix`).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn tile_dot<const ROWS: usize, const BITS: u32>(
    a: *const u8,
    depth: usize,
    panel: *const i8,
    correction: *const i32,
    row_fix: *const i32,
    out: *mut i32,
    out_stride: usize,
    valid: usize,
) {
    let mut acc = [[vdupq_n_s32(0); 2]; ROWS];
    let mut k = 0;
    let mask = vdupq_n_u8(if BITS == 2 { 0x03 } else { 0x0F });
    while k < depth {
        let mut x = [vdupq_n_s8(0); ROWS];
        for (r, x) in x.iter_mut().enumerate() {
            *x = vld1q_s8(a.add(r * depth + k) as *const i8);
        }
        // Multiplies the 8 channels' codes of 4-step group `$group` (`low`: channels 0–3,
        // `high`: 4–7, each 4 steps of one channel in a 4-byte lane).
        macro_rules! group {
            ($group:literal, $low:expr, $high:expr) => {{
                let (low, high) = ($low, $high);
                for r in 0..ROWS {
                    acc[r][0] = sdot_lane::<$group>(acc[r][0], low, x[r]);
                    acc[r][1] = sdot_lane::<$group>(acc[r][1], high, x[r]);
                }
            }};
        }
        match BITS {
            4 => {
                // 64 bytes per 16 steps: groups (0, 1), then (2, 3), in low and high nibbles.
                let codes = panel.add(k * PANEL_CHANNELS / 2) as *const u8;
                macro_rules! pair {
                    ($at:literal, $first:literal, $second:literal) => {{
                        let low = vld1q_u8(codes.add($at));
                        let high = vld1q_u8(codes.add($at + 16));
                        let field = |v: uint8x16_t| vreinterpretq_s8_u8(vandq_u8(v, mask));
                        group!($first, field(low), field(high));
                        group!(
                            $second,
                            vreinterpretq_s8_u8(vshrq_n_u8::<4>(low)),
                            vreinterpretq_s8_u8(vshrq_n_u8::<4>(high))
                        );
                    }};
                }
                pair!(0, 0, 1);
                pair!(32, 2, 3);
            }
            2 => {
                // 32 bytes per 16 steps: group g in bits 2g, 2g + 1 of every byte.
                let codes = panel.add(k * PANEL_CHANNELS / 4) as *const u8;
                let (low, high) = (vld1q_u8(codes), vld1q_u8(codes.add(16)));
                let field = |v: uint8x16_t| vreinterpretq_s8_u8(vandq_u8(v, mask));
                group!(0, field(low), field(high));
                group!(1, field(vshrq_n_u8::<2>(low)), field(vshrq_n_u8::<2>(high)));
                group!(2, field(vshrq_n_u8::<4>(low)), field(vshrq_n_u8::<4>(high)));
                group!(
                    3,
                    vreinterpretq_s8_u8(vshrq_n_u8::<6>(low)),
                    vreinterpretq_s8_u8(vshrq_n_u8::<6>(high))
                );
            }
            _ => {
                let codes = panel.add(k * PANEL_CHANNELS);
                macro_rules! step {
                    ($group:literal) => {
                        group!(
                            $group,
                            vld1q_s8(codes.add($group * 32)),
                            vld1q_s8(codes.add($group * 32 + 16))
                        )
                    };
                }
                step!(0);
                step!(1);
                step!(2);
                step!(3);
            }
        }
        k += 16;
    }
    let (low_fix, high_fix) = (vld1q_s32(correction), vld1q_s32(correction.add(4)));
    for (r, [low, high]) in acc.into_iter().enumerate() {
        let (mut low, mut high) = (vaddq_s32(low, low_fix), vaddq_s32(high, high_fix));
        if BITS < 8 {
            let fix = vdupq_n_s32(*row_fix.add(r));
            low = vsubq_s32(low, fix);
            high = vsubq_s32(high, fix);
        }
        store_row(out.add(r * out_stride), low, high, valid);
    }
}

/// `PAIRS` pairs of u8 activation rows (interleaved per 8 steps, pairs `2·depth` bytes
/// apart) times one `Mmla` panel; only the first `rows` rows are written (the last pair's
/// second row may be padding). With `BITS` < 8 (codes stored as `u = c + z` in nibbles or
/// bit pairs, unpacked in registers), each row's `z·Σ a` (`row_fix`) is subtracted.
#[inline(always)]
// The register tile is indexed by pair and channel pair in several arrays at once.
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
unsafe fn tile_mmla<const PAIRS: usize, const BITS: u32>(
    a: *const u8,
    depth: usize,
    panel: *const i8,
    row_fix: *const i32,
    out: *mut i32,
    out_stride: usize,
    valid: usize,
    rows: usize,
) {
    // acc[q][p]: rows 2q, 2q+1 × channels 2p, 2p+1, as [r0c0, r0c1, r1c0, r1c1].
    let mut acc = [[vdupq_n_s32(0); 4]; PAIRS];
    // 8-step blocks per group sharing 64 bytes: 1, 2 (nibbles) or 4 (bit pairs), block i
    // in bits `BITS·i ..` of each byte.
    const { assert!(BITS == 8 || BITS == 4 || BITS == 2) };
    let blocks = (8 / BITS) as usize;
    let mask = vdupq_n_u8(((1u32 << BITS) - 1) as u8);
    for group in 0..depth / (8 * blocks) {
        let codes = panel.add(group * 8 * PANEL_CHANNELS) as *const u8;
        // The activations of `$count` blocks from block `$first` of the group, by pair.
        macro_rules! activations {
            ($first:literal, $count:literal) => {{
                let mut x = [[vdupq_n_u8(0); $count]; PAIRS];
                for (q, x) in x.iter_mut().enumerate() {
                    for (j, x) in x.iter_mut().enumerate() {
                        *x = vld1q_u8(a.add(q * 2 * depth + (group * blocks + $first + j) * 16));
                    }
                }
                x
            }};
        }
        if BITS == 2 {
            // Bit pairs: two passes over the 64 bytes, two blocks each. All four blocks'
            // activations at once (16 registers beside the 16 accumulators) spilled.
            macro_rules! half {
                ($first:literal, $low:expr, $high:expr) => {{
                    let x = activations!($first, 2);
                    for p in 0..4 {
                        let raw = vld1q_u8(codes.add(16 * p));
                        let w = [
                            vreinterpretq_s8_u8($low(raw)),
                            vreinterpretq_s8_u8($high(raw)),
                        ];
                        for q in 0..PAIRS {
                            acc[q][p] = usmmla(acc[q][p], x[q][0], w[0]);
                            acc[q][p] = usmmla(acc[q][p], x[q][1], w[1]);
                        }
                    }
                }};
            }
            half!(0, |raw| vandq_u8(raw, mask), |raw| vandq_u8(
                vshrq_n_u8::<2>(raw),
                mask
            ));
            half!(2, |raw| vandq_u8(vshrq_n_u8::<4>(raw), mask), |raw| {
                vshrq_n_u8::<6>(raw)
            });
            continue;
        }
        // `$count` blocks per pass: the nibbles' two, or the bytes' one.
        macro_rules! whole {
            ($count:literal, $unpack:expr) => {{
                let x = activations!(0, $count);
                for p in 0..4 {
                    let w: [uint8x16_t; $count] = $unpack(vld1q_u8(codes.add(16 * p)));
                    for q in 0..PAIRS {
                        for (x, w) in x[q].iter().zip(w) {
                            acc[q][p] = usmmla(acc[q][p], *x, vreinterpretq_s8_u8(w));
                        }
                    }
                }
            }};
        }
        if BITS == 4 {
            whole!(2, |raw| [vandq_u8(raw, mask), vshrq_n_u8::<4>(raw)]);
        } else {
            whole!(1, |raw| [raw]);
        }
    }
    for (q, [c01, c23, c45, c67]) in acc.into_iter().enumerate() {
        let (fix_first, fix_second) = if BITS < 8 {
            let second = if 2 * q + 1 < rows {
                *row_fix.add(2 * q + 1)
            } else {
                0
            };
            (vdupq_n_s32(*row_fix.add(2 * q)), vdupq_n_s32(second))
        } else {
            (vdupq_n_s32(0), vdupq_n_s32(0))
        };
        let as64 = vreinterpretq_s64_s32;
        let (c01, c23, c45, c67) = (as64(c01), as64(c23), as64(c45), as64(c67));
        let first = |x: int64x2_t, y: int64x2_t| vreinterpretq_s32_s64(vzip1q_s64(x, y));
        let second = |x: int64x2_t, y: int64x2_t| vreinterpretq_s32_s64(vzip2q_s64(x, y));
        store_row(
            out.add(2 * q * out_stride),
            vsubq_s32(first(c01, c23), fix_first),
            vsubq_s32(first(c45, c67), fix_first),
            valid,
        );
        if 2 * q + 1 < rows {
            store_row(
                out.add((2 * q + 1) * out_stride),
                vsubq_s32(second(c01, c23), fix_second),
                vsubq_s32(second(c45, c67), fix_second),
                valid,
            );
        }
    }
}

/// Where one tile reads and writes: its activation rows, its panel's codes and (for `Dot`)
/// corrections, its first output, and how many of its rows and channels are real.
#[derive(Clone, Copy)]
struct TileAt {
    first: usize,
    a: *const u8,
    codes: *const i8,
    correction: *const i32,
    out: *mut i32,
    rows: usize,
    valid: usize,
}

/// Walks the tiles of a GEMM over `m_rows` prepared rows: blocks of up to [`TILE_ROWS`] rows
/// (outer), each against every panel (inner), calling `tile` for each after checking the
/// sizes every tile relies on.
#[inline(always)]
unsafe fn for_each_tile(
    panels: &NeonPanels,
    prepared: &[u8],
    m_rows: usize,
    out: &mut [i32],
    mut tile: impl FnMut(TileAt),
) {
    assert!(prepared.len() >= panels.prepared_len(m_rows));
    assert!(out.len() >= m_rows * panels.rows);
    let rows = panels.rows;
    let row_bytes = panels.prepared_len(TILE_ROWS) / TILE_ROWS;
    for first in (0..m_rows).step_by(TILE_ROWS) {
        for panel in 0..panels.panels() {
            tile(TileAt {
                first,
                a: prepared.as_ptr().add(first * row_bytes),
                codes: panels.data.as_ptr().add(panel * panels.panel_bytes()),
                correction: panels
                    .correction
                    .as_ptr()
                    .wrapping_add(panel * PANEL_CHANNELS),
                out: out.as_mut_ptr().add(first * rows + panel * PANEL_CHANNELS),
                rows: (m_rows - first).min(TILE_ROWS),
                valid: (rows - panel * PANEL_CHANNELS).min(PANEL_CHANNELS),
            });
        }
    }
}

/// The `Neon` GEMM (every ARMv8-A core).
///
/// # Safety
/// Only on aarch64 (NEON is part of the base architecture); `panels` in the `Widen` layout.
pub unsafe fn gemm_widen(panels: &NeonPanels, prepared: &[u8], m_rows: usize, out: &mut [i32]) {
    debug_assert_eq!(panels.layout, PanelLayout::Widen);
    let (stride, depth) = (panels.rows, panels.depth);
    for_each_tile(panels, prepared, m_rows, out, |t| {
        let (a, codes, o, valid) = (t.a, t.codes, t.out, t.valid);
        macro_rules! widen {
            ($rows:literal) => {
                match panels.stored_bits {
                    8 => tile_widen::<$rows, 8>(a, depth, codes, o, stride, valid),
                    4 => tile_widen::<$rows, 4>(a, depth, codes, o, stride, valid),
                    _ => tile_widen::<$rows, 2>(a, depth, codes, o, stride, valid),
                }
            };
        }
        match t.rows {
            1 => widen!(1),
            2 => widen!(2),
            3 => widen!(3),
            4 => widen!(4),
            5 => widen!(5),
            6 => widen!(6),
            7 => widen!(7),
            _ => widen!(8),
        }
    });
}

/// The `NeonDot` GEMM (ARMv8.2 dot product).
///
/// # Safety
/// The CPU must have `dotprod`; `panels` in the `Dot` layout.
#[target_feature(enable = "dotprod")]
pub unsafe fn gemm_dot(panels: &NeonPanels, prepared: &[u8], m_rows: usize, out: &mut [i32]) {
    debug_assert_eq!(panels.layout, PanelLayout::Dot);
    let (stride, depth) = (panels.rows, panels.depth);
    let fixes = panels.row_corrections(prepared, m_rows);
    for_each_tile(panels, prepared, m_rows, out, |t| {
        let fix = fixes.as_ptr().wrapping_add(t.first);
        let (a, codes, c, o, valid) = (t.a, t.codes, t.correction, t.out, t.valid);
        macro_rules! dot {
            ($rows:literal) => {
                match panels.stored_bits {
                    2 => tile_dot::<$rows, 2>(a, depth, codes, c, fix, o, stride, valid),
                    4 => tile_dot::<$rows, 4>(a, depth, codes, c, fix, o, stride, valid),
                    _ => tile_dot::<$rows, 8>(a, depth, codes, c, fix, o, stride, valid),
                }
            };
        }
        match t.rows {
            1 => dot!(1),
            2 => dot!(2),
            3 => dot!(3),
            4 => dot!(4),
            5 => dot!(5),
            6 => dot!(6),
            7 => dot!(7),
            _ => dot!(8),
        }
    });
}

/// The `NeonI8mm` GEMM (ARMv8.6 int8 matrix multiply). `prepared` starts at a pair boundary.
///
/// # Safety
/// The CPU must have `i8mm`; `panels` in the `Mmla` layout.
#[target_feature(enable = "i8mm")]
pub unsafe fn gemm_mmla(panels: &NeonPanels, prepared: &[u8], m_rows: usize, out: &mut [i32]) {
    debug_assert_eq!(panels.layout, PanelLayout::Mmla);
    let (stride, depth) = (panels.rows, panels.depth);
    let fixes = panels.row_corrections(prepared, m_rows);
    for_each_tile(panels, prepared, m_rows, out, |t| {
        let fix = fixes.as_ptr().wrapping_add(t.first);
        let (a, codes, o, valid, rows) = (t.a, t.codes, t.out, t.valid, t.rows);
        macro_rules! mmla {
            ($pairs:literal) => {
                match panels.stored_bits {
                    2 => tile_mmla::<$pairs, 2>(a, depth, codes, fix, o, stride, valid, rows),
                    4 => tile_mmla::<$pairs, 4>(a, depth, codes, fix, o, stride, valid, rows),
                    _ => tile_mmla::<$pairs, 8>(a, depth, codes, fix, o, stride, valid, rows),
                }
            };
        }
        match rows.div_ceil(2) {
            1 => mmla!(1),
            2 => mmla!(2),
            3 => mmla!(3),
            _ => mmla!(4),
        }
    });
}

/// Runs the GEMM of `panels`' layout (see [`gemm_widen`], [`gemm_dot`], [`gemm_mmla`]).
///
/// # Safety
/// The CPU must have the layout's extension (checked when the kernel set was chosen).
pub unsafe fn gemm(panels: &NeonPanels, prepared: &[u8], m_rows: usize, out: &mut [i32]) {
    match panels.layout {
        PanelLayout::Widen => gemm_widen(panels, prepared, m_rows, out),
        PanelLayout::Dot => gemm_dot(panels, prepared, m_rows, out),
        PanelLayout::Mmla => gemm_mmla(panels, prepared, m_rows, out),
    }
}
