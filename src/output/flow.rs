//! The `flow` record: one line per connection direction (TCP) or flow direction (UDP).

use super::jsonl::{json_str, FORMAT_VERSION};
use crate::protocols::Protocol;
use crate::reassembly::{ConnInfo, Dir, DirStats};
use std::io::Write;

fn pairs(out: &mut Vec<u8>, v: &[(u64, u64)]) {
    out.push(b'[');
    for (i, (a, b)) in v.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let _ = write!(out, "[{a},{b}]");
    }
    out.push(b']');
}

/// Appends one `flow` record and its newline. `sha256` is the hex digest of the delivered
/// bytes, when computed; `proto` the protocol found in the direction (seextract).
pub fn flow_record(
    o: &mut Vec<u8>,
    info: &ConnInfo,
    dir: Dir,
    st: &DirStats,
    sha256: Option<&str>,
    proto: Option<Protocol>,
) {
    let ep = info.endpoints(dir);
    let _ = write!(
        o,
        "{{\"v\":{FORMAT_VERSION},\"type\":\"flow\",\"conn\":{},\"transport\":\"{}\",\"src\":\"{}\",\"sport\":{},\"dst\":\"{}\",\"dport\":{},\"dir\":\"{}\",\"vlan\":",
        info.id,
        info.transport.as_str(),
        ep.src_ip(),
        ep.sport,
        ep.dst_ip(),
        ep.dport,
        dir.as_str()
    );
    let vlans = ep.vlan_ids();
    if vlans.is_empty() {
        o.extend_from_slice(b"null");
    } else {
        let _ = write!(
            o,
            "[{}]",
            vlans
                .iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(",")
        );
    }
    let ts = |t: Option<crate::capture::Timestamp>| t.map_or("null".to_string(), |t| t.to_string());
    let _ = write!(
        o,
        ",\"first_ts\":{},\"last_ts\":{},\"packets\":{},\"bytes\":{},\"sha256\":",
        ts(st.first_ts),
        ts(st.last_ts),
        st.packets,
        st.bytes
    );
    match sha256 {
        Some(h) => json_str(o, h),
        None => o.extend_from_slice(b"null"),
    }
    o.extend_from_slice(b",\"gaps\":");
    pairs(o, &st.gaps);
    o.extend_from_slice(b",\"conflicts\":");
    pairs(o, &st.conflicts);
    let _ = write!(
        o,
        ",\"retx_bytes\":{},\"keepalives\":{},\"midstream\":{},\"isn\":{},\"end\":\"{}\"",
        st.retx_bytes,
        st.keepalives,
        st.midstream,
        st.isn.map_or("null".to_string(), |i| i.to_string()),
        st.end.map_or("eof", |e| e.as_str())
    );
    if let Some(p) = proto {
        let _ = write!(o, ",\"proto\":\"{}\"", p.name());
    }
    o.extend_from_slice(b"}\n");
}
