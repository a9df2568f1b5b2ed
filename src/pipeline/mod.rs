//! The library's pipelines: [`decode`] turns frame records or raw streams into typed messages
//! for a sink.

pub mod decode;
