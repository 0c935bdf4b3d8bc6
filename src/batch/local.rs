//! `fgf tag --local`: the model in process, `threads` worker threads fed
//! by one reader thread, at most `window` documents read but not written
//! (a counting semaphore for threads), results written in input order.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Result;
use fgf_core::tagger::Tagger;
use tonic::Code;

use super::admission::Admission;
use super::inputs::{BadInput, Doc, Inputs};
use super::output::{OrderedWriter, Written};
use super::progress::Progress;
use super::{BatchOptions, Outcome, Stopped};

/// A counting semaphore for threads: the window of `--local`.
struct Window {
    free: std::sync::Mutex<usize>,
    freed: std::sync::Condvar,
}

impl Window {
    fn new(n: usize) -> Self {
        Self {
            free: std::sync::Mutex::new(n),
            freed: std::sync::Condvar::new(),
        }
    }

    fn acquire(&self) {
        let mut free = self.free.lock().expect("window lock");
        while *free == 0 {
            free = self.freed.wait(free).expect("window lock");
        }
        *free -= 1;
    }

    fn release(&self, n: usize) {
        *self.free.lock().expect("window lock") += n;
        self.freed.notify_all();
    }
}

/// Tags `inputs` with the model in process, `options.threads` at a time.
pub fn run_local(
    inputs: Inputs,
    tagger: Arc<Tagger>,
    options: BatchOptions,
    mut writer: OrderedWriter,
    skip: Written,
    progress: Arc<Progress>,
    interrupted: Arc<AtomicBool>,
) -> Result<()> {
    // The server's checks and default limits: a document a default server
    // refuses gets the same INVALID_ARGUMENT here.
    let limits = fgf_grpc::limits::Limits::default();
    let tag_options = fgf_grpc::request::tag_options(&options.request, &limits)
        .map_err(|status| anyhow::anyhow!("{}", status.message()))?;
    let omit_text = options.request.omit_text;
    let threads = options.threads.max(1);
    let window = Arc::new(Window::new(options.window.max(threads)));
    type Item = (u64, std::result::Result<Doc, BadInput>);
    let (job_tx, job_rx) = std::sync::mpsc::channel::<Item>();
    let job_rx = Arc::new(std::sync::Mutex::new(job_rx));
    let (out_tx, out_rx) = std::sync::mpsc::channel::<(u64, Outcome)>();
    std::thread::scope(|scope| -> Result<()> {
        for _ in 0..threads {
            let job_rx = job_rx.clone();
            let out_tx = out_tx.clone();
            let tagger = tagger.clone();
            scope.spawn(move || {
                loop {
                    let next = job_rx.lock().expect("job queue").recv();
                    let Ok((seq, item)) = next else { break };
                    let outcome = match item {
                        Ok(doc) => {
                            match fgf_grpc::request::check_size(&doc.text, "text", &limits) {
                                Err(status) => Outcome::Failed {
                                    id: doc.id,
                                    code: status.code(),
                                    message: status.message().to_string(),
                                },
                                Ok(()) => {
                                    let tagged = tagger.tag(&doc.text, &tag_options);
                                    Outcome::Tagged(fgf_grpc::convert::to_response_with(
                                        &tagger, doc.id, &doc.text, &tagged, omit_text,
                                    ))
                                }
                            }
                        }
                        Err(bad) => Outcome::Failed {
                            id: bad.id,
                            code: Code::InvalidArgument,
                            message: bad.message,
                        },
                    };
                    if out_tx.send((seq, outcome)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(out_tx);
        let reader_window = window.clone();
        let reader_progress = progress.clone();
        let reader_interrupted = interrupted.clone();
        scope.spawn(move || {
            let mut admission = Admission::new(skip, reader_progress.clone());
            let mut seq = 0u64;
            for item in inputs {
                if reader_interrupted.load(Ordering::Relaxed) {
                    break;
                }
                reader_progress.read.fetch_add(1, Ordering::Relaxed);
                if let Ok(doc) = &item {
                    if !admission.admit(doc) {
                        continue;
                    }
                    reader_progress
                        .bytes
                        .fetch_add(doc.text.len() as u64, Ordering::Relaxed);
                }
                reader_window.acquire();
                if job_tx.send((seq, item)).is_err() {
                    break;
                }
                seq += 1;
            }
        });
        for (seq, outcome) in out_rx {
            match writer.push(seq, outcome) {
                Ok(written) => window.release(written),
                Err(e) => {
                    // Unblock the reader so the threads can end.
                    window.release(usize::MAX / 2);
                    return Err(e);
                }
            }
        }
        Ok(())
    })?;
    writer.finish()?;
    if interrupted.load(Ordering::Relaxed) {
        return Err(Stopped::Interrupted.into());
    }
    Ok(())
}
