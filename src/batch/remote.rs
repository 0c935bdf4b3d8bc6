//! `fgf tag` through servers ([`run_remote`]): one channel balancing over
//! every `--server`, `streams` stream workers, the reader that holds a
//! window permit per document from reading to writing, the loop that
//! writes results in order, the watchers, and stopping on Ctrl-C or when
//! no server has answered for `give_up_after`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Result, bail};
use fgf_grpc::client::ClientTls;
use tokio::sync::{Mutex, Semaphore, mpsc};
use tonic::Code;
use tonic::transport::Channel;

use super::admission::Admission;
use super::inputs::Inputs;
use super::output::{OrderedWriter, Written};
use super::progress::{Progress, ServerHealth};
use super::servers::watch_server;
use super::stream::{Job, Queue, stream_worker};
use super::{BatchOptions, Outcome, Stopped};

/// A channel balancing over every server (tower p2c through tonic).
pub fn balanced_channel(servers: &[String], tls: &ClientTls) -> Result<Channel> {
    let endpoints = servers
        .iter()
        .map(|url| {
            Ok(fgf_grpc::client::endpoint_with(url, tls)?
                .http2_keep_alive_interval(Duration::from_secs(10))
                .keep_alive_timeout(Duration::from_secs(10)))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Channel::balance_list(endpoints.into_iter()))
}

/// The message of [`Stopped::GaveUp`].
fn give_up_message(progress: &Progress, after: Duration) -> String {
    let servers = progress.servers.lock().expect("server state");
    let causes: Vec<String> = servers
        .iter()
        .map(|s| {
            format!(
                "{} ({})",
                s.url,
                s.down
                    .as_deref()
                    .or(s.last_cause.as_deref())
                    .unwrap_or("answered no probe")
            )
        })
        .collect();
    format!(
        "no server answered for {} s (--give-up-after): {}",
        after.as_secs(),
        causes.join(", ")
    )
}

/// Tags `inputs` through `servers` (URLs checked by [`preflight`](super::preflight));
/// returns when every document is written, or with [`Stopped`] when
/// `interrupted` is set or no server answered for `give_up_after`.
pub async fn run_remote(
    inputs: Inputs,
    servers: &[String],
    options: BatchOptions,
    mut writer: OrderedWriter,
    skip: Written,
    progress: Arc<Progress>,
    interrupted: Arc<AtomicBool>,
) -> Result<()> {
    if servers.is_empty() {
        bail!("no --server given (or use --local)");
    }
    let channel = balanced_channel(servers, &options.tls)?;
    let options = Arc::new(options);
    *progress.servers.lock().expect("server state") = servers
        .iter()
        .map(|url| ServerHealth {
            url: url.clone(),
            down: None,
            went_down: 0,
            last_cause: None,
        })
        .collect();
    progress.answered(); // the pre-flight
    let watchers: Vec<_> = servers
        .iter()
        .enumerate()
        .map(|(i, url)| {
            tokio::spawn(watch_server(
                i,
                url.clone(),
                options.clone(),
                progress.clone(),
            ))
        })
        .collect();
    let window = Arc::new(Semaphore::new(options.window.max(1)));
    let (job_tx, job_rx) = mpsc::unbounded_channel::<Job>();
    let queue: Queue = Arc::new(Mutex::new(job_rx));
    let (result_tx, mut result_rx) = mpsc::unbounded_channel::<(u64, Outcome, Option<Job>)>();

    let mut workers = Vec::new();
    for _ in 0..options.streams.max(1) {
        workers.push(tokio::spawn(stream_worker(
            channel.clone(),
            queue.clone(),
            job_tx.clone(),
            result_tx.clone(),
            options.clone(),
            progress.clone(),
        )));
    }

    // The reader: takes a window permit per document, numbers it, queues it.
    let (total_tx, mut total_rx) = tokio::sync::oneshot::channel::<u64>();
    let reader = {
        let window = window.clone();
        let job_tx = job_tx.clone();
        let result_tx = result_tx.clone();
        let progress = progress.clone();
        let max_doc_bytes = options.max_doc_bytes;
        tokio::spawn(async move {
            let mut admission = Admission::new(skip, progress.clone());
            let mut seq = 0u64;
            let (doc_tx, mut doc_rx) = mpsc::channel(16);
            let read = tokio::task::spawn_blocking(move || {
                for item in inputs {
                    if doc_tx.blocking_send(item).is_err() {
                        break;
                    }
                }
            });
            while let Some(item) = doc_rx.recv().await {
                progress.read.fetch_add(1, Ordering::Relaxed);
                let failed = match item {
                    Ok(doc) if !admission.admit(&doc) => continue,
                    Ok(doc) => match max_doc_bytes {
                        Some(limit) if doc.text.len() as u64 > limit => Outcome::Failed {
                            message: format!(
                                "the document is {} bytes; the server's limit is {limit} bytes \
                                 (max_doc_bytes): split the document (not sent)",
                                doc.text.len()
                            ),
                            id: doc.id,
                            code: Code::InvalidArgument,
                        },
                        _ => {
                            let permit = window.clone().acquire_owned().await.expect("window open");
                            progress
                                .bytes
                                .fetch_add(doc.text.len() as u64, Ordering::Relaxed);
                            let _ = job_tx.send(Job {
                                seq,
                                doc,
                                attempts: 0,
                                breaks: 0,
                                _permit: permit,
                            });
                            seq += 1;
                            continue;
                        }
                    },
                    Err(bad) => Outcome::Failed {
                        id: bad.id,
                        code: Code::InvalidArgument,
                        message: bad.message,
                    },
                };
                let _ = result_tx.send((seq, failed, None));
                seq += 1;
            }
            let _ = read.await;
            let _ = total_tx.send(seq);
        })
    };
    drop(job_tx);
    drop(result_tx);

    let mut total: Option<u64> = None;
    let mut written = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut stopped = None;
    loop {
        if total == Some(written) {
            break;
        }
        tokio::select! {
            r = result_rx.recv() => {
                let Some((seq, outcome, job)) = r else { break };
                written += writer.push(seq, outcome)? as u64;
                drop(job); // releases the window permit
            }
            t = &mut total_rx, if total.is_none() => {
                total = Some(t.unwrap_or(0));
            }
            _ = tick.tick() => {
                if interrupted.load(Ordering::Relaxed) {
                    stopped = Some(Stopped::Interrupted);
                    break;
                }
                if progress.silent_for() >= options.give_up_after {
                    stopped = Some(Stopped::GaveUp(give_up_message(&progress, options.give_up_after)));
                    break;
                }
            }
        }
    }
    reader.abort();
    for w in workers.into_iter().chain(watchers) {
        w.abort();
    }
    writer.finish()?;
    match stopped {
        Some(s) => Err(s.into()),
        None => Ok(()),
    }
}
