//! AVX-512 VNNI kernels (x86-64 with `avx512f`, `avx512bw` and `avx512vnni`, detected at run
//! time). `vpdpbusd` multiplies u8 activations by i8 weights four at a time and adds into
//! i32 without saturation, so every width, 8 bits included, is exact at 64 multiply-adds
//! per instruction. One panel GEMM ([`gemm`]) serves every row count, batch 1 included, on
//! weights packed at their width. CPUs with AVX-512 F/BW but no VNNI get [`gemm_bw`], the
//! exact `vpmaddwd` GEMM of the AVX2 set at 512 bits, on the AVX2 set's panels.

pub mod amx;
pub mod dot;
pub mod gemm;
pub mod gemm_bw;
pub mod requant;
