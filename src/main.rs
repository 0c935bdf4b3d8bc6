//! `fgf`: the command line over the fgf-tagger library.

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use fgf_core::features::FeatureParams;
use fgf_core::model::Loss;
use fgf_core::model::TrainParams;
use fgf_core::spans::LineMode;
use fgf_core::tagger::{TagOptions, Tagger};
use fgf_core::tokenize::{DomainDictionary, Tokenizer};
use fgf_grpc::logging::LogFormat;
use fgf_grpc::server::{self, ServeConfig};
use fgf_grpc::service::Limits;
use fgf_train::compare;
use fgf_train::layout;
use fgf_train::train::{self, ModelsDir};

#[derive(Parser)]
#[command(
    name = "fgf",
    version,
    about = "Tags Chinese government documents by the 放管服 reform"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log lines on stderr as text (coloured only on a terminal) or as one
    /// JSON object per line, for log collectors.
    #[arg(
        long,
        global = true,
        value_enum,
        env = "FGF_LOG_FORMAT",
        default_value_t
    )]
    log_format: LogFormat,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the fgf.v1.Tagger gRPC API (with health and reflection).
    Serve {
        /// Address to listen on, HOST:PORT (an IP or a host name such as
        /// localhost); port 0 picks a free port. Addresses other than
        /// loopback need --listen-public.
        #[arg(long, default_value = "127.0.0.1:50051")]
        addr: String,
        /// Model file written by `fgf train` (default: $FGF_MODEL, ./models/fgf.model,
        /// PREFIX/share/fgf/fgf.model beside the binary, the build checkout's).
        #[arg(long, value_name = "FILE")]
        model: Option<PathBuf>,
        /// Largest accepted document in bytes; larger ones get INVALID_ARGUMENT
        /// (in a TagStream, as that document's answer). At most
        /// --max-inflight-bytes.
        #[arg(long, default_value_t = fgf_grpc::service::DEFAULT_MAX_DOC_BYTES)]
        max_doc_bytes: usize,
        /// Bytes of documents worked on at once (all calls together); a
        /// document that would go over it gets RESOURCE_EXHAUSTED at once.
        /// Sets the memory the server needs: see deploy/README.md.
        #[arg(long, default_value_t = fgf_grpc::service::DEFAULT_MAX_INFLIGHT_BYTES)]
        max_inflight_bytes: usize,
        /// Tokio worker threads (default: number of cores).
        #[arg(long)]
        workers: Option<usize>,
        /// Documents tagged at the same time (default: number of cores).
        #[arg(long)]
        cpu_jobs: Option<usize>,
        /// Documents a TagStream call works on at once.
        #[arg(long, default_value_t = 16)]
        stream_window: usize,
        /// Require `authorization: Bearer <token>` on every call but health;
        /// the token is read from this file (or from FGF_AUTH_TOKEN).
        #[arg(long)]
        auth_token_file: Option<PathBuf>,
        /// Allow --addr and --metrics-addr to be non-loopback addresses
        /// (reachable from other machines).
        #[arg(long)]
        listen_public: bool,
        /// Documents allowed to wait for a CPU slot; more are refused with
        /// RESOURCE_EXHAUSTED at once.
        #[arg(long, default_value_t = 256)]
        max_queue: usize,
        /// Documents up to this many bytes are tagged on the thread that
        /// received them, larger ones on the blocking pool (0: always the pool).
        #[arg(long, default_value_t = fgf_grpc::service::DEFAULT_INLINE_MAX_BYTES)]
        inline_max_bytes: usize,
        /// Tagger calls one connection may have open at once; more are refused
        /// with RESOURCE_EXHAUSTED at once (0: no per-connection limit).
        #[arg(long, default_value_t = 64)]
        max_conn_calls: usize,
        /// Serve TLS with this PEM certificate chain (needs --tls-key).
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// PEM private key of --tls-cert.
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Mutual TLS: accept only clients with a certificate signed by this PEM CA.
        #[arg(long, requires = "tls_cert")]
        tls_client_ca: Option<PathBuf>,
        /// Serve Prometheus metrics at http://ADDR/metrics (off by default);
        /// HOST:PORT as for --addr, non-loopback needs --listen-public.
        #[arg(long)]
        metrics_addr: Option<String>,
        /// Log one line per call at info (target fgf::access): rpc, peer,
        /// document id, status, bytes in and out, microseconds.
        #[arg(long)]
        access_log: bool,
    },
    /// Train the model from the corpus in the models folder and score it on
    /// the frozen test split.
    Train {
        /// Folder with taxonomy.toml, domain_dict.txt and corpus/.
        #[arg(long, default_value = "models")]
        models_dir: PathBuf,
        /// L2 regularisation (default: the committed model's setting).
        #[arg(long)]
        alpha: Option<f64>,
        /// Loss of each label's linear model (default: the committed model's).
        #[arg(long, value_enum)]
        loss: Option<LossArg>,
        /// Vocabulary cap.
        #[arg(long)]
        max_features: Option<usize>,
        /// Cross-validation folds for threshold tuning (0: no tuning).
        #[arg(long)]
        folds: Option<usize>,
        /// L-BFGS iterations per label.
        #[arg(long)]
        max_iterations: Option<u64>,
        /// Keep only this many terms, those with the largest weights after a
        /// first fit, and fit again (0: keep all).
        #[arg(long)]
        selected_features: Option<usize>,
        /// Only print the report; leave models/ untouched.
        #[arg(long)]
        dry_run: bool,
    },
    /// Compare approaches and feature sets by k-fold cross-validation on the
    /// training split and write the table to models/REPORT.md.
    Compare {
        /// Folder with taxonomy.toml, domain_dict.txt and corpus/.
        #[arg(long, default_value = "models")]
        models_dir: PathBuf,
        /// Cross-validation folds.
        #[arg(long, default_value_t = 5)]
        folds: usize,
        /// Only these approaches; default all.
        #[arg(long, value_delimiter = ',', value_enum)]
        approaches: Vec<compare::Approach>,
        /// Only these feature sets, by index (0: words ... 3: + dictionary hits).
        #[arg(long, value_delimiter = ',')]
        feature_sets: Vec<usize>,
        /// L2 strengths to sweep (default: each approach's own, svm 0.3, lr 0.003).
        #[arg(long, value_delimiter = ',')]
        alphas: Vec<f64>,
        /// Vocabulary caps to sweep (default: the committed model's, 30000).
        #[arg(long, value_delimiter = ',')]
        max_features: Vec<usize>,
        /// Where to write the markdown report (nothing written if empty).
        #[arg(long, default_value = "models/REPORT.md")]
        out: PathBuf,
    },
    /// Score a model file on the frozen test split.
    Eval {
        /// Model file written by `fgf train` (default: $FGF_MODEL, ./models/fgf.model,
        /// PREFIX/share/fgf/fgf.model beside the binary, the build checkout's).
        #[arg(long, value_name = "FILE")]
        model: Option<PathBuf>,
        /// Folder with the corpus whose frozen test split is scored.
        #[arg(long, default_value = "models")]
        models_dir: PathBuf,
        /// Also list every test sample whose labels or role came out wrong.
        #[arg(long)]
        show_errors: bool,
    },
    /// Score the tagger on real documents against line-level gold labels
    /// (the format is in the eval_real module doc and the README): pillar and
    /// theme precision/recall/F1, per-label scores, role accuracy, and
    /// boilerplate lines that got labels.
    /// Compare the service's role decision (rules, then the learned
    /// boilerplate check) with a fully learned role classifier, on the
    /// frozen test split and on real documents with gold lines.
    CompareRoles {
        /// Folder with taxonomy.toml, domain_dict.txt and corpus/.
        #[arg(long, default_value = "models")]
        models_dir: PathBuf,
        /// Model file whose feature space the learned classifier uses
        /// (default: found as for `fgf serve`).
        #[arg(long, value_name = "FILE")]
        model: Option<PathBuf>,
        /// Real documents and their gold file, as for `fgf eval-real`
        /// (repeatable).
        #[arg(long, num_args = 2, value_names = ["DOCS", "GOLD"])]
        real: Vec<PathBuf>,
        /// L2 strength of the learned classifier.
        #[arg(long, default_value_t = 0.003)]
        alpha: f64,
    },
    EvalReal {
        /// Folder holding the documents the gold file names.
        docs: PathBuf,
        /// Gold file: one JSON object per gold line.
        gold: PathBuf,
        /// Model file (default: found as for `fgf serve`).
        #[arg(long, value_name = "FILE")]
        model: Option<PathBuf>,
        /// Also list every gold line the tagger got wrong.
        #[arg(long)]
        show_errors: bool,
    },
    /// Segment text with jieba and the domain dictionary (TEXT, or - for stdin).
    Segment {
        /// The text to segment, or - to read it from stdin.
        text: String,
        /// Domain dictionary file, one term per line (default: the one
        /// embedded in the model file, found as for --model).
        #[arg(long, value_name = "FILE")]
        dict: Option<PathBuf>,
        /// Model file whose dictionary is used when --dict is not given.
        #[arg(long, value_name = "FILE")]
        model: Option<PathBuf>,
    },
    /// Tag one file locally, without a server (FILE, or - for stdin).
    TagOne {
        /// The text file to tag (UTF-8), or - to read it from stdin.
        file: PathBuf,
        /// Model file written by `fgf train` (default: $FGF_MODEL, ./models/fgf.model,
        /// PREFIX/share/fgf/fgf.model beside the binary, the build checkout's).
        #[arg(long, value_name = "FILE")]
        model: Option<PathBuf>,
        /// Show sentence spans too.
        #[arg(long)]
        sentences: bool,
        /// One paragraph per line: no reconstruction of hard-wrapped text.
        #[arg(long)]
        lines: bool,
        /// Show the evidence terms of every label.
        #[arg(long)]
        evidence: bool,
    },
    /// Tag many documents: files, folders (*.txt, *.md), JSONL files with
    /// {"id","text"} per line, or - for JSONL on stdin. Writes one
    /// proto-JSON TagResponse per line, in input order. Exit code 0 when
    /// every document was tagged, 1 when some failed, 2 when a server cannot
    /// be used (checked before any input is read, and watched during the
    /// run), 130 on Ctrl-C.
    Tag {
        /// Inputs: text files, folders, JSONL files, or - for JSONL on stdin.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Server URL, e.g. http://127.0.0.1:50051 (http:// is assumed
        /// without a scheme); repeat to balance over several.
        #[arg(long = "server")]
        servers: Vec<String>,
        /// Tag in process with --model instead of a server, one thread per core.
        #[arg(long, conflicts_with = "servers")]
        local: bool,
        /// Model file for --local (default: $FGF_MODEL, ./models/fgf.model,
        /// PREFIX/share/fgf/fgf.model beside the binary, the build checkout's).
        #[arg(long, value_name = "FILE")]
        model: Option<PathBuf>,
        /// Output JSONL file (default: stdout).
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Rejected documents, one JSON object per line, created on the first
        /// one (default: OUT.errors.jsonl, or fgf-errors.jsonl with stdout).
        #[arg(long)]
        errors: Option<PathBuf>,
        /// Also write a CSV with one row per tagged document: id, chars,
        /// body_chars, fang, guan, fu, top_themes (see README).
        #[arg(long)]
        summary: Option<PathBuf>,
        /// Continue an interrupted run: documents already in --out are
        /// skipped (an id written k times skips its first k occurrences),
        /// a torn last line is cut off, the rest is appended.
        #[arg(long, requires = "out")]
        resume: bool,
        /// Documents read but not yet written, at most.
        #[arg(long, default_value_t = 64)]
        window: usize,
        /// Concurrent TagStream calls (default: 2 per server).
        #[arg(long)]
        streams: Option<usize>,
        /// Attempts per document answered UNAVAILABLE, DEADLINE_EXCEEDED or
        /// RESOURCE_EXHAUSTED (a broken stream is not counted).
        #[arg(long, default_value_t = 8)]
        max_attempts: u32,
        /// Stop (exit code 2) when no server has answered for this long.
        #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
        give_up_after: std::time::Duration,
        /// Add sentence spans.
        #[arg(long)]
        sentences: bool,
        /// One paragraph per line: no reconstruction of hard-wrapped text.
        #[arg(long)]
        lines: bool,
        /// Add evidence terms to every label.
        #[arg(long)]
        evidence: bool,
        /// Leave span text out of the output (offsets only; TagRequest.omit_text):
        /// the output is 5-6 times smaller with --sentences.
        #[arg(long)]
        omit_text: bool,
        /// Threads for --local (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
        /// Bearer token for servers that need one (or FGF_AUTH_TOKEN).
        #[arg(long)]
        auth_token_file: Option<PathBuf>,
        /// PEM CA certificate that https:// servers are verified against.
        #[arg(long)]
        tls_ca: Option<PathBuf>,
        /// PEM client certificate for servers that ask for one (mutual TLS).
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// PEM private key of --tls-cert.
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
    /// Load-test a server's Tag API (this one or any other speaking the
    /// proto) and report docs/s, MB/s, latency percentiles and errors.
    Bench {
        /// Server URL.
        #[arg(long, default_value = "http://127.0.0.1:50051")]
        server: String,
        /// unary (Tag) or stream (TagStream).
        #[arg(long, default_value = "unary")]
        mode: String,
        /// Concurrent calls (unary) or streams.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// Documents in flight per stream.
        #[arg(long, default_value_t = 8)]
        window: usize,
        /// How long to run (e.g. 10s).
        #[arg(long, value_parser = humantime::parse_duration)]
        duration: Option<std::time::Duration>,
        /// Or how many documents to send.
        #[arg(long)]
        count: Option<u64>,
        /// Open loop: start this many calls per second (unary).
        #[arg(long)]
        rate: Option<f64>,
        /// Warm-up before measuring.
        #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
        warmup: std::time::Duration,
        /// Documents to send (JSONL with id and text); default: generated
        /// from models/corpus/train at --doc-size bytes each.
        #[arg(long)]
        docs: Option<PathBuf>,
        /// Bytes per generated document (without --docs).
        #[arg(long, default_value_t = 10_000)]
        doc_size: usize,
        /// Write the documents used as JSONL (to reuse them elsewhere).
        #[arg(long)]
        write_docs: Option<PathBuf>,
        /// Also write the report as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Bearer token for servers that need one (or FGF_AUTH_TOKEN).
        #[arg(long)]
        auth_token_file: Option<PathBuf>,
        /// PEM CA certificate that an https:// server is verified against.
        #[arg(long)]
        tls_ca: Option<PathBuf>,
    },
    /// Soak a running server: a mix of normal, large, oversized, empty,
    /// binary-looking, malformed, impatient, streamed and Segment calls for
    /// a while; then check statuses, RSS (via --metrics) and health. Exits
    /// non-zero when the server did not hold up.
    Soak {
        /// Server URL.
        #[arg(long, default_value = "http://127.0.0.1:50051")]
        server: String,
        /// Concurrent callers.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// How long to soak (e.g. 60s, 10m).
        #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
        duration: std::time::Duration,
        /// Load before the first RSS reading, not judged.
        #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
        warmup: std::time::Duration,
        /// Pause before each RSS reading, for the server to go idle.
        #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
        settle: std::time::Duration,
        /// The server's --metrics-addr (host:port), to read its RSS.
        #[arg(long)]
        metrics: Option<String>,
        /// Also write the report as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Bearer token for servers that need one (or FGF_AUTH_TOKEN).
        #[arg(long)]
        auth_token_file: Option<PathBuf>,
        /// PEM CA certificate that an https:// server is verified against.
        #[arg(long)]
        tls_ca: Option<PathBuf>,
    },
    /// Measure paragraph reconstruction: wrap clean documents (one paragraph
    /// per line) at several widths and compare spans and labels.
    EvalLayout {
        /// Clean documents (default: the test fixtures).
        #[arg(default_value = "tests/fixtures/layout")]
        paths: Vec<PathBuf>,
        /// Model file written by `fgf train` (default: $FGF_MODEL, ./models/fgf.model,
        /// PREFIX/share/fgf/fgf.model beside the binary, the build checkout's).
        #[arg(long, value_name = "FILE")]
        model: Option<PathBuf>,
    },
}

