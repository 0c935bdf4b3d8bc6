//! The integration tests, one binary (`autotests = false` in Cargo.toml):
//! linking the whole workspace once instead of once per file. Each module
//! starts what it tests for real: the `fgf` binary on a free port
//! ([`common::TestServer`]), the CLI, the committed model.

mod architecture;
mod batch;
mod browser;
mod cli;
mod common;
mod deploy;
mod formats;
mod fuzz_regressions;
mod grpc;
mod http;
mod layout;
mod logging;
mod model;
mod reload;
mod tls;
