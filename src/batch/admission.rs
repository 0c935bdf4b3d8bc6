//! Which input documents are tagged, remote and local alike: with
//! resume, an id found k times in the output skips its first k occurrences
//! in the input; an id seen before in the input is tagged again, and the
//! first few repeats are named on stderr.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::inputs::Doc;
use super::output::Written;
use super::progress::Progress;

/// Decides, per input document, whether it is sent: a document whose id
/// is still counted in the output (resume) is skipped, one count used up;
/// an id seen before in the input is tagged again and warned about.
pub(super) struct Admission {
    skip: Written,
    seen: HashSet<String>,
    progress: Arc<Progress>,
}

/// Repeated ids named on stderr before only counting them.
const REPEATS_SHOWN: u64 = 5;

impl Admission {
    pub(super) fn new(skip: Written, progress: Arc<Progress>) -> Self {
        Self {
            skip,
            seen: HashSet::new(),
            progress,
        }
    }

    /// True when `doc` is to be tagged.
    pub(super) fn admit(&mut self, doc: &Doc) -> bool {
        if !self.seen.insert(doc.id.clone()) {
            let n = self.progress.repeated.fetch_add(1, Ordering::Relaxed) + 1;
            if n <= REPEATS_SHOWN {
                eprintln!(
                    "fgf tag: warning: id {:?} appears again in the input; every copy is tagged \
                     and has its own output line{}",
                    doc.id,
                    if n == REPEATS_SHOWN {
                        " (further repeats are only counted in the summary)"
                    } else {
                        ""
                    }
                );
            }
        }
        if let Some(k) = self.skip.get_mut(&doc.id)
            && *k > 0
        {
            *k -= 1;
            self.progress.skipped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        true
    }
}
