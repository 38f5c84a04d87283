//! AVX-512 VNNI kernels (x86-64 with `avx512f`, `avx512bw` and `avx512vnni`, detected at run
//! time). `vpdpbusd` multiplies u8 activations by i8 weights four at a time and adds into
//! i32 without saturation, so every width, 8 bits included, is exact at 64 multiply-adds
//! per instruction. One panel GEMM ([`gemm`]) serves every row count, batch 1 included, on
//! weights packed at their width.

pub mod gemm;
pub mod requant;
