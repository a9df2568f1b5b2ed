//! `decoded` records (docs/FORMAT.md): the envelope of the `frame` record they come from,
//! copied verbatim, followed by the protocol decoder's fields.

use serde::Deserialize;
use serde_json::value::RawValue;

/// A record read back from `seextract` output. Envelope values are kept as raw JSON text so
/// they are copied exactly (timestamps keep all their digits).
#[derive(Deserialize, Debug)]
pub struct InRecord<'a> {
    #[serde(rename = "type")]
    pub ty: &'a str,
    pub proto: Option<&'a str>,
    #[serde(borrow)]
    pub ts: Option<&'a RawValue>,
    #[serde(borrow)]
    pub file: Option<&'a RawValue>,
    #[serde(borrow)]
    pub pkt: Option<&'a RawValue>,
    #[serde(borrow)]
    pub conn: Option<&'a RawValue>,
    #[serde(borrow)]
    pub transport: Option<&'a RawValue>,
    #[serde(borrow)]
    pub src: Option<&'a RawValue>,
    #[serde(borrow)]
    pub sport: Option<&'a RawValue>,
    #[serde(borrow)]
    pub dst: Option<&'a RawValue>,
    #[serde(borrow)]
    pub dport: Option<&'a RawValue>,
    #[serde(borrow)]
    pub dir: Option<&'a RawValue>,
    #[serde(borrow)]
    pub offset: Option<&'a RawValue>,
    #[serde(borrow)]
    pub len: Option<&'a RawValue>,
    pub hex: Option<&'a str>,
}

/// Decodes lower- or upper-case hex; None on an odd length or a non-hex character.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    fn nib(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks_exact(2)
        .map(|p| Some(nib(p[0])? << 4 | nib(p[1])?))
        .collect()
}

/// Writes `{"v":1,"type":"decoded",<envelope>,<fields of the body>}` and a newline, where
/// `body` appends one JSON object (the decoder's output) to the buffer it is given. The body is
/// written in place: its opening brace becomes the comma after the envelope.
pub fn decoded_record(rec: &InRecord<'_>, body: impl FnOnce(&mut Vec<u8>), out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"v\":1,\"type\":\"decoded\"");
    let fields: [(&str, Option<&RawValue>); 12] = [
        ("ts", rec.ts),
        ("file", rec.file),
        ("pkt", rec.pkt),
        ("conn", rec.conn),
        ("transport", rec.transport),
        ("src", rec.src),
        ("sport", rec.sport),
        ("dst", rec.dst),
        ("dport", rec.dport),
        ("dir", rec.dir),
        ("offset", rec.offset),
        ("len", rec.len),
    ];
    for (k, v) in fields {
        if let Some(v) = v {
            out.extend_from_slice(b",\"");
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(b"\":");
            out.extend_from_slice(v.get().as_bytes());
        }
    }
    let at = out.len();
    body(out);
    match out.get(at..) {
        Some([b'{', .., b'}']) if out.len() - at > 2 => out[at] = b',',
        _ => {
            out.truncate(at);
            out.push(b'}');
        }
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_copied_verbatim() {
        let line = r#"{"v":1,"type":"frame","proto":"c37118","ts":1218021007.700230,"file":"a \"b\".pcap","pkt":4,"conn":1,"transport":"tcp","src":"192.168.0.20","sport":36835,"dst":"192.168.0.241","dport":4712,"dir":"c2s","kind":"cmd","offset":0,"len":18,"hex":"AA41"}"#;
        let rec: InRecord = serde_json::from_str(line).unwrap();
        assert_eq!(unhex(rec.hex.unwrap()), Some(vec![0xaa, 0x41]));
        let mut out = Vec::new();
        decoded_record(
            &rec,
            |o| o.extend_from_slice(br#"{"proto":"c37118","frame":"cmd"}"#),
            &mut out,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"v\":1,\"type\":\"decoded\",\"ts\":1218021007.700230,\"file\":\"a \\\"b\\\".pcap\",\"pkt\":4,\"conn\":1,\"transport\":\"tcp\",\"src\":\"192.168.0.20\",\"sport\":36835,\"dst\":\"192.168.0.241\",\"dport\":4712,\"dir\":\"c2s\",\"offset\":0,\"len\":18,\"proto\":\"c37118\",\"frame\":\"cmd\"}\n"
        );
        let mut empty = Vec::new();
        decoded_record(&rec, |o| o.extend_from_slice(b"{}"), &mut empty);
        assert!(empty.ends_with(b"\"len\":18}\n"));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
    }
}
