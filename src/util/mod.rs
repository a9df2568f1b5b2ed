//! Small helpers every layer shares: one hex codec ([`hex`]), JSON output ([`json`]), one
//! bounds-checked byte reader ([`bytes`]) and one calendar algorithm ([`date`]).

pub mod bytes;
pub mod date;
pub mod hex;
pub mod json;
