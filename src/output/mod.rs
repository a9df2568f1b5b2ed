//! Records written by the tools (JSON Lines, documented in docs/FORMAT.md) and the sinks that
//! write them.

pub mod csv;
mod files;
mod flows;
mod follow;
pub mod jsonl;
pub mod mqtt;
mod records;
pub mod semonitor;
pub mod sinks;
pub mod sqlite;
pub mod state;

pub use files::{file_name, FileWriter};
pub use flows::{FlowList, Totals};
pub use follow::{Follow, FollowFormat, OnlyConn};
pub use jsonl::{flow_record, json_str, FORMAT_VERSION};
pub use records::{item_envelope, item_record, ExtractOutput, ExtractWriter};
pub use semonitor::{py_float, Semonitor, SemonitorError};
