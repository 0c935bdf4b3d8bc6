//! Where results go: [`OrderedWriter`] writes one proto-JSON TagResponse
//! line per document in input order (each line with one `write` call), the
//! error file (created on the first failure), the `--summary` CSV and the
//! `--html` report, and fsyncs at the end. With `resume`, the earlier
//! output is read back first: a torn last line is cut off, the ids of the
//! kept lines are counted ([`Written`]) and the CSV and the report are
//! rebuilt from them.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use anyhow::{Context, Result};
use serde_json::Value;

use super::html_report::HtmlReport;
use super::progress::Progress;
use super::{Outcome, csv_writer};
use fgf_grpc::json as protojson;

/// Where results go, in input order.
pub struct OrderedWriter {
    out: Box<dyn Write + Send>,
    out_file: Option<File>,
    errors_path: PathBuf,
    /// Created on the first failure, so a clean run leaves no error file.
    errors: Option<File>,
    summary: Option<csv_writer::CsvWriter>,
    html: Option<HtmlReport>,
    next: u64,
    waiting: BTreeMap<u64, Outcome>,
    progress: Arc<Progress>,
}

/// Where a batch writes.
#[derive(Debug, Clone)]
pub struct OutputPaths {
    /// JSONL output; `None` for stdout.
    pub out: Option<PathBuf>,
    /// Rejected documents, one JSON object per line; created on the first
    /// one.
    pub errors: PathBuf,
    /// Optional per-document CSV.
    pub summary: Option<PathBuf>,
    /// Optional HTML report.
    pub html: Option<PathBuf>,
    /// Skip documents already in `out` and append.
    pub resume: bool,
}

/// How often each id occurs in the documents already written.
pub type Written = HashMap<String, usize>;

/// Reads an output file to resume it: cuts a torn last line (or anything
/// after the first line that is not a whole JSON object), counts the ids
/// of the kept lines and gives each kept line to `kept` (which rebuilds the
/// CSV and the report).
fn resume_scan(path: &Path, mut kept: impl FnMut(&str, &Value) -> Result<()>) -> Result<Written> {
    let mut ids = Written::new();
    if !path.exists() {
        return Ok(ids);
    }
    let mut file = OpenOptions::new().read(true).write(true).open(path)?;
    let mut good_len = 0u64;
    let mut reader = BufReader::new(&mut file);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        if !line.ends_with(b"\n") {
            break;
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            good_len += n as u64;
            continue;
        }
        let Ok(value @ Value::Object(_)) = serde_json::from_slice::<Value>(&line) else {
            break;
        };
        // An empty id is left out of proto JSON.
        let id = value.get("id").and_then(Value::as_str).unwrap_or("");
        *ids.entry(id.to_string()).or_default() += 1;
        kept(std::str::from_utf8(&line)?, &value)?;
        good_len += n as u64;
    }
    drop(reader);
    let len = file.metadata()?.len();
    if good_len < len {
        eprintln!(
            "fgf tag: resume: cut {} bytes after the last whole line of {}",
            len - good_len,
            path.display()
        );
        file.set_len(good_len)?;
    }
    file.seek(SeekFrom::End(0))?;
    Ok(ids)
}

impl OrderedWriter {
    /// Opens the outputs; with `resume`, returns how often each id is in
    /// the output already (and rebuilds the CSV from those lines).
    pub fn open(paths: &OutputPaths, progress: Arc<Progress>) -> Result<(Self, Written)> {
        let mut summary = match &paths.summary {
            None => None,
            Some(p) => {
                let mut w = csv_writer::CsvWriter(std::io::BufWriter::new(
                    File::create(p).with_context(|| format!("opening {}", p.display()))?,
                ));
                w.header()?;
                Some(w)
            }
        };
        let mut html = match &paths.html {
            None => None,
            Some(p) => Some(HtmlReport::create(p)?),
        };
        let mut skip = Written::new();
        let (out, out_file): (Box<dyn Write + Send>, Option<File>) = match &paths.out {
            None => (Box::new(std::io::stdout()), None),
            Some(p) => {
                let file = if paths.resume {
                    skip = resume_scan(p, |line, value| {
                        if let Some(csv) = &mut summary {
                            csv.row(value)?;
                        }
                        if let Some(html) = &mut html {
                            html.tagged(line, value)?;
                        }
                        Ok(())
                    })
                    .with_context(|| format!("reading {} to resume", p.display()))?;
                    OpenOptions::new().create(true).append(true).open(p)
                } else {
                    File::create(p)
                }
                .with_context(|| format!("opening {}", p.display()))?;
                (Box::new(file.try_clone()?), Some(file))
            }
        };
        // The error file of an earlier run describes documents that are not
        // in the output: they are tried again, and the file will list this
        // run's failures only.
        if let Ok(old) = std::fs::read(&paths.errors) {
            let n = old.iter().filter(|&&b| b == b'\n').count();
            if paths.resume && n > 0 {
                eprintln!(
                    "fgf tag: resume: the {n} documents in the earlier error file {} are not in \
                     the output and are tried again; the file is rewritten with this run's failures",
                    paths.errors.display()
                );
            }
            std::fs::remove_file(&paths.errors)
                .with_context(|| format!("removing {}", paths.errors.display()))?;
        }
        Ok((
            Self {
                out,
                out_file,
                errors_path: paths.errors.clone(),
                errors: None,
                summary,
                html,
                next: 0,
                waiting: BTreeMap::new(),
                progress,
            },
            skip,
        ))
    }

    /// Takes the outcome of document `seq`; writes every outcome that is
    /// next in order. Returns how many were written.
    pub fn push(&mut self, seq: u64, outcome: Outcome) -> Result<usize> {
        self.waiting.insert(seq, outcome);
        let mut written = 0;
        while let Some(outcome) = self.waiting.remove(&self.next) {
            self.write(outcome)?;
            self.next += 1;
            written += 1;
        }
        Ok(written)
    }

    fn write(&mut self, outcome: Outcome) -> Result<()> {
        match outcome {
            Outcome::Tagged(resp) => {
                let value = protojson::tag_response(&resp);
                let mut line = value.to_string();
                line.push('\n');
                self.out.write_all(line.as_bytes())?;
                if let Some(s) = &mut self.summary {
                    s.row(&value)?;
                }
                if let Some(html) = &mut self.html {
                    html.tagged(&line, &value)?;
                }
                self.progress.tagged.fetch_add(1, Ordering::Relaxed);
            }
            Outcome::Failed { id, code, message } => {
                if let Some(html) = &mut self.html {
                    html.failed(&id, fgf_grpc::status::code_name(code), &message);
                }
                let mut line = serde_json::json!({
                    "id": id,
                    "code": fgf_grpc::status::code_name(code),
                    "message": message,
                })
                .to_string();
                line.push('\n');
                if self.errors.is_none() {
                    self.errors = Some(
                        File::create(&self.errors_path)
                            .with_context(|| format!("opening {}", self.errors_path.display()))?,
                    );
                }
                if let Some(errors) = &mut self.errors {
                    errors.write_all(line.as_bytes())?;
                }
                self.progress.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(())
    }

    /// Flushes and fsyncs everything.
    pub fn finish(mut self) -> Result<()> {
        self.out.flush()?;
        if let Some(f) = &self.out_file {
            f.sync_all()?;
        }
        if let Some(errors) = &self.errors {
            errors.sync_all()?;
        }
        if let Some(mut s) = self.summary {
            s.0.flush()?;
            s.0.get_ref().sync_all()?;
        }
        if let Some(html) = self.html {
            html.finish()?;
        }
        Ok(())
    }
}
