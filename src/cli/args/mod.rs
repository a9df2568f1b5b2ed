//! The command lines of the tools, as clap definitions in the library, so that shell
//! completions and man pages can be generated from them (`sekit-gen`).

pub mod se2csv;
pub mod se2state;
pub mod sedecode;
pub mod seextract;
pub mod sefollow;
pub mod sereplay;
