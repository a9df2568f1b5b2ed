//! Shared by the decode targets: the input after its flag byte, cut on a marker into frames.

/// `rest` split on every occurrence of `mark` (the pieces may be empty).
pub fn pieces<'a>(mut rest: &'a [u8], mark: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    while let Some(i) = rest.windows(mark.len()).position(|w| w == mark) {
        out.push(&rest[..i]);
        rest = &rest[i + mark.len()..];
    }
    out.push(rest);
    out
}
