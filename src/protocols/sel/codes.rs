//! SEL names: binary message type codes (sel.md §1 table), the labels of the ASCII units
//! (sel.md §3.1, §3.2) and the SEL ASCII command words (sel.md §3.1, §3.3).

use std::fmt;

/// Label of a text line.
pub const LINE: &str = "ascii-line";
/// Label of a compressed-ASCII line (sel.md §3.2).
pub const CASCII: &str = "cascii-line";
/// Label of a prompt (`=`, `=>`, `=>>`, `==>`, `==>>`, `Password: ?`; sel.md §3.1).
pub const PROMPT: &str = "ascii-prompt";

/// SEL ASCII commands (sel.md §3.1, §3.3): weak evidence as the first word of a line.
pub const COMMANDS: [&str; 32] = [
    "ACC", "2AC", "BAC", "CAL", "PAS", "QUI", "EXI", "ID", "DNA", "BNA", "SNS", "CAS", "CST",
    "CEV", "CHI", "CSU", "ENA", "MET", "STA", "SER", "HIS", "EVE", "SHO", "SET", "OPE", "CLO",
    "PUL", "TAR", "FIL", "DAT", "TIM", "TRI",
];
/// Access-level commands (sel.md §3.1 "Login").
pub const ACCESS: [&str; 4] = ["ACC", "2AC", "BAC", "CAL"];

/// The type byte after `A5` (sel.md §1 table). Types no source names are kept and shown as
/// `unknown-0x41`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MsgType(pub u8);

/// How a framed message is checked (sel.md §1 "Checksums").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// One-byte sum of every byte before it.
    Sum8,
    /// CRC-16/MODBUS over every byte before it, sent big-endian (`A546` only).
    Crc16,
}

impl Check {
    /// Bytes the check takes at the end of the message.
    pub fn size(self) -> usize {
        match self {
            Check::Sum8 => 1,
            Check::Crc16 => 2,
        }
    }
}

impl MsgType {
    /// `A5C0` Relay Definition Block (§2.1).
    pub const RELAY_DEFINITION: MsgType = MsgType(0xC0);
    /// `A5C1` Fast Meter configuration (§2.2).
    pub const FM_CONFIG: MsgType = MsgType(0xC1);
    /// `A5D1` Fast Meter data (§2.3).
    pub const FM_DATA: MsgType = MsgType(0xD1);
    /// `A5CE` Fast Operate configuration (§2.4).
    pub const FO_CONFIG: MsgType = MsgType(0xCE);
    /// `A5B9` clear status bits: always the bare 2 bytes (§1 table).
    pub const CLEAR_STATUS: MsgType = MsgType(0xB9);
    /// `A546` Fast Message, checked by CRC-16 (§2.5).
    pub const FAST_MSG: MsgType = MsgType(0x46);

    /// Name of a message framed with length and check (sel.md §1 table), `None` for a type
    /// that is not framed that way.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0xC0 => "A5C0",
            0xC1 => "A5C1",
            0xC2 => "A5C2",
            0xC3 => "A5C3",
            0xD1 => "A5D1",
            0xD2 => "A5D2",
            0xD3 => "A5D3",
            0xCE => "A5CE",
            0xCF => "A5CF",
            0xCD => "A5CD",
            0xE0 => "A5E0",
            0xE3 => "A5E3",
            0xE5 => "A5E5",
            0xE6 => "A5E6",
            0xE7 => "A5E7",
            0xE8 => "A5E8",
            0xE9 => "A5E9",
            0xED => "A5ED",
            0x46 => "A546",
            _ => return None,
        })
    }

    /// Name of the bare 2-byte request `A5 t` (sel.md §1: "Requests from the master are
    /// usually the bare 2 bytes"), `None` if the type is not sent that way.
    pub fn request_name(self) -> Option<&'static str> {
        Some(match self.0 {
            0xC0 => "A5C0-req",
            0xC1 => "A5C1-req",
            0xC2 => "A5C2-req",
            0xC3 => "A5C3-req",
            0xD1 => "A5D1-req",
            0xD2 => "A5D2-req",
            0xD3 => "A5D3-req",
            0xCE => "A5CE-req",
            0xCF => "A5CF-req",
            0xCD => "A5CD-req",
            0xB9 => "A5B9-req",
            _ => return None,
        })
    }

    /// Framed with length and check.
    pub fn is_framed(self) -> bool {
        self.name().is_some()
    }

    /// `A5 t` may be a complete 2-byte request.
    pub fn is_request(self) -> bool {
        self.request_name().is_some()
    }

    /// A type this module knows, framed or 2-byte.
    pub fn is_known(self) -> bool {
        self.is_framed() || self.is_request()
    }

    /// The check that ends a framed message of this type: CRC-16 for `A546`, sum8 for every
    /// other type (sel.md §1 "Checksums").
    pub fn check(self) -> Check {
        if self == MsgType::FAST_MSG {
            Check::Crc16
        } else {
            Check::Sum8
        }
    }
}

/// `A5C0`…, or `unknown-0x41` for a type no source names.
impl fmt::Display for MsgType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name().or(self.request_name()) {
            Some(n) => f.write_str(&n[..4]),
            None => write!(f, "unknown-0x{:02x}", self.0),
        }
    }
}

/// Name of a framed message of type `t`; see [`MsgType::name`].
pub fn message_name(t: u8) -> Option<&'static str> {
    MsgType(t).name()
}

/// Name of the bare 2-byte request `A5 t`; see [`MsgType::request_name`].
pub fn request_name(t: u8) -> Option<&'static str> {
    MsgType(t).request_name()
}

/// `A5 t` may be a complete 2-byte request.
pub fn is_request_type(t: u8) -> bool {
    MsgType(t).is_request()
}

/// A type byte this module knows, framed or 2-byte.
pub fn is_known_type(t: u8) -> bool {
    MsgType(t).is_known()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_unknown_codes() {
        assert_eq!(MsgType(0xC0).to_string(), "A5C0");
        assert_eq!(MsgType(0xB9).to_string(), "A5B9");
        assert_eq!(MsgType(0x46).to_string(), "A546");
        assert_eq!(MsgType(0x41).to_string(), "unknown-0x41");
        assert_eq!(MsgType(0xB9).name(), None);
        assert_eq!(MsgType(0xB9).request_name(), Some("A5B9-req"));
        assert_eq!(MsgType(0xE0).request_name(), None);
        assert!(MsgType(0xE0).is_framed() && !MsgType(0xE0).is_request());
        assert!(!MsgType(0xFF).is_known());
        assert_eq!(MsgType::FAST_MSG.check(), Check::Crc16);
        assert_eq!(MsgType(0xE0).check(), Check::Sum8);
        // Every name is `A5` and the type in upper-case hex.
        for t in 0..=255u8 {
            let m = MsgType(t);
            for n in [m.name(), m.request_name()].into_iter().flatten() {
                assert_eq!(&n[..4], format!("A5{t:02X}"));
            }
        }
        assert!(ACCESS.iter().all(|a| COMMANDS.contains(a)));
    }
}
