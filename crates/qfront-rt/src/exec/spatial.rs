//! Spatial ops on NHWC u8 tensors: im2col for convolutions, max/average pooling, global
//! average pooling and channel padding.

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

/// Max (`average = false`) or rounded-mean pooling of one example (channels innermost, so
/// the inner loops run over contiguous bytes).
pub(crate) fn pool(input: &[u8], win: &Window, average: bool, out: &mut [u8], sums: &mut Vec<u32>) {
    let [_, w, c] = win.input;
    let [kh, kw] = win.kernel;
    let [sh, sw] = win.stride;
    let [oh, ow] = win.output;
    let count = (kh * kw) as u32;
    sums.clear();
    sums.resize(c, 0);
    for oy in 0..oh {
        for ox in 0..ow {
            let dst = &mut out[(oy * ow + ox) * c..(oy * ow + ox + 1) * c];
            if average {
                sums.fill(0);
            } else {
                dst.fill(0);
            }
            for ky in 0..kh {
                for kx in 0..kw {
                    let at = ((oy * sh + ky) * w + ox * sw + kx) * c;
                    let src = &input[at..at + c];
                    if average {
                        for (s, &v) in sums.iter_mut().zip(src) {
                            *s += v as u32;
                        }
                    } else {
                        for (d, &v) in dst.iter_mut().zip(src) {
                            *d = (*d).max(v);
                        }
                    }
                }
            }
            if average {
                for (d, &s) in dst.iter_mut().zip(sums.iter()) {
                    *d = ((s + count / 2) / count) as u8;
                }
            }
        }
    }
}

/// Per-channel sums of `(u − zero_point)` over all positions of one example `[positions, c]`.
pub(crate) fn channel_sums(input: &[u8], channels: usize, zero_point: i32, out: &mut [i32]) {
    out[..channels].fill(0);
    let positions = input.len() / channels;
    for p in 0..positions {
        for (o, &v) in out.iter_mut().zip(&input[p * channels..(p + 1) * channels]) {
            *o += v as i32;
        }
    }
    for o in out[..channels].iter_mut() {
        *o -= zero_point * positions as i32;
    }
}

/// Appends `extra` channels holding `fill` to every position of `[positions, c]`.
pub(crate) fn pad_channels(input: &[u8], channels: usize, extra: usize, fill: u8, out: &mut [u8]) {
    let positions = input.len() / channels;
    let wide = channels + extra;
    for p in 0..positions {
        out[p * wide..p * wide + channels]
            .copy_from_slice(&input[p * channels..(p + 1) * channels]);
        out[p * wide + channels..(p + 1) * wide].fill(fill);
    }
}
