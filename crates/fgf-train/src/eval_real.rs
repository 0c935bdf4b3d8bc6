//! `fgf eval-real`: scores the tagger on real documents against a gold file.
//!
//! The frozen test split is written by this project, so it flatters the
//! model. A team with its own real documents and line-level gold labels
//! can measure the tagger on them with this module. The gold format is
//! one JSON object per gold line:
//!
//! ```json
//! {"doc": "017.txt", "line": 4, "char_start": 120, "char_end": 171,
//!  "text_start": 122, "text_end": 171, "role": "body",
//!  "pillars": ["fu"], "themes": ["fu.online"],
//!  "pillars_may": [], "themes_may": ["fu.data"]}
//! ```
//!
//! `doc` is a file name in the documents folder; offsets are code points
//! of that line in the file (`text_start`/`text_end`: without the line's
//! leading and trailing whitespace; optional). `pillars`/`themes` are the
//! labels a correct tagger must give; the `_may` lists are defensible
//! labels that are neither rewarded nor punished.
//!
//! Scoring, per gold line: the union of the labels of every paragraph span
//! overlapping the line's text is the prediction. A must label predicted is
//! a true positive, one missing a false negative; a predicted label outside
//! must and may is a false positive. The line's role is the role of the
//! span holding its first non-space character. Boilerplate lines that got
//! any label are counted. Documents are tagged as `fgf tag --local` tags
//! them (paragraph spans, line reconstruction on, the model's thresholds).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Deserialize;

use fgf_core::evaluation::Scores;
use fgf_core::tagger::{TagOptions, Tagger};

/// One gold line.
#[derive(Debug, Clone, Deserialize)]
pub struct GoldLine {
    pub doc: String,
    pub line: usize,
    pub char_start: usize,
    pub char_end: usize,
    #[serde(default)]
    pub text_start: Option<usize>,
    #[serde(default)]
    pub text_end: Option<usize>,
    pub role: String,
    #[serde(default)]
    pub pillars: Vec<String>,
    #[serde(default)]
    pub themes: Vec<String>,
    #[serde(default)]
    pub pillars_may: Vec<String>,
    #[serde(default)]
    pub themes_may: Vec<String>,
}

/// Reads a gold file.
pub fn load_gold(path: &Path) -> Result<Vec<GoldLine>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            serde_json::from_str(l)
                .with_context(|| format!("{}:{}: not a gold line", path.display(), n + 1))
        })
        .collect()
}

/// A paragraph span as the scorer sees it.
#[derive(Debug, Clone, Default)]
pub struct PredictedSpan {
    pub char_start: usize,
    pub char_end: usize,
    pub role: String,
    pub pillars: BTreeSet<String>,
    pub themes: BTreeSet<String>,
}

/// True positives, false positives and false negatives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
}

impl Counts {
    /// Precision, recall and F1 of these counts.
    pub fn scores(&self) -> Scores {
        Scores::from_counts(self.tp, self.fp, self.fn_)
    }
}

/// A gold line the tagger got wrong.
#[derive(Debug, Clone)]
pub struct LineError {
    pub doc: String,
    pub line: usize,
    pub text: String,
    pub missed: Vec<String>,
    pub extra: Vec<String>,
    pub role_gold: String,
    pub role_got: String,
}

/// The scores of one run.
#[derive(Debug, Clone, Default)]
pub struct RealScores {
    pub lines: usize,
    pub docs: usize,
    pub missing_docs: Vec<String>,
    pub pillars: Counts,
    pub themes: Counts,
    pub per_label: BTreeMap<String, Counts>,
    pub role_correct: usize,
    pub role_confusion: BTreeMap<(String, String), usize>,
    pub boilerplate_lines: usize,
    pub boilerplate_labeled: usize,
    pub errors: Vec<LineError>,
}

impl RealScores {
    pub fn role_accuracy(&self) -> f64 {
        if self.lines == 0 {
            0.0
        } else {
            self.role_correct as f64 / self.lines as f64
        }
    }
}

/// Tags `text` as `fgf tag --local` does and returns its paragraph spans.
pub fn predict(tagger: &Tagger, text: &str) -> Vec<PredictedSpan> {
    let doc = tagger.tag(text, &TagOptions::default());
    let taxonomy = &tagger.model().taxonomy;
    doc.spans
        .iter()
        .map(|s| {
            let mut p = PredictedSpan {
                char_start: s.span.char_start,
                char_end: s.span.char_end,
                role: s.role.as_str().to_string(),
                ..Default::default()
            };
            for hit in &s.labels {
                let code = taxonomy.label(hit.index).code.clone();
                if taxonomy.is_pillar(hit.index) {
                    p.pillars.insert(code);
                } else {
                    p.themes.insert(code);
                }
            }
            p
        })
        .collect()
}

