//! Link layers: Ethernet (802.1Q, QinQ), Linux SLL and SLL2, BSD NULL/LOOP and raw IP.
//! Layouts: tcpdump.org link-layer header types (LINKTYPE_ETHERNET 1, NULL 0, LOOP 108,
//! RAW 101 (and 12/14 on some BSDs), IPV4 228, IPV6 229, LINUX_SLL 113, LINUX_SLL2 276).

use super::{Skip, Vlans, NO_VLAN};

/// The network-layer part of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link<'a> {
    /// EtherType of the payload (0x0800 IPv4, 0x86dd IPv6, …).
    pub ethertype: u16,
    pub vlan: Vlans,
    pub payload: &'a [u8],
}

/// 802.1Q, 802.1ad and the older QinQ tag types.
fn is_vlan_tpid(et: u16) -> bool {
    matches!(et, 0x8100 | 0x88a8 | 0x9100)
}

fn ip_by_version(payload: &[u8]) -> u16 {
    match payload.first().map(|b| b >> 4) {
        Some(4) => 0x0800,
        Some(6) => 0x86dd,
        _ => 0,
    }
}

/// BSD address families that mean IPv6 (NetBSD/OpenBSD 24, FreeBSD 28, Darwin 30).
fn af_to_ethertype(af: u32) -> u16 {
    match af {
        2 => 0x0800,
        24 | 28 | 30 => 0x86dd,
        _ => 0,
    }
}

#[inline]
pub fn strip_link(linktype: u32, d: &[u8]) -> Result<Link<'_>, Skip> {
    let short = Skip::Malformed("link header cut off");
    match linktype {
        1 => {
            if d.len() < 14 {
                return Err(short);
            }
            let mut et = u16::from_be_bytes([d[12], d[13]]);
            let mut off = 14;
            let mut vlan = [NO_VLAN; 2];
            let mut tags = 0;
            while is_vlan_tpid(et) {
                if d.len() < off + 4 {
                    return Err(short);
                }
                if tags < 2 {
                    vlan[tags] = u16::from_be_bytes([d[off], d[off + 1]]) & 0x0fff;
                }
                tags += 1;
                et = u16::from_be_bytes([d[off + 2], d[off + 3]]);
                off += 4;
            }
            Ok(Link {
                ethertype: et,
                vlan,
                payload: &d[off..],
            })
        }
        113 => {
            if d.len() < 16 {
                return Err(short);
            }
            Ok(Link {
                ethertype: u16::from_be_bytes([d[14], d[15]]),
                vlan: [NO_VLAN; 2],
                payload: &d[16..],
            })
        }
        276 => {
            if d.len() < 20 {
                return Err(short);
            }
            Ok(Link {
                ethertype: u16::from_be_bytes([d[0], d[1]]),
                vlan: [NO_VLAN; 2],
                payload: &d[20..],
            })
        }
        0 | 108 => {
            if d.len() < 4 {
                return Err(short);
            }
            // The family is in the capturing host's byte order (NULL) or network order (LOOP);
            // accept either.
            let raw = [d[0], d[1], d[2], d[3]];
            let mut et = af_to_ethertype(u32::from_le_bytes(raw));
            if et == 0 {
                et = af_to_ethertype(u32::from_be_bytes(raw));
            }
            Ok(Link {
                ethertype: et,
                vlan: [NO_VLAN; 2],
                payload: &d[4..],
            })
        }
        101 | 12 | 14 | 228 | 229 => Ok(Link {
            ethertype: ip_by_version(d),
            vlan: [NO_VLAN; 2],
            payload: d,
        }),
        other => Err(Skip::Linktype(other)),
    }
}
