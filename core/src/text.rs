//! Tables of short texts (the reasons errors give), packed when this
//! compiles into one string and a table of where each text starts.
//!
//! An array of `&str` costs a pointer and a length per text (8 bytes in
//! wasm32 and on a Cortex-M, 16 on 64-bit targets), data that compresses
//! poorly; the packed form costs 2 bytes per text and a bounds check to
//! read. The texts stay written as arrays of `&str` in the source, and
//! their tests compare each one read back with its source.

/// The bytes of `texts`, end to end (`L` is [`packed_len`] of them).
pub(crate) const fn pack<const L: usize>(texts: &[&str]) -> [u8; L] {
    let mut out = [0; L];
    let mut at = 0;
    let mut i = 0;
    while i < texts.len() {
        let bytes = texts[i].as_bytes();
        let mut j = 0;
        while j < bytes.len() {
            out[at] = bytes[j];
            at += 1;
            j += 1;
        }
        i += 1;
    }
    assert!(at == L, "L is not the texts' total length");
    out
}

/// The total length of `texts`.
pub(crate) const fn packed_len(texts: &[&str]) -> usize {
    let mut len = 0;
    let mut i = 0;
    while i < texts.len() {
        len += texts[i].len();
        i += 1;
    }
    len
}

/// Where each of `texts` starts in [`pack`]'s bytes, then where the last
/// one ends (`M` is one more than the number of texts).
pub(crate) const fn starts<const M: usize>(texts: &[&str]) -> [u16; M] {
    assert!(M == texts.len() + 1, "M is not one more than the texts");
    let mut out = [0; M];
    let mut i = 0;
    while i < texts.len() {
        let end = out[i] as usize + texts[i].len();
        assert!(end <= u16::MAX as usize, "texts too long for u16 offsets");
        out[i + 1] = end as u16;
        i += 1;
    }
    out
}

/// `bytes` as text; fails the build if they are not UTF-8 (they are the
/// concatenation of strings, so they are).
pub(crate) const fn as_str(bytes: &[u8]) -> &str {
    match core::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(_) => panic!("packed texts are not UTF-8"),
    }
}

/// Text `i` of a packed table: `text` from `starts[i]` to `starts[i + 1]`
/// (empty if `i` is out of range, which the callers' indexes never are).
pub(crate) fn pick(text: &'static str, starts: &[u16], i: usize) -> &'static str {
    match (starts.get(i), starts.get(i + 1)) {
        (Some(&a), Some(&b)) => text.get(usize::from(a)..usize::from(b)),
        _ => None,
    }
    .unwrap_or_default()
}

/// [`pick`] as bytes, for what writes the text to the wire: no check that
/// the bounds fall between characters, which the texts' owners do not
/// need (about 100 bytes of wasm less).
pub(crate) fn pick_bytes(text: &'static str, starts: &[u16], i: usize) -> &'static [u8] {
    // Clamped rather than checked: start <= end <= len whatever the table
    // holds, which the compiler sees, so no branch and no failure path.
    let bytes = text.as_bytes();
    let at = |i: usize| starts.get(i).map_or(0, |&s| usize::from(s));
    let end = at(i + 1).min(bytes.len());
    let start = at(i).min(end);
    bytes.get(start..end).unwrap_or_default()
}