/// Scores predicted spans (by document name) against the gold lines.
/// `texts` gives each document's text, for the error listing.
pub fn score(
    gold: &[GoldLine],
    predicted: &HashMap<String, Vec<PredictedSpan>>,
    texts: &HashMap<String, String>,
) -> RealScores {
    let mut s = RealScores {
        lines: gold.len(),
        ..Default::default()
    };
    let docs: BTreeSet<&str> = gold.iter().map(|g| g.doc.as_str()).collect();
    s.docs = docs.len();
    s.missing_docs = docs
        .iter()
        .filter(|d| !predicted.contains_key(**d))
        .map(|d| d.to_string())
        .collect();
    let empty = Vec::new();
    for g in gold {
        let (ts, te) = (
            g.text_start.unwrap_or(g.char_start),
            g.text_end.unwrap_or(g.char_end),
        );
        let spans = predicted.get(&g.doc).unwrap_or(&empty);
        let mut pred_p = BTreeSet::new();
        let mut pred_t = BTreeSet::new();
        let mut got_role = "none".to_string();
        for sp in spans {
            if sp.char_start < te && sp.char_end > ts {
                pred_p.extend(sp.pillars.iter().cloned());
                pred_t.extend(sp.themes.iter().cloned());
            }
            if sp.char_start <= ts && ts < sp.char_end && got_role == "none" {
                got_role = sp.role.clone();
            }
        }
        let mut missed = Vec::new();
        let mut extra = Vec::new();
        for (must, may, pred, micro) in [
            (&g.pillars, &g.pillars_may, &pred_p, &mut s.pillars),
            (&g.themes, &g.themes_may, &pred_t, &mut s.themes),
        ] {
            for l in must {
                let c = s.per_label.entry(l.clone()).or_default();
                if pred.contains(l) {
                    c.tp += 1;
                    micro.tp += 1;
                } else {
                    c.fn_ += 1;
                    micro.fn_ += 1;
                    missed.push(l.clone());
                }
            }
            for l in pred
                .iter()
                .filter(|l| !must.contains(l) && !may.contains(l))
            {
                s.per_label.entry(l.clone()).or_default().fp += 1;
                micro.fp += 1;
                extra.push(l.clone());
            }
        }
        *s.role_confusion
            .entry((g.role.clone(), got_role.clone()))
            .or_default() += 1;
        if got_role == g.role {
            s.role_correct += 1;
        }
        if g.role == "boilerplate" {
            s.boilerplate_lines += 1;
            if !pred_p.is_empty() || !pred_t.is_empty() {
                s.boilerplate_labeled += 1;
            }
        }
        if !missed.is_empty() || !extra.is_empty() || got_role != g.role {
            let text = texts
                .get(&g.doc)
                .map(|t| t.chars().skip(ts).take((te - ts).min(40)).collect())
                .unwrap_or_default();
            s.errors.push(LineError {
                doc: g.doc.clone(),
                line: g.line,
                text,
                missed,
                extra,
                role_gold: g.role.clone(),
                role_got: got_role,
            });
        }
    }
    s
}

/// Tags every document the gold names (from `docs_dir`) and scores them.
pub fn evaluate(tagger: &Tagger, docs_dir: &Path, gold: &[GoldLine]) -> Result<RealScores> {
    let names: BTreeSet<&str> = gold.iter().map(|g| g.doc.as_str()).collect();
    let mut predicted = HashMap::new();
    let mut texts = HashMap::new();
    for name in names {
        let path = docs_dir.join(name);
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue; // scored as missing
        };
        predicted.insert(name.to_string(), predict(tagger, &text));
        texts.insert(name.to_string(), text);
    }
    Ok(score(gold, &predicted, &texts))
}

