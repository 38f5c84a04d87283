//! Clearing the upper halves of the vector registers after faer's wide kernels.
//!
//! faer's matrix kernels (`private-gemm-x86`, chosen at run time) use AVX-512 registers and
//! return without `vzeroupper`. This crate is compiled for baseline x86-64, so the code that
//! follows is SSE, and so is glibc's `exp` wrapper, which calls an AVX (FMA) kernel. With the
//! upper halves in use, every switch between SSE and AVX instructions stalls: on DTLZ4's ask
//! after 200 trials `perf` put 30% of the time in `exp` (its first SSE and first AVX
//! instruction), against 7.7% of the instructions (callgrind). `vzeroupper` once after each
//! faer call returns the registers to the clean state. Intel's optimization manual
//! (§"Mixing AVX code with SSE code") prescribes exactly this at the boundary.

/// Marks the upper halves of the vector registers unused (`vzeroupper`) where the CPU has
/// AVX; nothing elsewhere.
#[inline]
pub(crate) fn clear_upper_vector_state() {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: AVX was detected at run time; `vzeroupper` only clears the upper halves
            // of registers no Rust value lives in across this call.
            unsafe { zero_upper() }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn zero_upper() {
    std::arch::x86_64::_mm256_zeroupper();
}
