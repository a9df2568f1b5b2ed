//! The pipeline: capture inputs → packets → segments → reassembled stream events handed to a
//! [`Sink`](crate::reassembly::Sink), with progress, warnings and counters.

pub mod packets;

pub use packets::{run, FollowConfig, Progress, RunConfig, RunReport};
