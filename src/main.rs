//! `fgf`: the command line of fgf-tagger. Parses the arguments and hands
//! them to [`fgf_tagger::cli`], where each subcommand has its module.

use std::process::ExitCode;

use clap::Parser;
use fgf_tagger::cli::{Cli, Command};

/// Huge pages for the dictionary trie, vocabulary and weights (see
/// [`fgf_grpc::huge_pages`]).
#[global_allocator]
static ALLOCATOR: fgf_grpc::huge_pages::HugePageAllocator = fgf_grpc::huge_pages::HugePageAllocator;

fn main() -> ExitCode {
    // Before any thread starts: big buffers are mapped and unmapped on
    // their own, so a multi-megabyte document does not leave RSS behind.
    fgf_grpc::memory::return_large_blocks_to_the_os();
    let cli = Cli::parse();
    let access_log = matches!(&cli.command, Command::Serve(args) if args.access_log);
    fgf_grpc::logging::init(cli.log_format, access_log);
    match fgf_tagger::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fgf: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