/// `--loss`: the losses of [`Loss`] as command-line values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LossArg {
    /// Logistic regression.
    Logistic,
    /// A linear SVM (scikit-learn's `LinearSVC`).
    SquaredHinge,
}

impl From<LossArg> for Loss {
    fn from(loss: LossArg) -> Self {
        match loss {
            LossArg::Logistic => Loss::Logistic,
            LossArg::SquaredHinge => Loss::SquaredHinge,
        }
    }
}

fn main() -> ExitCode {
    // Before any thread starts: big buffers are mapped and unmapped on
    // their own, so a multi-megabyte document does not leave RSS behind.
    fgf_grpc::memory::return_large_blocks_to_the_os();
    let cli = Cli::parse();
    let access_log = matches!(
        cli.command,
        Command::Serve {
            access_log: true,
            ..
        }
    );
    fgf_grpc::logging::init(cli.log_format, access_log);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fgf: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The addresses `addr` (HOST:PORT, HOST an IP or a name) resolves to, for
/// the listener of `flag`; all must be loopback unless `listen_public`.
fn resolve_listen(flag: &str, addr: &str, listen_public: bool) -> Result<Vec<SocketAddr>> {
    use std::net::ToSocketAddrs;
    let addrs: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .with_context(|| {
            format!(
                "{flag} {addr}: not an address (HOST:PORT, e.g. 127.0.0.1:50051 or localhost:50051)"
            )
        })?
        .collect();
    if addrs.is_empty() {
        anyhow::bail!("{flag} {addr}: the host name resolves to no address");
    }
    if let Some(public) = addrs.iter().find(|a| !a.ip().is_loopback())
        && !listen_public
    {
        anyhow::bail!(
            "{flag} {addr} ({public}) is reachable from other machines; pass --listen-public to allow it"
        );
    }
    Ok(addrs)
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve {
            addr,
            model,
            max_doc_bytes,
            max_inflight_bytes,
            workers,
            cpu_jobs,
            stream_window,
            auth_token_file,
            listen_public,
            max_queue,
            inline_max_bytes,
            max_conn_calls,
            tls_cert,
            tls_key,
            tls_client_ca,
            metrics_addr,
            access_log: _,
        } => {
            let model = fgf_core::model_path::resolve(model.as_deref())?;
            let addrs = resolve_listen("--addr", &addr, listen_public)?;
            let metrics_addrs = metrics_addr
                .as_deref()
                .map(|a| resolve_listen("--metrics-addr", a, listen_public))
                .transpose()?;
            let limits = Limits {
                max_doc_bytes,
                stream_window,
                max_queue,
                inline_max_bytes,
                max_inflight_bytes,
            };
            limits.check()?;
            let auth = fgf_grpc::auth::BearerToken::configured(auth_token_file.as_deref())?;
            let read =
                |p: &PathBuf| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
            let tls = match (&tls_cert, &tls_key) {
                (Some(cert), Some(key)) => {
                    let ca = tls_client_ca.as_ref().map(read).transpose()?;
                    Some(fgf_grpc::tls::TlsSettings::from_pem(
                        &read(cert)?,
                        &read(key)?,
                        ca.as_deref(),
                    )?)
                }
                _ => None,
            };
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            let started = Instant::now();
            let tagger = Arc::new(Tagger::load(&model)?);
            tracing::info!(
                model = %model.display(),
                version = %tagger.model().version,
                millis = started.elapsed().as_millis() as u64,
                "model loaded"
            );
            let (tls_on, auth_on) = (tls.is_some(), auth.is_some());
            let mutual_tls = tls_client_ca.is_some();
            let config = ServeConfig {
                limits,
                cpu_jobs: cpu_jobs.unwrap_or(cores),
                max_conn_calls: (max_conn_calls > 0).then_some(max_conn_calls),
                auth,
                tls,
                model_path: Some(model.clone()),
                metrics: None,
            };
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers.unwrap_or(cores).max(1))
                .enable_all()
                .build()
                .context("starting the tokio runtime")?;
            runtime.block_on(async move {
                let mut config = config;
                let listener = tokio::net::TcpListener::bind(&addrs[..])
                    .await
                    .with_context(|| format!("cannot listen on {addr}"))?;
                if let (Some(addrs), Some(addr)) = (metrics_addrs, &metrics_addr) {
                    config.metrics = Some(
                        tokio::net::TcpListener::bind(&addrs[..])
                            .await
                            .with_context(|| format!("cannot serve metrics on {addr}"))?,
                    );
                }
                let local = listener.local_addr()?;
                let hup = server::reload_signal();
                // The first stdout line is the address, for scripts and tests.
                println!("fgf listening on {local}");
                tracing::info!(
                    %local,
                    tls = tls_on,
                    mutual_tls,
                    auth = auth_on,
                    "serving fgf.v1.Tagger"
                );
                server::serve(listener, tagger, config, server::shutdown_signal(), hup).await
            })?;
            tracing::info!("stopped");
            Ok(())
        }
        Command::Train {
            models_dir,
            alpha,
            loss,
            max_features,
            folds,
            max_iterations,
            selected_features,
            dry_run,
        } => {
            let dir = ModelsDir::new(models_dir);
            let mut params = TrainParams::new();
            if let Some(alpha) = alpha {
                params = params.alpha(alpha);
            }
            if let Some(loss) = loss {
                params = params.loss(loss.into());
            }
            if let Some(n) = max_features {
                params = params.features(FeatureParams {
                    max_features: n,
                    ..FeatureParams::default()
                });
            }
            if let Some(k) = folds {
                params = params.threshold_folds(k);
            }
            if let Some(n) = selected_features {
                params = params.selected_features(n);
            }
            if let Some(n) = max_iterations {
                params = params.max_iterations(n);
            }
            let params = params.check()?;
            let started = Instant::now();
            let outcome = train::train(&dir, &params)?;
            print!("{}", outcome.report);
            if dry_run {
                println!(
                    "trained in {:.1}s (dry run: nothing written)",
                    started.elapsed().as_secs_f64()
                );
            } else {
                train::write_outputs(&dir, &outcome)?;
                println!(
                    "wrote {} and {} in {:.1}s",
                    dir.model().display(),
                    dir.report().display(),
                    started.elapsed().as_secs_f64()
                );
            }
            Ok(())
        }
        Command::Eval {
            model,
            models_dir,
            show_errors,
        } => {
            let model = fgf_core::model_path::resolve(model.as_deref())?;
            let dir = ModelsDir::new(models_dir);
            let tagger = Tagger::load(&model)?;
            let (_, _, corpus) = train::load_inputs(&dir)?;
            let evaluation = train::evaluate(&tagger, &corpus.test);
            print!("{}", train::report(tagger.model(), &evaluation));
            print!("{}", train::test_parts(&tagger, &corpus.test));
            if show_errors {
                print!("{}", train::errors(&tagger, &corpus.test));
            }
            Ok(())
        }
        Command::CompareRoles {
            models_dir,
            model,
            real,
            alpha,
        } => {
            let model = fgf_core::model_path::resolve(model.as_deref())?;
            let tagger = Tagger::load(&model)?;
            let (_, _, corpus) = train::load_inputs(&ModelsDir::new(models_dir))?;
            let mut sets = Vec::new();
            let mut names = Vec::new();
            for pair in real.chunks(2) {
                names.push(pair[0].display().to_string());
                sets.push(fgf_train::role_compare::RealSet {
                    docs: pair[0].clone(),
                    gold: fgf_train::eval_real::load_gold(&pair[1])?,
                });
            }
            let scores = fgf_train::role_compare::compare(
                &tagger,
                &corpus.train,
                &corpus.test,
                &sets,
                alpha,
            )?;
            print!("{}", fgf_train::role_compare::report(&scores, &names));
            Ok(())
        }
        Command::EvalReal {
            docs,
            gold,
            model,
            show_errors,
        } => {
            let model = fgf_core::model_path::resolve(model.as_deref())?;
            let tagger = Tagger::load(&model)?;
            let gold = fgf_train::eval_real::load_gold(&gold)?;
            let scores = fgf_train::eval_real::evaluate(&tagger, &docs, &gold)?;
            print!("{}", fgf_train::eval_real::report(&scores, show_errors));
            Ok(())
        }
        Command::Segment { text, dict, model } => {
            let text = if text == "-" { read_stdin()? } else { text };
            let tagger;
            let from_file;
            let tokenizer = match dict {
                Some(dict) => {
                    from_file = Tokenizer::new(&DomainDictionary::load(&dict)?);
                    &from_file
                }
                None => {
                    let model = fgf_core::model_path::resolve(model.as_deref())?;
                    tagger = Tagger::load(&model)?;
                    tagger.tokenizer()
                }
            };
            for t in tokenizer.tokens(&text) {
                let mark = if t.in_domain_dict { "\t*" } else { "" };
                println!("{}\t{}..{}{mark}", t.word, t.start, t.end);
            }
            Ok(())
        }
        Command::TagOne {
            file,
            model,
            sentences,
            lines,
            evidence,
        } => {
            let model = fgf_core::model_path::resolve(model.as_deref())?;
            let text = if file.as_os_str() == "-" {
                read_stdin()?
            } else {
                std::fs::read_to_string(&file)
                    .with_context(|| format!("reading {}", file.display()))?
            };
            let tagger = Tagger::load(&model)?;
            let doc = tagger.tag(
                &text,
                &TagOptions {
                    sentences,
                    threshold: None,
                    line_mode: if lines {
                        LineMode::Lines
                    } else {
                        LineMode::Reflow
                    },
                    evidence,
                },
            );
            let taxonomy = &tagger.model().taxonomy;
            let show = |indent: &str, s: &fgf_core::tagger::TaggedSpan| {
                let labels: Vec<String> = s
                    .labels
                    .iter()
                    .map(|h| {
                        let mut label = format!("{}:{:.2}", taxonomy.label(h.index).code, h.score);
                        if !h.evidence.is_empty() {
                            let terms: Vec<&str> =
                                h.evidence.iter().map(|e| e.term.as_str()).collect();
                            label.push_str(&format!("({})", terms.join(",")));
                        }
                        label
                    })
                    .collect();
                println!(
                    "{indent}[{}..{}] {:<11} {:<40} {}",
                    s.span.start,
                    s.span.end,
                    s.role.as_str(),
                    labels.join(" "),
                    s.span.slice(&text).chars().take(40).collect::<String>()
                );
            };
            for span in &doc.spans {
                show("", span);
                for sentence in &span.sentences {
                    show("    ", sentence);
                }
            }
            Ok(())
        }
        Command::Compare {
            models_dir,
            folds,
            approaches,
            feature_sets,
            alphas,
            max_features,
            out,
        } => {
            let command = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
            let command = format!("fgf {command}");
            let dir = ModelsDir::new(models_dir);
            let (taxonomy, dictionary, corpus) = train::load_inputs(&dir)?;
            let params = TrainParams::new();
            params.check()?;
            let tokenizer = Tokenizer::new(&dictionary);
            let words: Vec<_> = corpus
                .train
                .iter()
                .map(|s| tokenizer.feature_words(&s.text))
                .collect();
            let gold = fgf_train::fit::gold_labels(&taxonomy, &corpus.train);
            let boilerplate: Vec<bool> = corpus
                .train
                .iter()
                .map(|s| {
                    fgf_core::role::classify(s.text.trim()) == fgf_core::role::Role::Boilerplate
                })
                .collect();
            let mut results = Vec::new();
            let caps = if max_features.is_empty() {
                vec![params.feature_params().max_features]
            } else {
                max_features
            };
            for approach in compare::Approach::all() {
                if !approaches.is_empty() && !approaches.contains(&approach) {
                    continue;
                }
                let approach_alphas: Vec<f64> = match approach.default_alpha() {
                    // Naive Bayes ignores it: one run.
                    None => vec![1.0],
                    Some(own) if alphas.is_empty() => vec![own],
                    Some(_) => alphas.clone(),
                };
                for &cap in &caps {
                    for (i, set) in compare::feature_sets(cap).iter().enumerate() {
                        if !feature_sets.is_empty() && !feature_sets.contains(&i) {
                            continue;
                        }
                        for &alpha in &approach_alphas {
                            let params = params.alpha(alpha).check()?;
                            let r = compare::cross_validate(
                                approach,
                                set,
                                params.params(),
                                compare::CvData {
                                    taxonomy: &taxonomy,
                                    words: &words,
                                    gold: &gold,
                                    boilerplate: &boilerplate,
                                },
                                folds,
                            )?;
                            eprintln!(
                                "{:<38} {:<50} alpha {:<6} {:>7} terms  theme micro-F1 {:.3} macro-F1 {:.3}  ({:.0} s)",
                                approach.name(),
                                set.name,
                                alpha,
                                cap,
                                r.evaluation.theme_micro.f1,
                                r.evaluation.theme_macro.f1,
                                r.seconds
                            );
                            results.push(r);
                        }
                    }
                }
            }
            let table = compare::markdown_table(&results);
            print!("{table}");
            if !out.as_os_str().is_empty() {
                let report = compare::report(
                    &results,
                    &command,
                    folds,
                    corpus.train.len(),
                    &corpus.fingerprint,
                );
                std::fs::write(&out, report)
                    .with_context(|| format!("writing {}", out.display()))?;
                eprintln!("wrote {}", out.display());
            }
            Ok(())
        }
        Command::Tag {
            inputs,
            servers,
            local,
            model,
            out,
            errors,
            summary,
            resume,
            window,
            streams,
            max_attempts,
            give_up_after,
            sentences,
            lines,
            evidence,
            omit_text,
            threads,
            auth_token_file,
            tls_ca,
            tls_cert,
            tls_key,
        } => {
            use fgf_tagger::batch::{
                self, BatchOptions, Inputs, OrderedWriter, OutputPaths, Progress, Stopped,
            };
            use std::sync::atomic::{AtomicBool, Ordering};
            if !local && servers.is_empty() {
                anyhow::bail!("give --server URL (repeatable) or --local");
            }
            let identity = match (
                read_optional(tls_cert.as_deref())?,
                read_optional(tls_key.as_deref())?,
            ) {
                (Some(cert), Some(key)) => Some((cert, key)),
                _ => None,
            };
            let mut options = BatchOptions {
                window: window.max(1),
                streams: streams.unwrap_or(2 * servers.len().max(1)),
                max_attempts: max_attempts.max(1),
                request: fgf_grpc::pb::TagRequest {
                    granularity: if sentences {
                        fgf_grpc::pb::Granularity::Sentence as i32
                    } else {
                        0
                    },
                    line_mode: if lines {
                        fgf_grpc::pb::LineMode::Lines as i32
                    } else {
                        0
                    },
                    include_evidence: evidence,
                    omit_text,
                    ..Default::default()
                },
                threads: threads.unwrap_or(BatchOptions::default().threads).max(1),
                auth_token: fgf_grpc::auth::client_token(auth_token_file.as_deref())?,
                tls: fgf_grpc::client::ClientTls {
                    ca: read_optional(tls_ca.as_deref())?,
                    identity,
                },
                give_up_after: give_up_after.max(std::time::Duration::from_secs(1)),
                ..BatchOptions::default()
            };
            let runtime = tokio::runtime::Runtime::new()?;
            // Stops with its exit code (2: servers, 130: Ctrl-C), after the
            // summary when documents were being tagged.
            let stop_with =
                |stopped: &Stopped, summary: Option<String>, hint: Option<String>| -> ! {
                    if let Some(summary) = summary {
                        eprintln!("fgf tag: {summary}");
                    }
                    match stopped {
                        Stopped::Unreachable(m) | Stopped::GaveUp(m) => {
                            eprintln!("fgf tag: error: {m}")
                        }
                        Stopped::Interrupted => eprintln!("fgf tag: interrupted"),
                    }
                    if let Some(hint) = hint {
                        eprintln!("fgf tag: {hint}");
                    }
                    std::process::exit(i32::from(stopped.exit_code()))
                };
            // Every server is checked before any input is read.
            let mut server_urls = Vec::new();
            if !local {
                match runtime.block_on(batch::preflight(&servers, &options)) {
                    Ok(infos) => {
                        for info in &infos {
                            eprintln!(
                                "fgf tag: {} answers: model {}, documents up to {} bytes",
                                info.url, info.model_version, info.max_doc_bytes
                            );
                        }
                        options.max_doc_bytes = infos.iter().map(|i| i.max_doc_bytes).min();
                        server_urls = infos.into_iter().map(|i| i.url).collect();
                    }
                    Err(e) => match e.downcast_ref::<Stopped>() {
                        Some(stopped) => stop_with(stopped, None, None),
                        None => return Err(e),
                    },
                }
            }
            let errors = errors.unwrap_or_else(|| match &out {
                Some(o) => PathBuf::from(format!("{}.errors.jsonl", o.display())),
                None => PathBuf::from("fgf-errors.jsonl"),
            });
            let documents = Inputs::new(&inputs)?;
            if let Some(first) = documents.skipped_files.first() {
                eprintln!(
                    "fgf tag: skipped {} files in the input folders that are not .txt or .md (e.g. {}); give them by path to tag them as text",
                    documents.skipped_files.len(),
                    first.display()
                );
            }
            let progress = Arc::new(Progress::with_total(Inputs::count(&inputs)?));
            let paths = OutputPaths {
                out: out.clone(),
                errors: errors.clone(),
                summary,
                resume,
            };
            // The model before the outputs, so a bad --model leaves them as they are.
            let tagger = if local {
                let model = fgf_core::model_path::resolve(model.as_deref())?;
                Some(Arc::new(Tagger::load(&model)?))
            } else {
                None
            };
            let (writer, skip) = OrderedWriter::open(&paths, progress.clone())?;
            // Ctrl-C: stop reading, write what is done, print the summary.
            let interrupted = Arc::new(AtomicBool::new(false));
            {
                let interrupted = interrupted.clone();
                runtime.spawn(async move {
                    if tokio::signal::ctrl_c().await.is_ok() {
                        interrupted.store(true, Ordering::Relaxed);
                    }
                });
            }
            let started = Instant::now();
            let stop = Arc::new(AtomicBool::new(false));
            let reporter = batch::spawn_progress(progress.clone(), stop.clone());
            let result = if let Some(tagger) = tagger {
                batch::run_local(
                    documents,
                    tagger,
                    options,
                    writer,
                    skip,
                    progress.clone(),
                    interrupted,
                )
            } else {
                runtime.block_on(batch::run_remote(
                    documents,
                    &server_urls,
                    options,
                    writer,
                    skip,
                    progress.clone(),
                    interrupted,
                ))
            };
            stop.store(true, Ordering::Relaxed);
            let _ = reporter.join();
            if let Some(report) = progress.server_report() {
                eprintln!("fgf tag: {report}");
            }
            let failed = progress.failed.load(Ordering::Relaxed);
            if let Err(e) = result {
                let Some(stopped) = e.downcast_ref::<Stopped>() else {
                    return Err(e);
                };
                if failed > 0 {
                    eprintln!(
                        "fgf tag: {failed} documents failed; see {}",
                        errors.display()
                    );
                }
                let hint = match &out {
                    Some(o) => format!(
                        "the documents written so far stay in {}; run the same command with --resume to continue",
                        o.display()
                    ),
                    None => {
                        "output went to stdout: give --out FILE to be able to --resume".to_string()
                    }
                };
                stop_with(stopped, Some(progress.summary(started)), Some(hint));
            }
            eprintln!("fgf tag: {}", progress.summary(started));
            if failed > 0 {
                anyhow::bail!("{failed} documents failed; see {}", errors.display());
            }
            Ok(())
        }
        Command::Bench {
            server,
            mode,
            concurrency,
            window,
            duration,
            count,
            rate,
            warmup,
            docs,
            doc_size,
            write_docs,
            json,
            auth_token_file,
            tls_ca,
        } => {
            use fgf_tagger::loadgen::{self, LoadParams, Mode};
            let mode = match mode.as_str() {
                "unary" => Mode::Unary,
                "stream" => Mode::Stream,
                other => anyhow::bail!("--mode {other:?}: use unary or stream"),
            };
            let requests: Vec<fgf_grpc::pb::TagRequest> = match docs {
                Some(path) => fgf_tagger::batch::Inputs::new(&[path])?
                    .filter_map(|d| d.ok())
                    .map(|d| fgf_grpc::pb::TagRequest {
                        id: d.id,
                        text: d.text,
                        ..Default::default()
                    })
                    .collect(),
                None => loadgen::make_documents(&training_paragraphs()?, doc_size, 200),
            };
            if let Some(path) = write_docs {
                let mut out = String::new();
                for r in &requests {
                    out.push_str(&serde_json::json!({"id": r.id, "text": r.text}).to_string());
                    out.push('\n');
                }
                std::fs::write(&path, out)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            let params = LoadParams {
                server,
                mode,
                concurrency,
                window,
                duration: duration.or(if count.is_none() {
                    Some(std::time::Duration::from_secs(10))
                } else {
                    None
                }),
                count,
                rate,
                warmup,
                auth_token: fgf_grpc::auth::client_token(auth_token_file.as_deref())?,
                tls_ca: read_optional(tls_ca.as_deref())?,
            };
            let report =
                tokio::runtime::Runtime::new()?.block_on(loadgen::run(&params, requests))?;
            print!("{}", report.to_text());
            if let Some(path) = json {
                write_json(&path, &report)?;
            }
            Ok(())
        }
        Command::Soak {
            server,
            concurrency,
            duration,
            warmup,
            settle,
            metrics,
            json,
            auth_token_file,
            tls_ca,
        } => {
            let documents =
                fgf_tagger::loadgen::make_documents(&training_paragraphs()?, 10_000, 50)
                    .into_iter()
                    .map(|r| r.text)
                    .collect();
            let params = fgf_tagger::soak::SoakParams {
                server,
                concurrency,
                duration,
                warmup,
                settle,
                metrics,
                documents,
                auth_token: fgf_grpc::auth::client_token(auth_token_file.as_deref())?,
                tls_ca: read_optional(tls_ca.as_deref())?,
            };
            let report =
                tokio::runtime::Runtime::new()?.block_on(fgf_tagger::soak::run(&params))?;
            print!("{}", report.to_text());
            if let Some(path) = json {
                write_json(&path, &report)?;
            }
            if !report.passed {
                anyhow::bail!("the server did not hold up (see the table above)");
            }
            Ok(())
        }
        Command::EvalLayout { paths, model } => {
            let model = fgf_core::model_path::resolve(model.as_deref())?;
            let mut files = Vec::new();
            for path in paths {
                if path.is_dir() {
                    let mut in_dir: Vec<PathBuf> = std::fs::read_dir(&path)
                        .with_context(|| format!("reading {}", path.display()))?
                        .map(|e| e.map(|e| e.path()))
                        .collect::<std::io::Result<_>>()?;
                    in_dir.retain(|p| p.extension().is_some_and(|e| e == "txt"));
                    in_dir.sort();
                    files.extend(in_dir);
                } else {
                    files.push(path);
                }
            }
            let docs: Vec<String> = files
                .iter()
                .map(|f| {
                    std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))
                })
                .collect::<Result<_>>()?;
            let tagger = Tagger::load(&model)?;
            println!("{} clean documents", docs.len());
            print!(
                "{}",
                layout::format_table(&layout::evaluate(&tagger, &docs))
            );
            Ok(())
        }
    }
}

/// The training split's texts, which `fgf bench` and `fgf soak` build
/// their documents from.
fn training_paragraphs() -> Result<Vec<String>> {
    let (_, _, corpus) = train::load_inputs(&ModelsDir::new("models"))?;
    Ok(corpus.train.into_iter().map(|s| s.text).collect())
}

/// Writes `value` as pretty JSON to `path`.
fn write_json(path: &std::path::Path, value: &impl serde::Serialize) -> Result<()> {
    std::fs::write(path, serde_json::to_string_pretty(value)?)
        .with_context(|| format!("writing {}", path.display()))
}

/// The bytes of an optional file.
fn read_optional(path: Option<&std::path::Path>) -> Result<Option<Vec<u8>>> {
    path.map(|p| std::fs::read(p).with_context(|| format!("reading {}", p.display())))
        .transpose()
}

fn read_stdin() -> Result<String> {
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .context("reading stdin")?;
    Ok(s)
}
