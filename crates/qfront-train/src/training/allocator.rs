//! Keeping freed tensor memory in the process between training steps.
//!
//! Every step allocates and frees the same activation-sized buffers (6.4 MB each for a LeNet
//! batch of 128). With glibc's defaults, buffers above the dynamic mmap threshold go back to
//! the kernel on free and come back as fresh zero pages — page faults, `munmap` TLB
//! shootdowns — and the top of the heap is trimmed whenever 128 KiB of it is free. Measured on
//! the LeNet QAT step (2 threads, AVX-512 VNNI EPYC): 54 ms with the defaults, 38.5 ms with the
//! thresholds below; raising only the trim threshold made it worse (108 ms), because fixing
//! one threshold turns glibc's adaptive mmap threshold off.

/// Allocations up to this size come from the heap (glibc's largest allowed mmap threshold on
/// 64-bit, `DEFAULT_MMAP_THRESHOLD_MAX`).
const MMAP_THRESHOLD_BYTES: i32 = 32 * 1024 * 1024;
/// The heap top is returned to the kernel only when this much of it is free.
const TRIM_THRESHOLD_BYTES: i32 = 256 * 1024 * 1024;

/// Tunes the process allocator for training loops (glibc only; a no-op elsewhere). Call once,
/// early; it affects the whole process, and memory freed by one step stays reserved for the
/// next (up to 256 MiB above what is live).
pub fn keep_freed_memory_for_training() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; both values are in glibc's range.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES);
    }
}
