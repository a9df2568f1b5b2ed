//! Records written by the tools (JSON Lines, documented in docs/FORMAT.md).

mod decoded;
mod files;
mod flow;
mod flows;
mod follow;
mod records;
pub mod semonitor;

pub use decoded::{decoded_record, unhex, InRecord};
pub use files::{file_name, FileWriter};
pub use flow::{flow_record, FORMAT_VERSION};
pub use flows::{FlowList, Totals};
pub use follow::{Follow, FollowFormat};
pub use records::{item_record, item_record_raw, push_hex, ExtractOutput, ExtractWriter};
pub use semonitor::{py_float, Semonitor, SemonitorError};

use std::fmt::Write;

/// Appends `s` as a JSON string literal.
pub fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
