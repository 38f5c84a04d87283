//! [`KernelSet`]: which kernel family runs, detected from the CPU at run time or forced
//! (tests, benchmarks).

#[cfg(target_arch = "x86_64")]
use super::avx512;

/// Which kernels run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelSet {
    /// The scalar reference kernels (every platform).
    Reference,
    /// AVX2 kernels (x86-64 with AVX2).
    Avx2,
    /// AVX-512 F/BW matrix kernels (x86-64 with AVX-512 BW but no VNNI, e.g. Skylake-SP):
    /// codes of at most 7 bits run the VNNI set's panel GEMM with each `vpdpbusd` made of
    /// `vpmaddubsw` + `vpmaddwd` (exact at those widths), 8-bit codes the AVX2 set's exact
    /// `vpmaddwd` GEMM at 512 bits on its panels; AVX2 for the rest.
    Avx512Bw,
    /// AVX-512 VNNI matrix kernels (x86-64 with AVX-512 F/BW/VNNI), AVX2 for the rest.
    Avx512Vnni,
    /// The AVX-512 VNNI set with AMX tiles (`tdpbusd`, Intel Sapphire Rapids and later) for
    /// products of 16 or more rows on layers of at least 256 columns (see `avx512::amx`).
    Avx512Amx,
    /// NEON kernels (every aarch64 core): `smlal` on activations widened to i16.
    Neon,
    /// aarch64 dot-product kernels (ARMv8.2 `dotprod`): `sdot` on `a − 128`.
    NeonDot,
    /// aarch64 int8 matrix-multiply kernels (ARMv8.6 `i8mm`): `usmmla` on u8 × i8.
    NeonI8mm,
}

/// Every kernel set, slowest first within each architecture.
const ALL_SETS: [KernelSet; 8] = [
    KernelSet::Reference,
    KernelSet::Avx2,
    KernelSet::Avx512Bw,
    KernelSet::Avx512Vnni,
    KernelSet::Avx512Amx,
    KernelSet::Neon,
    KernelSet::NeonDot,
    KernelSet::NeonI8mm,
];

impl KernelSet {
    /// Checks `QFRONT_KERNELS` once, at a program's start: unset, or one of the names of
    /// [`KernelSet::name`]. Returns the message naming the value and the choices otherwise,
    /// so a typo is not silently ignored by [`KernelSet::detect`].
    pub fn check_environment() -> Result<(), String> {
        match std::env::var("QFRONT_KERNELS") {
            Err(std::env::VarError::NotPresent) => Ok(()),
            Ok(v) if Self::from_name(&v).is_some() => Ok(()),
            Ok(v) => {
                let names: Vec<&str> = ALL_SETS.iter().map(|s| s.name()).collect();
                Err(format!(
                    "QFRONT_KERNELS='{v}' is not one of {} (unset it to use the fastest kernels)",
                    names.join(", ")
                ))
            }
            Err(e) => Err(format!("QFRONT_KERNELS: {e}")),
        }
    }

    /// The set called `name` (see [`KernelSet::name`]).
    pub fn from_name(name: &str) -> Option<Self> {
        ALL_SETS.into_iter().find(|set| set.name() == name)
    }

    /// The fastest set this CPU supports; `QFRONT_KERNELS=<name>` forces another one this
    /// CPU has (a set it lacks falls back to the fastest, as that is what it asks for).
    pub fn detect() -> Self {
        if let Some(forced) = std::env::var("QFRONT_KERNELS")
            .ok()
            .and_then(|v| Self::from_name(&v))
        {
            if Self::available().contains(&forced) {
                return forced;
            }
        }
        Self::best_available()
    }

    /// The fastest set this CPU supports.
    pub fn best_available() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("avx512f") && has!("avx512bw") && has!("avx512vnni") && has!("avx2") {
                if avx512::amx::available() {
                    return KernelSet::Avx512Amx;
                }
                return KernelSet::Avx512Vnni;
            }
            if has!("avx512f") && has!("avx512bw") && has!("avx2") {
                return KernelSet::Avx512Bw;
            }
            if has!("avx2") {
                return KernelSet::Avx2;
            }
        }
        #[cfg(target_arch = "aarch64")]
        {
            use std::arch::is_aarch64_feature_detected as has;
            if has!("i8mm") && has!("dotprod") {
                return KernelSet::NeonI8mm;
            }
            if has!("dotprod") {
                return KernelSet::NeonDot;
            }
            if has!("neon") {
                return KernelSet::Neon;
            }
        }
        KernelSet::Reference
    }

    /// Every set this CPU can run, slowest first (for tests and comparisons): the reference
    /// and, of the fastest set's architecture, every set up to it in the order of `ALL_SETS`.
    pub fn available() -> Vec<Self> {
        let best = Self::best_available();
        let rank = ALL_SETS.iter().position(|&set| set == best).unwrap_or(0);
        ALL_SETS[..=rank]
            .iter()
            .copied()
            .filter(|&set| set == KernelSet::Reference || set.is_x86_simd() == best.is_x86_simd())
            .collect()
    }

    /// Name for reports.
    pub fn name(self) -> &'static str {
        match self {
            KernelSet::Reference => "reference",
            KernelSet::Avx2 => "avx2",
            KernelSet::Avx512Bw => "avx512bw",
            KernelSet::Avx512Vnni => "avx512-vnni",
            KernelSet::Avx512Amx => "avx512-amx",
            KernelSet::Neon => "neon",
            KernelSet::NeonDot => "neon-dot",
            KernelSet::NeonI8mm => "neon-i8mm",
        }
    }

    /// Whether it is one of the x86-64 SIMD sets.
    pub fn is_x86_simd(self) -> bool {
        matches!(
            self,
            KernelSet::Avx2 | KernelSet::Avx512Bw | KernelSet::Avx512Vnni | KernelSet::Avx512Amx
        )
    }

    /// Whether it multiplies `bits`-bit codes on `avx2::gemm::Avx2Panels` (x86-64): the
    /// AVX2 and AVX-512 BW sets for 8-bit codes (exact only with `vpmaddwd` on i16 pairs:
    /// `avx512::dot`).
    pub fn uses_avx2_panels(self, bits: u32) -> bool {
        matches!(self, KernelSet::Avx2 | KernelSet::Avx512Bw) && bits == 8
    }

    /// Whether it multiplies `bits`-bit codes on `avx512::gemm::VnniPanels` (x86-64): the
    /// AVX-512 VNNI and AMX sets always, the AVX-512 BW and AVX2 sets for codes of at most 7 bits
    /// (their `vpmaddubsw` dot-product step is exact there: `avx512::dot`).
    pub fn uses_vnni_panels(self, bits: u32) -> bool {
        matches!(self, KernelSet::Avx512Vnni | KernelSet::Avx512Amx)
            || (matches!(self, KernelSet::Avx2 | KernelSet::Avx512Bw) && bits <= 7)
    }
}
