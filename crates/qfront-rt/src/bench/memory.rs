//! The process's memory, for `qfront bench memory`: the peak resident set size the kernel
//! records (Linux `VmHWM`), read after a model was loaded and run.

/// Peak resident set size of this process in bytes (`VmHWM` of `/proc/self/status`); `None`
/// where the system does not report it.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peak_grows_with_a_touched_allocation() {
        let Some(before) = peak_rss_bytes() else {
            return; // not Linux
        };
        let block = vec![1u8; 64 << 20];
        std::hint::black_box(&block);
        let after = peak_rss_bytes().unwrap();
        assert!(after >= before.max(64 << 20), "{before} → {after}");
    }
}