/// The report as text: micro scores, role accuracy, per-label table, role
/// confusion and, with `errors`, every wrong line.
pub fn report(s: &RealScores, errors: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "gold: {} lines in {} docs; documents missing: {}",
        s.lines,
        s.docs,
        if s.missing_docs.is_empty() {
            "none".to_string()
        } else {
            s.missing_docs.join(" ")
        }
    );
    for (name, c) in [("pillars", s.pillars), ("themes", s.themes)] {
        let m = c.scores();
        let _ = writeln!(
            out,
            "{name:8} P={:.3} R={:.3} F1={:.3}  (tp={} fp={} fn={})",
            m.precision, m.recall, m.f1, c.tp, c.fp, c.fn_
        );
    }
    let _ = writeln!(
        out,
        "role accuracy {:.3} ({}/{})",
        s.role_accuracy(),
        s.role_correct,
        s.lines
    );
    let _ = writeln!(
        out,
        "boilerplate lines that got a pillar/theme: {}/{}",
        s.boilerplate_labeled, s.boilerplate_lines
    );
    let _ = writeln!(
        out,
        "per label:                  F1     P     R    tp   fp   fn"
    );
    for (label, c) in &s.per_label {
        let m = c.scores();
        let _ = writeln!(
            out,
            "  {label:24} {:.3} {:.3} {:.3} {:4} {:4} {:4}",
            m.f1, m.precision, m.recall, c.tp, c.fp, c.fn_
        );
    }
    let confusion: Vec<String> = s
        .role_confusion
        .iter()
        .map(|((g, p), n)| format!("{g}->{p}:{n}"))
        .collect();
    let _ = writeln!(out, "role confusion (gold->got): {}", confusion.join(", "));
    if errors {
        let _ = writeln!(
            out,
            "errors ({} lines): doc line | text | missed | extra | role gold/got",
            s.errors.len()
        );
        for e in &s.errors {
            let _ = writeln!(
                out,
                "{} {:>3} | {} | missed={} | extra={} | role {}/{}",
                e.doc,
                e.line,
                e.text,
                if e.missed.is_empty() {
                    "-".into()
                } else {
                    e.missed.join(",")
                },
                if e.extra.is_empty() {
                    "-".into()
                } else {
                    e.extra.join(",")
                },
                e.role_gold,
                e.role_got
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gold(
        doc: &str,
        start: usize,
        end: usize,
        role: &str,
        pillars: &[&str],
        themes: &[&str],
    ) -> GoldLine {
        GoldLine {
            doc: doc.into(),
            line: 0,
            char_start: start,
            char_end: end,
            text_start: None,
            text_end: None,
            role: role.into(),
            pillars: pillars.iter().map(|s| s.to_string()).collect(),
            themes: themes.iter().map(|s| s.to_string()).collect(),
            pillars_may: vec![],
            themes_may: vec!["fu.data".into()],
        }
    }

    fn span(
        start: usize,
        end: usize,
        role: &str,
        pillars: &[&str],
        themes: &[&str],
    ) -> PredictedSpan {
        PredictedSpan {
            char_start: start,
            char_end: end,
            role: role.into(),
            pillars: pillars.iter().map(|s| s.to_string()).collect(),
            themes: themes.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn must_labels_count_may_labels_are_free_and_extras_are_false_positives() {
        let g = vec![
            gold("a.txt", 0, 10, "body", &["fu"], &["fu.online"]),
            gold("a.txt", 11, 20, "boilerplate", &[], &[]),
        ];
        let mut p = HashMap::new();
        p.insert(
            "a.txt".to_string(),
            vec![
                span(0, 10, "body", &["fu"], &["fu.online", "fu.data"]),
                span(11, 20, "body", &["guan"], &["guan.credit"]),
            ],
        );
        let s = score(&g, &p, &HashMap::new());
        assert_eq!(
            s.pillars,
            Counts {
                tp: 1,
                fp: 1,
                fn_: 0
            }
        );
        assert_eq!(
            s.themes,
            Counts {
                tp: 1,
                fp: 1,
                fn_: 0
            }
        );
        assert_eq!(s.role_correct, 1);
        assert_eq!(s.boilerplate_labeled, 1);
        assert_eq!(s.errors.len(), 1);
    }

    #[test]
    fn a_missing_document_is_all_false_negatives() {
        let g = vec![gold(
            "b.txt",
            0,
            5,
            "heading",
            &["fang"],
            &["fang.delegation"],
        )];
        let s = score(&g, &HashMap::new(), &HashMap::new());
        assert_eq!(s.missing_docs, vec!["b.txt".to_string()]);
        assert_eq!(s.themes.fn_, 1);
        assert_eq!(s.role_accuracy(), 0.0);
    }
}
