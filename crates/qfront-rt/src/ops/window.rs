//! Windows over NHWC u8 tensors: their geometry, the im2col gathers of convolutions (in each
//! GEMM's input form) and the pooling loop, compiled for the baseline and for AVX2.

/// Geometry of a convolution or pooling window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    pub input: [usize; 3],
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    pub output: [usize; 2],
}

/// Copies a short span byte by byte (spans here are a few channels; a `memcpy` call per
/// span costs more than the copy).
#[inline(always)]
fn copy_span(dst: &mut [u8], src: &[u8]) {
    if dst.len() >= 32 {
        dst.copy_from_slice(src);
    } else {
        for (d, s) in dst.iter_mut().zip(src) {
            *d = *s;
        }
    }
}

/// Patches of channels `c0..c0+cg` of one example `[h, w, c]` into rows
/// `[oh·ow, kh·kw·cg]` in `(kh, kw, c)` order, padding with `pad`.
pub(crate) fn im2col(input: &[u8], win: &Window, c0: usize, cg: usize, pad: u8, out: &mut Vec<u8>) {
    let [h, w, c] = win.input;
    let [kh, kw] = win.kernel;
    let [sh, sw] = win.stride;
    let [ph, pw] = win.padding;
    let [oh, ow] = win.output;
    let row_len = kh * kw * cg;
    let start = out.len();
    out.resize(start + oh * ow * row_len, pad);
    let dst = &mut out[start..];
    let dense = cg == c;
    for oy in 0..oh {
        for ox in 0..ow {
            let row = &mut dst[(oy * ow + ox) * row_len..(oy * ow + ox + 1) * row_len];
            let x0 = (ox * sw) as isize - pw as isize;
            // Kernel columns inside the image: kx in kx_lo..kx_hi.
            let kx_lo = (-x0).max(0) as usize;
            let kx_hi = ((w as isize - x0).max(0) as usize).min(kw);
            if kx_lo >= kx_hi {
                continue;
            }
            for ky in 0..kh {
                let y = (oy * sh + ky) as isize - ph as isize;
                if y < 0 || y >= h as isize {
                    continue;
                }
                let src_row = (y as usize * w) as isize + x0;
                if dense {
                    // The channels of neighbouring pixels are contiguous in NHWC.
                    let src = (src_row + kx_lo as isize) as usize * c;
                    let len = (kx_hi - kx_lo) * c;
                    let at = (ky * kw + kx_lo) * c;
                    copy_span(&mut row[at..at + len], &input[src..src + len]);
                } else {
                    for kx in kx_lo..kx_hi {
                        let src = (src_row + kx as isize) as usize * c + c0;
                        let at = (ky * kw + kx) * cg;
                        copy_span(&mut row[at..at + cg], &input[src..src + cg]);
                    }
                }
            }
        }
    }
}

