//! AVX-512 VNNI kernels (x86-64 with `avx512f`, `avx512bw` and `avx512vnni`, detected at run
//! time). `vpdpbusd` multiplies u8 activations by i8 weights four at a time and adds into
//! i32 without saturation, so every width, 8 bits included, is exact at 64 multiply-adds
//! per instruction.

pub mod gemm;
pub mod gemv;
pub mod requant;
