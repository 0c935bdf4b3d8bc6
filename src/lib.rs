//! The `fgf` binary's own tools, over the workspace's crates
//! (`fgf_core`: the engine; `fgf_train`: training and evaluation;
//! `fgf_grpc`: the service and its client plumbing).
//!
//! [`cli`] is the command line (one module per subcommand); [`batch`] is `fgf tag` (inputs, balanced TagStreams, retries, ordered
//! output, resume, `--local`; its JSON is `fgf_grpc::json`),
//! [`loadgen`] is `fgf bench` and [`soak`] is `fgf soak`.

pub mod batch;
pub mod cli;
pub mod loadgen;
pub mod soak;