/// The patches of one example written straight into a GEMM's input form: rows of
/// `row_elems ≥ kh·kw·c` values (the tail zero) — i16 for the AVX2 GEMM, u8 for the VNNI
/// one — starting at row `row_offset` of `out` (dense convolutions only). The example is
/// first copied into `padded`, an image with its zero-point border materialised, so every
/// patch row is `kh` plain copies of `kw·c` values.
/// Slack after the padded image so fixed-size chunk reads past a span's end stay in bounds.
fn span_slack(span: usize, chunk: usize) -> usize {
    span.div_ceil(chunk) * chunk
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn im2col_rows_body<T: Copy + From<u8> + Default>(
    input: &[u8],
    win: &Window,
    pad: u8,
    row_elems: usize,
    row_offset: usize,
    out: &mut [T],
    padded: &mut Vec<T>,
) {
    let [h, w, c] = win.input;
    let [kh, kw] = win.kernel;
    let [sh, sw] = win.stride;
    let [ph, pw] = win.padding;
    let [oh, ow] = win.output;
    let (hp, wp) = (h + 2 * ph, w + 2 * pw);
    const CHUNK: usize = 16;
    padded.clear();
    padded.resize(hp * wp * c + span_slack(kw * c, CHUNK), T::from(pad));
    for y in 0..h {
        let dst = &mut padded[((y + ph) * wp + pw) * c..((y + ph) * wp + pw + w) * c];
        for (d, &v) in dst.iter_mut().zip(&input[y * w * c..(y + 1) * w * c]) {
            *d = T::from(v);
        }
    }
    let span = kw * c;
    let row_len = kh * span;
    let dst = &mut out[row_offset * row_elems..(row_offset + oh * ow) * row_elems];
    let end = dst.len();
    // Every write below may run up to CHUNK elements past what it must write, as long as it
    // stays inside `dst`: such surplus lands on a later span of the same row, on the row's
    // tail or on a later row, all of which are written afterwards (rows in increasing order).
    // So the short spans and tails of a patch row are single vector moves, not `memcpy` and
    // `memset` calls, which cost more than the few bytes they move (profiled on LeNet).
    // Short spans: every read of CHUNK elements stays in `padded` (its slack, checked here
    // once), so a row whose writes all stay in `dst` (checked per row) is copied unchecked.
    let src_row = wp * c;
    let short = span <= CHUNK && row_elems - row_len <= CHUNK;
    // The last row's first read, the farthest any row's reads start.
    let last_read = ((oh.saturating_sub(1) * sh + kh - 1) * wp + ow.saturating_sub(1) * sw) * c;
    assert!(!short || last_read + CHUNK <= padded.len());
    let zeros = [T::default(); CHUNK];
    for (oy, ox) in (0..oh).flat_map(|oy| (0..ow).map(move |ox| (oy, ox))) {
        let base = (oy * ow + ox) * row_elems;
        if short && base + row_len + CHUNK <= end {
            // SAFETY: reads start at most at `last_read` (the last row's last span; rows
            // and spans read at increasing offsets) and take CHUNK elements, in bounds by the
            // assert above;
            // writes end at most at `base + row_len + CHUNK ≤ end` (checked just now: the last
            // span starts before `base + row_len`, the tail at it). `padded` and `dst` are
            // different buffers.
            unsafe {
                let from = padded.as_ptr().add((oy * sh * wp + ox * sw) * c);
                let to = dst.as_mut_ptr().add(base);
                for ky in 0..kh {
                    std::ptr::copy_nonoverlapping(from.add(ky * src_row), to.add(ky * span), CHUNK);
                }
                if row_elems > row_len {
                    std::ptr::copy_nonoverlapping(zeros.as_ptr(), to.add(row_len), CHUNK);
                }
            }
            continue;
        }
        for ky in 0..kh {
            let src = ((oy * sh + ky) * wp + ox * sw) * c;
            let at = base + ky * span;
            if span <= CHUNK && at + CHUNK <= end {
                copy_chunk::<T, CHUNK>(&mut dst[at..at + CHUNK], &padded[src..src + CHUNK]);
            } else if span >= 2 * CHUNK {
                copy_in_chunks::<T, { 2 * CHUNK }>(
                    &mut dst[at..at + span],
                    &padded[src..src + span],
                );
            } else if span >= CHUNK {
                copy_in_chunks::<T, CHUNK>(&mut dst[at..at + span], &padded[src..src + span]);
            } else {
                copy_exact(&mut dst[at..at + span], &padded[src..src + span]);
            }
        }
        let tail = base + row_len;
        if row_elems > row_len {
            if tail + CHUNK <= end && row_elems - row_len <= CHUNK {
                copy_chunk::<T, CHUNK>(&mut dst[tail..tail + CHUNK], &zeros);
            } else {
                fill_exact(&mut dst[tail..base + row_elems]);
            }
        }
    }
}

/// The exact copy for the last rows, where a fixed-size move would run past the buffer. Kept
/// out of line: inlined, the compiler merges it with the fixed-size moves into one `memcpy`
/// call of variable length (seen in the disassembly), which is the cost the moves avoid.
#[cold]
#[inline(never)]
fn copy_exact<T: Copy>(dst: &mut [T], src: &[T]) {
    dst.copy_from_slice(src);
}

/// The exact zero fill of a row's tail, out of line for the reason of [`copy_exact`].
#[cold]
#[inline(never)]
fn fill_exact<T: Copy + Default>(dst: &mut [T]) {
    dst.fill(T::default());
}

/// Copies the first `N` elements of `src` over the first `N` of `dst` as one fixed-size move
/// (a vector register or two; both slices hold at least `N`).
#[inline(always)]
fn copy_chunk<T: Copy, const N: usize>(dst: &mut [T], src: &[T]) {
    let from: &[T; N] = src[..N].try_into().expect("N elements");
    let to: &mut [T; N] = (&mut dst[..N]).try_into().expect("N elements");
    *to = *from;
}

/// Copies `src` into `dst` (equal lengths, at least `N`) in fixed-size moves of `N`, the last
/// one overlapping its predecessor where the length is not a multiple of `N`.
#[inline(always)]
fn copy_in_chunks<T: Copy, const N: usize>(dst: &mut [T], src: &[T]) {
    let n = dst.len();
    debug_assert!(n >= N && src.len() == n);
    let mut at = 0;
    while at + N <= n {
        copy_chunk::<T, N>(&mut dst[at..], &src[at..]);
        at += N;
    }
    if at < n {
        copy_chunk::<T, N>(&mut dst[n - N..], &src[n - N..]);
    }
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn im2col_widened_body(
    input: &[u8],
    win: &Window,
    pad: u8,
    pairs: usize,
    row_offset: usize,
    out: &mut [i32],
    padded: &mut Vec<i16>,
) {
    // SAFETY of the cast: i32 words hold two i16 lanes.
    let lanes: &mut [i16] =
        unsafe { std::slice::from_raw_parts_mut(out.as_mut_ptr() as *mut i16, out.len() * 2) };
    im2col_rows_body(input, win, pad, 2 * pairs, row_offset, lanes, padded)
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn im2col_padded_body(
    input: &[u8],
    win: &Window,
    pad: u8,
    row_elems: usize,
    row_offset: usize,
    out: &mut [u8],
    padded: &mut Vec<u8>,
) {
    im2col_rows_body(input, win, pad, row_elems, row_offset, out, padded)
}

/// Sums of the widened rows (`pairs` words each), for layers with a weight zero point.
#[inline(always)]
fn widened_row_sums_body(widened: &[i32], m_rows: usize, pairs: usize, sums: &mut Vec<i32>) {
    sums.clear();
    sums.extend((0..m_rows).map(|m| {
        widened[m * pairs..(m + 1) * pairs]
            .iter()
            .map(|&word| (word & 0xFFFF) + (word >> 16))
            .sum::<i32>()
    }));
}

/// Max (`average = false`) or rounded-mean pooling of one example (channels innermost, so
/// the inner loops run over contiguous bytes).
#[inline(always)]
fn pool_body(input: &[u8], win: &Window, average: bool, out: &mut [u8], sums: &mut Vec<u32>) {
    let [_, w, c] = win.input;
    let [kh, kw] = win.kernel;
    let [sh, sw] = win.stride;
    let [oh, ow] = win.output;
    let window = move |first: usize| {
        (0..kh).flat_map(move |ky| (0..kw).map(move |kx| first + (ky * w + kx) * c))
    };
    if !average && c >= 16 {
        // Max over 16 channels at a time, held in a register across the window and stored
        // once (the last 16 overlapping the previous ones when `c` is not a multiple; max is
        // idempotent). A `memset` and a loop of unknown length per position, as before,
        // cost several times more (profiled on LeNet).
        let starts: Vec<usize> = (0..c / 16)
            .map(|i| i * 16)
            .chain((c % 16 != 0).then_some(c - 16))
            .collect();
        let load = |at: usize| -> [u8; 16] { input[at..at + 16].try_into().expect("16 bytes") };
        for (oy, ox) in (0..oh).flat_map(|oy| (0..ow).map(move |ox| (oy, ox))) {
            let first = ((oy * sh) * w + ox * sw) * c;
            for &start in &starts {
                // Nested loops, not the `window` iterator: its `flat_map` measured slower here
                // (pooling 5.4% → 6.8% of LeNet batch 32). The first element meets itself once.
                let mut best = load(first + start);
                for ky in 0..kh {
                    for kx in 0..kw {
                        let next = load(first + (ky * w + kx) * c + start);
                        for (b, v) in best.iter_mut().zip(next) {
                            *b = (*b).max(v);
                        }
                    }
                }
                let at = (oy * ow + ox) * c + start;
                out[at..at + 16].copy_from_slice(&best);
            }
        }
        return;
    }
    if !average {
        // Fewer than 16 channels: each channel's maximum over the window, element by element.
        for (oy, ox) in (0..oh).flat_map(|oy| (0..ow).map(move |ox| (oy, ox))) {
            let first = ((oy * sh) * w + ox * sw) * c;
            let dst = &mut out[(oy * ow + ox) * c..(oy * ow + ox + 1) * c];
            for (ch, d) in dst.iter_mut().enumerate() {
                *d = window(first)
                    .map(|at| input[at + ch])
                    .max()
                    .expect("a window holds at least one element");
            }
        }
        return;
    }
    let count = (kh * kw) as u32;
    sums.clear();
    sums.resize(c, 0);
    for (oy, ox) in (0..oh).flat_map(|oy| (0..ow).map(move |ox| (oy, ox))) {
        let first = ((oy * sh) * w + ox * sw) * c;
        sums.fill(0);
        for at in window(first) {
            for (s, &v) in sums.iter_mut().zip(&input[at..at + c]) {
                *s += v as u32;
            }
        }
        let dst = &mut out[(oy * ow + ox) * c..(oy * ow + ox + 1) * c];
        for (d, &s) in dst.iter_mut().zip(sums.iter()) {
            *d = ((s + count / 2) / count) as u8;
        }
    }
}

/// Compiles `$body` twice — for the baseline target and with AVX2 enabled — and picks the
/// AVX2 copy at run time when the CPU has it (the loops are plain Rust; AVX2 lets the
/// compiler vectorise them 32 bytes at a time).
macro_rules! multiversion {
    ($(#[$doc:meta])* fn $name:ident / $avx2:ident => $body:ident($($arg:ident: $ty:ty),*)) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2")]
        unsafe fn $avx2($($arg: $ty),*) {
            $body($($arg),*)
        }

        $(#[$doc])*
        pub(crate) fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: AVX2 is present.
                return unsafe { $avx2($($arg),*) };
            }
            $body($($arg),*)
        }
    };
}

multiversion! {
    /// The patches of one example written straight into the AVX2 GEMM's input form (see
    /// `im2col_widened_body`).
    fn im2col_widened / im2col_widened_avx2 => im2col_widened_body(input: &[u8], win: &Window, pad: u8, pairs: usize, row_offset: usize, out: &mut [i32], padded: &mut Vec<i16>)
}

multiversion! {
    /// The patches of one example as u8 rows of `row_elems` for the AVX-512 VNNI GEMM (see
    /// `im2col_rows_body`).
    fn im2col_padded / im2col_padded_avx2 => im2col_padded_body(input: &[u8], win: &Window, pad: u8, row_elems: usize, row_offset: usize, out: &mut [u8], padded: &mut Vec<u8>)
}

multiversion! {
    /// Max or rounded-mean pooling of one example (see `pool_body`).
    fn pool / pool_avx2 => pool_body(input: &[u8], win: &Window, average: bool, out: &mut [u8], sums: &mut Vec<u32>)
}

multiversion! {
    /// Sums of widened rows (see `widened_row_sums_body`).
    fn widened_row_sums / widened_row_sums_avx2 => widened_row_sums_body(widened: &[i32], m_rows: usize, pairs: usize, sums: &mut Vec<i32>)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (the tests need no statistical quality).
    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 33) % n as u64) as usize
        }
    }

    /// The GEMM-form gathers (fixed-size moves, unchecked short rows, cold exact copies for
    /// the buffer's last rows) against the plain `im2col` the reference kernels use, over
    /// random geometries: kernels 1–5, strides 1–2, padding 0–2, 1–40 channels, rows with
    /// tails of 0–20 elements, several examples one after another in one buffer, and a
    /// buffer holding stale values from an earlier, larger call.
    #[test]
    fn gemm_form_patches_match_the_plain_gather() {
        let mut rng = Lcg(17);
        for case in 0..400 {
            let c = 1 + rng.below(40);
            let (kh, kw) = (1 + rng.below(5), 1 + rng.below(5));
            let (sh, sw) = (1 + rng.below(2), 1 + rng.below(2));
            let (ph, pw) = (rng.below(3), rng.below(3));
            let (h, w) = (kh + rng.below(7), kw + rng.below(7));
            let oh = crate::ops::window_output(h, kh, sh, ph).unwrap();
            let ow = crate::ops::window_output(w, kw, sw, pw).unwrap();
            let win = Window {
                input: [h, w, c],
                kernel: [kh, kw],
                stride: [sh, sw],
                padding: [ph, pw],
                output: [oh, ow],
            };
            let row_len = kh * kw * c;
            let row_elems = row_len + rng.below(21);
            let pad = rng.below(256) as u8;
            let examples = 1 + rng.below(3);
            let positions = oh * ow;
            let inputs: Vec<Vec<u8>> = (0..examples)
                .map(|_| (0..h * w * c).map(|_| rng.below(256) as u8).collect())
                .collect();
            let mut expected = Vec::new();
            for input in &inputs {
                let mut plain = Vec::new();
                im2col(input, &win, 0, c, pad, &mut plain);
                for row in plain.chunks_exact(row_len) {
                    expected.extend_from_slice(row);
                    expected.extend(std::iter::repeat_n(0u8, row_elems - row_len));
                }
            }
            // u8 rows (the VNNI GEMM's form), over a buffer full of stale bytes.
            let mut rows = vec![0xA5u8; examples * positions * row_elems];
            let mut padded = vec![7u8; 3];
            for (b, input) in inputs.iter().enumerate() {
                im2col_padded(
                    input,
                    &win,
                    pad,
                    row_elems,
                    b * positions,
                    &mut rows,
                    &mut padded,
                );
            }
            assert_eq!(
                rows, expected,
                "u8 rows, case {case}: {win:?} row_elems {row_elems}"
            );
            // i16 rows (the AVX2 GEMM's form): pairs of lanes in i32 words.
            let pairs = row_elems.div_ceil(2);
            let mut words = vec![-1i32; examples * positions * pairs];
            let mut padded16 = Vec::new();
            for (b, input) in inputs.iter().enumerate() {
                im2col_widened(
                    input,
                    &win,
                    pad,
                    pairs,
                    b * positions,
                    &mut words,
                    &mut padded16,
                );
            }
            let lanes: Vec<i16> = words
                .iter()
                .flat_map(|w| [(*w & 0xFFFF) as u16 as i16, (*w >> 16) as i16])
                .collect();
            for (r, row) in lanes.chunks_exact(2 * pairs).enumerate() {
                let want = &expected[r * row_elems..(r + 1) * row_elems];
                let got: Vec<u8> = row[..row_elems].iter().map(|&v| v as u8).collect();
                assert_eq!(got, want, "i16 row {r}, case {case}: {win:?}");
                assert!(row[row_elems..].iter().all(|&v| v == 0), "i16 row {r} tail");
            }
        }
    }

    /// Max and rounded-mean pooling against their definitions, over random geometries
    /// (1–40 channels: below 16, multiples of 16 and the overlapping last step in between).
    #[test]
    fn pooling_matches_its_definition() {
        let mut rng = Lcg(29);
        for case in 0..300 {
            let c = 1 + rng.below(40);
            let (kh, kw) = (1 + rng.below(3), 1 + rng.below(3));
            let (sh, sw) = (1 + rng.below(3), 1 + rng.below(3));
            let (h, w) = (kh + rng.below(6), kw + rng.below(6));
            let oh = crate::ops::window_output(h, kh, sh, 0).unwrap();
            let ow = crate::ops::window_output(w, kw, sw, 0).unwrap();
            let win = Window {
                input: [h, w, c],
                kernel: [kh, kw],
                stride: [sh, sw],
                padding: [0, 0],
                output: [oh, ow],
            };
            let input: Vec<u8> = (0..h * w * c).map(|_| rng.below(256) as u8).collect();
            for average in [false, true] {
                let mut want = Vec::new();
                for oy in 0..oh {
                    for ox in 0..ow {
                        for ch in 0..c {
                            let values = (0..kh)
                                .flat_map(|ky| (0..kw).map(move |kx| (ky, kx)))
                                .map(|(ky, kx)| {
                                    input[((oy * sh + ky) * w + ox * sw + kx) * c + ch] as u32
                                });
                            let count = (kh * kw) as u32;
                            want.push(if average {
                                ((values.sum::<u32>() + count / 2) / count) as u8
                            } else {
                                values.max().unwrap() as u8
                            });
                        }
                    }
                }
                let mut got = vec![0x5Au8; oh * ow * c];
                pool(&input, &win, average, &mut got, &mut Vec::new());
                assert_eq!(got, want, "case {case} average {average}: {win:?}");
            }
        }
    }
}
