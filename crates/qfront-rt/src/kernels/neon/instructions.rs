//! The two instructions whose Rust intrinsics are not stable yet, as inline assembly. Each
//! is `pure` and touches no memory, so the compiler schedules and allocates registers around
//! it as it would an intrinsic. Only call them from functions compiled with the matching
//! target feature (`dotprod`, `i8mm`) on CPUs that have it.

use std::arch::aarch64::{int32x4_t, int8x16_t, uint8x16_t};
use std::arch::asm;

/// `sdot acc.4s, w.16b, a.4b[LANE]`: `acc[i] += Σ_{j<4} w[4i + j]·a[4·LANE + j]` (i8 × i8,
/// exact in i32), Arm ARM "SDOT (by element)".
///
/// # Safety
/// The CPU must have the dot-product extension (`dotprod`).
#[inline(always)]
pub unsafe fn sdot_lane<const LANE: i32>(
    accumulator: int32x4_t,
    weights: int8x16_t,
    activations: int8x16_t,
) -> int32x4_t {
    let mut accumulator = accumulator;
    asm!(
        "sdot {acc:v}.4s, {w:v}.16b, {a:v}.4b[{lane}]",
        acc = inout(vreg) accumulator,
        w = in(vreg) weights,
        a = in(vreg) activations,
        lane = const LANE,
        options(pure, nomem, nostack, preserves_flags)
    );
    accumulator
}

/// `usmmla acc.4s, a.16b, w.16b`: with `a` two rows of 8 u8 and `w` two columns of 8 i8,
/// `acc[2i + j] += Σ_{k<8} a[8i + k]·w[8j + k]` (exact in i32), Arm ARM "USMMLA".
///
/// # Safety
/// The CPU must have the int8 matrix-multiply extension (`i8mm`).
#[inline(always)]
pub unsafe fn usmmla(
    accumulator: int32x4_t,
    activations: uint8x16_t,
    weights: int8x16_t,
) -> int32x4_t {
    let mut accumulator = accumulator;
    asm!(
        "usmmla {acc:v}.4s, {a:v}.16b, {w:v}.16b",
        acc = inout(vreg) accumulator,
        a = in(vreg) activations,
        w = in(vreg) weights,
        options(pure, nomem, nostack, preserves_flags)
    );
    accumulator
}
