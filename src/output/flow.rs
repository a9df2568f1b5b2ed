//! The `flow` record: one line per connection direction (TCP) or flow direction (UDP).

use super::json_str;
use crate::reassembly::{ConnInfo, Dir, DirStats};
use std::fmt::Write;

/// Version of the record format; bumped on incompatible changes.
pub const FORMAT_VERSION: u32 = 1;

fn pairs(out: &mut String, v: &[(u64, u64)]) {
    out.push('[');
    for (i, (a, b)) in v.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "[{a},{b}]");
    }
    out.push(']');
}

/// One `flow` record (without the newline). `sha256` is the hex digest of the delivered bytes,
/// when computed.
pub fn flow_record(info: &ConnInfo, dir: Dir, st: &DirStats, sha256: Option<&str>) -> String {
    let ep = info.endpoints(dir);
    let mut o = String::with_capacity(384);
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
        o.push_str("null");
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
        Some(h) => json_str(&mut o, h),
        None => o.push_str("null"),
    }
    o.push_str(",\"gaps\":");
    pairs(&mut o, &st.gaps);
    o.push_str(",\"conflicts\":");
    pairs(&mut o, &st.conflicts);
    let _ = write!(
        o,
        ",\"retx_bytes\":{},\"keepalives\":{},\"midstream\":{},\"isn\":{},\"end\":\"{}\"}}",
        st.retx_bytes,
        st.keepalives,
        st.midstream,
        st.isn.map_or("null".to_string(), |i| i.to_string()),
        st.end.map_or("eof", |e| e.as_str())
    );
    o
}
