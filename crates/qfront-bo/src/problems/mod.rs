//! Benchmark problems (methods-spec §5).
