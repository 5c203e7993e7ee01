//! The messages the deflate benchmark (`benches/deflate.rs`) and the
//! instruction-count driver (`examples/deflate_work.rs`) compress, shared
//! so that the two measure the same bytes.

/// Text of `len` bytes: words drawn at random (fixed seed), so it
/// compresses as prose does.
pub fn text(len: usize) -> Vec<u8> {
    let words = [
        "websocket ",
        "frame ",
        "deflate ",
        "window ",
        "message ",
        "engine ",
    ];
    let mut seed = 7u32;
    let mut out = Vec::new();
    while out.len() < len {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
        out.extend_from_slice(words[(seed >> 16) as usize % words.len()].as_bytes());
    }
    out.truncate(len);
    out
}

/// Binary of `len` bytes: little-endian 16-bit sensor-like samples (a
/// slow sine with a little noise), which compress poorly.
pub fn binary(len: usize) -> Vec<u8> {
    (0..len / 2)
        .flat_map(|i| {
            ((2048.0 + 1000.0 * (i as f64 / 50.0).sin()) as u16
                + (i as u16).wrapping_mul(7919) % 13)
                .to_le_bytes()
        })
        .collect()
}
