//! Clearing the upper halves of the vector registers after faer's wide kernels.
//!
//! faer picks AVX-512 kernels at run time (its matrix products come from `private-gemm-x86`),
//! and after they return the upper halves of the vector registers are still marked in use.
//! This crate is compiled for baseline x86-64, so the code that follows is SSE, and so is
//! glibc's `exp` wrapper, which calls an AVX (FMA) kernel. With the upper halves in use, the
//! switches between SSE and AVX instructions stalled: on DTLZ4's ask after 200 trials `perf` put
//! 30% of the time in `exp`, nearly all of it on its first SSE and its first AVX instruction,
//! against 7.7% of the instructions (callgrind); with one `vzeroupper` after each faer call (`after_wide_kernels`)
//! the stalls went and the ask took a fifth less time, with the same answers to the bit. Intel's
//! optimization manual ("Mixing AVX code with SSE code") prescribes `vzeroupper` at such a
//! boundary.

/// Runs `call` (a faer routine) and then marks the upper halves of the vector registers
/// unused (`vzeroupper`) where the CPU has AVX. Every faer call of this crate goes through it.
#[inline]
pub(crate) fn after_wide_kernels<T>(call: impl FnOnce() -> T) -> T {
    let result = call();
    clear_upper_vector_state();
    result
}

/// `vzeroupper` where the CPU has AVX; nothing elsewhere.
#[inline]
fn clear_upper_vector_state() {
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
