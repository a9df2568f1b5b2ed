//! The library's pipelines: [`packets`] (capture inputs → packets → segments → reassembled
//! stream events handed to a [`Sink`](crate::reassembly::Sink), with progress, warnings and
//! counters) and [`decode`] (frame records or raw streams → typed messages → a
//! [`Sink`](crate::output::sinks::Sink)).

pub mod decode;
pub mod packets;

pub use packets::{run, FollowConfig, Progress, RunConfig, RunReport};
