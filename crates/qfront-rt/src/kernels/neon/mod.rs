//! aarch64 kernels (phones and boards), in three tiers chosen at run time like the x86 ones:
//!
//! | set | CPUs | inner instruction | multiply-adds per instruction |
//! |---|---|---|---|
//! | [`Neon`](crate::KernelSet::Neon) | every ARMv8-A core | `smlal` by lane on i16 | 4 |
//! | [`NeonDot`](crate::KernelSet::NeonDot) | ARMv8.2 dot product (Cortex-A55/A76 on) | `sdot` by lane on i8 | 16 |
//! | [`NeonI8mm`](crate::KernelSet::NeonI8mm) | ARMv8.6 int8 matrix multiply (Cortex-A510/A710/X2 on) | `usmmla` on u8 × i8 | 32 |
//!
//! All three are exact (i32 sums, no saturating step), so they give the reference kernels'
//! products bit for bit:
//! - `Neon` widens activations (0..=255) and codes to i16 and multiplies into i32 lanes;
//! - `NeonDot` has only a signed × signed dot product, so it feeds `a − 128` (an i8) and adds
//!   `128·Σ_k w` per output channel afterwards: `Σ a·w = Σ (a − 128)·w + 128·Σ w`, exact in
//!   wrapping i32 arithmetic like the reference sum;
//! - `NeonI8mm` multiplies the u8 activations by the i8 codes directly (`usmmla`, a 2×8 by
//!   8×2 block per instruction).
//!
//! `sdot` and `usmmla` are written as inline assembly ([`instructions`]): their Rust
//! intrinsics are still unstable (`stdarch_neon_dotprod`, `stdarch_neon_i8mm`), while the
//! target features that enable them are stable. Weights are packed into 8-channel panels once,
//! when a layer is prepared ([`panels`]); the GEMM tiles 1–8 rows by 8 channels ([`gemm`]), so
//! a batch-1 product (one row) runs the same code with one row of accumulators. The
//! requantization epilogue is [`requant`].

pub mod gemm;
pub mod instructions;
pub mod panels;
pub mod requant;

/// Output channels per weight panel (two 4-lane i32 accumulators).
pub const PANEL_CHANNELS: usize = 8;

/// Most activation rows one tile multiplies at once (registers: 8 rows × 2 accumulators).
pub const TILE_ROWS: usize = 8;
