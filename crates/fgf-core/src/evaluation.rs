//! Precision, recall and F1 for multi-label predictions.

use serde::{Deserialize, Serialize};

use crate::taxonomy::Taxonomy;

/// Counts and scores of one label, or of an average over labels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Gold positives.
    pub support: usize,
    pub true_positives: usize,
    pub false_positives: usize,
    pub false_negatives: usize,
}

impl Scores {
    /// Scores from counts; 0/0 counts as 0.
    pub fn from_counts(tp: usize, fp: usize, fn_: usize) -> Self {
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let precision = ratio(tp, tp + fp);
        let recall = ratio(tp, tp + fn_);
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        Self {
            precision,
            recall,
            f1,
            support: tp + fn_,
            true_positives: tp,
            false_positives: fp,
            false_negatives: fn_,
        }
    }

    fn micro(of: &[Scores]) -> Self {
        let sum = |f: fn(&Scores) -> usize| of.iter().map(f).sum::<usize>();
        Self::from_counts(
            sum(|s| s.true_positives),
            sum(|s| s.false_positives),
            sum(|s| s.false_negatives),
        )
    }

    fn macro_(of: &[Scores]) -> Self {
        let n = of.len().max(1) as f64;
        Self {
            precision: of.iter().map(|s| s.precision).sum::<f64>() / n,
            recall: of.iter().map(|s| s.recall).sum::<f64>() / n,
            f1: of.iter().map(|s| s.f1).sum::<f64>() / n,
            support: of.iter().map(|s| s.support).sum(),
            ..Self::default()
        }
    }
}

/// Scores of a labeled set: per label, and averaged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub samples: usize,
    /// `(code, scores)` for pillars then themes, in taxonomy order.
    pub per_label: Vec<(String, Scores)>,
    pub pillar_micro: Scores,
    pub pillar_macro: Scores,
    pub theme_micro: Scores,
    pub theme_macro: Scores,
    /// Share of samples whose role the rules got right.
    pub role_accuracy: f64,
    /// Gold boilerplate samples that got any label (must be 0).
    pub boilerplate_labeled: usize,
    /// The most frequent confusions between themes: `(missed gold theme,
    /// theme given instead in the same sample, count)`, most frequent first.
    #[serde(default)]
    pub confusions: Vec<(String, String, usize)>,
}

impl Evaluation {
    /// Compares predicted label sets with gold ones (one `Vec<bool>` per
    /// sample, indexed by taxonomy column).
    pub fn new(taxonomy: &Taxonomy, gold: &[Vec<bool>], predicted: &[Vec<bool>]) -> Self {
        assert_eq!(gold.len(), predicted.len());
        let per_label: Vec<(String, Scores)> = taxonomy
            .labels()
            .enumerate()
            .map(|(j, label)| {
                let (mut tp, mut fp, mut fn_) = (0, 0, 0);
                for (g, p) in gold.iter().zip(predicted) {
                    match (g[j], p[j]) {
                        (true, true) => tp += 1,
                        (false, true) => fp += 1,
                        (true, false) => fn_ += 1,
                        (false, false) => {}
                    }
                }
                (label.code.clone(), Scores::from_counts(tp, fp, fn_))
            })
            .collect();
        let n_pillars = taxonomy.pillars.len();
        let mut pairs: std::collections::BTreeMap<(usize, usize), usize> = Default::default();
        for (g, p) in gold.iter().zip(predicted) {
            for missed in (n_pillars..g.len()).filter(|&j| g[j] && !p[j]) {
                for extra in (n_pillars..g.len()).filter(|&j| p[j] && !g[j]) {
                    *pairs.entry((missed, extra)).or_default() += 1;
                }
            }
        }
        let mut confusions: Vec<(String, String, usize)> = pairs
            .into_iter()
            .map(|((a, b), n)| (per_label[a].0.clone(), per_label[b].0.clone(), n))
            .collect();
        confusions.sort_by(|a, b| {
            b.2.cmp(&a.2)
                .then_with(|| a.0.cmp(&b.0))
                .then_with(|| a.1.cmp(&b.1))
        });
        confusions.truncate(10);
        let pillars: Vec<Scores> = per_label[..n_pillars].iter().map(|(_, s)| *s).collect();
        let themes: Vec<Scores> = per_label[n_pillars..].iter().map(|(_, s)| *s).collect();
        Self {
            samples: gold.len(),
            pillar_micro: Scores::micro(&pillars),
            pillar_macro: Scores::macro_(&pillars),
            theme_micro: Scores::micro(&themes),
            theme_macro: Scores::macro_(&themes),
            per_label,
            role_accuracy: 0.0,
            boilerplate_labeled: 0,
            confusions,
        }
    }

    /// Scores of one label code.
    pub fn label(&self, code: &str) -> Option<&Scores> {
        self.per_label
            .iter()
            .find(|(c, _)| c == code)
            .map(|(_, s)| s)
    }

    /// A plain-text table of the scores.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "{:<26} {:>9} {:>9} {:>9} {:>8}\n",
            "label", "precision", "recall", "f1", "support"
        ));
        let row = |name: &str, s: &Scores| {
            format!(
                "{:<26} {:>9.3} {:>9.3} {:>9.3} {:>8}\n",
                name, s.precision, s.recall, s.f1, s.support
            )
        };
        for (code, s) in &self.per_label {
            out.push_str(&row(code, s));
        }
        out.push_str(&row("pillars (micro)", &self.pillar_micro));
        out.push_str(&row("pillars (macro)", &self.pillar_macro));
        out.push_str(&row("themes (micro)", &self.theme_micro));
        out.push_str(&row("themes (macro)", &self.theme_macro));
        out.push_str(&format!(
            "samples {}  role accuracy {:.3}  labeled boilerplate {}\n",
            self.samples, self.role_accuracy, self.boilerplate_labeled
        ));
        if !self.confusions.is_empty() {
            out.push_str("most confused themes (gold theme missed -> theme given instead):\n");
            for (missed, given, n) in self.confusions.iter().take(5) {
                out.push_str(&format!("  {missed:<24} -> {given:<24} {n}\n"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_to_scores() {
        let s = Scores::from_counts(8, 2, 8);
        assert!((s.precision - 0.8).abs() < 1e-12);
        assert!((s.recall - 0.5).abs() < 1e-12);
        assert!((s.f1 - 2.0 * 0.4 / 1.3).abs() < 1e-12);
        assert_eq!(Scores::from_counts(0, 0, 0).f1, 0.0);
    }
}
