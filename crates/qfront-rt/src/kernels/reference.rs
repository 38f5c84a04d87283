//! Plain scalar reference kernels: the obviously correct definitions every fast path is
//! tested against.

/// `out[m·n_rows + o] = Σ_k codes[o·k_len + k] · a[m·k_len + k]` for `m < m_rows`,
/// `o < n_rows` (activations u8, weight codes i8, exact i32 sums).
pub fn gemm(a: &[u8], m_rows: usize, k_len: usize, codes: &[i8], n_rows: usize, out: &mut [i32]) {
    for m in 0..m_rows {
        let row = &a[m * k_len..(m + 1) * k_len];
        for o in 0..n_rows {
            let w = &codes[o * k_len..(o + 1) * k_len];
            out[m * n_rows + o] = row.iter().zip(w).map(|(&x, &c)| x as i32 * c as i32).sum();
        }
    }
}

/// Depthwise convolution sums: input `[h, w, c]` u8, codes `[c, kh·kw]`, output
/// `[oh, ow, c]` i32 with padding filled by `pad_value`.
#[allow(clippy::too_many_arguments)]
pub fn depthwise(
    input: &[u8],
    [h, w, c]: [usize; 3],
    codes: &[i8],
    [kh, kw]: [usize; 2],
    [sh, sw]: [usize; 2],
    [ph, pw]: [usize; 2],
    pad_value: u8,
    [oh, ow]: [usize; 2],
    out: &mut [i32],
) {
    for oy in 0..oh {
        for ox in 0..ow {
            for ch in 0..c {
                let mut sum = 0i32;
                for ky in 0..kh {
                    for kx in 0..kw {
                        let y = (oy * sh + ky) as isize - ph as isize;
                        let x = (ox * sw + kx) as isize - pw as isize;
                        let v = if y < 0 || x < 0 || y >= h as isize || x >= w as isize {
                            pad_value
                        } else {
                            input[(y as usize * w + x as usize) * c + ch]
                        };
                        sum += v as i32 * codes[ch * kh * kw + ky * kw + kx] as i32;
                    }
                }
                out[(oy * ow + ox) * c + ch] = sum;
            }
        }
    }
}
