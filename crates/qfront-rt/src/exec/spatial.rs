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
    for oy in 0..oh {
        for ox in 0..ow {
            let row = &mut dst[(oy * ow + ox) * row_len..(oy * ow + ox + 1) * row_len];
            for ky in 0..kh {
                let y = (oy * sh + ky) as isize - ph as isize;
                if y < 0 || y >= h as isize {
                    continue;
                }
                for kx in 0..kw {
                    let x = (ox * sw + kx) as isize - pw as isize;
                    if x < 0 || x >= w as isize {
                        continue;
                    }
                    let src = (y as usize * w + x as usize) * c + c0;
                    let at = (ky * kw + kx) * cg;
                    row[at..at + cg].copy_from_slice(&input[src..src + cg]);
                }
            }
        }
    }
}

/// Max (`average = false`) or rounded-mean pooling of one example.
pub(crate) fn pool(input: &[u8], win: &Window, average: bool, out: &mut [u8]) {
    let [_, w, c] = win.input;
    let [kh, kw] = win.kernel;
    let [sh, sw] = win.stride;
    let [oh, ow] = win.output;
    let count = (kh * kw) as u32;
    for oy in 0..oh {
        for ox in 0..ow {
            let dst = &mut out[(oy * ow + ox) * c..(oy * ow + ox + 1) * c];
            for ch in 0..c {
                let mut max = 0u8;
                let mut sum = 0u32;
                for ky in 0..kh {
                    for kx in 0..kw {
                        let v = input[((oy * sh + ky) * w + ox * sw + kx) * c + ch];
                        max = max.max(v);
                        sum += v as u32;
                    }
                }
                dst[ch] = if average {
                    ((sum + count / 2) / count) as u8
                } else {
                    max
                };
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
