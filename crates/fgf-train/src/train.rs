//! `fgf train`: from the files in `models/` to a model file and a report.
//!
//! Layout of the models folder:
//!
//! | path                    | what                                        |
//! |-------------------------|---------------------------------------------|
//! | `taxonomy.toml`         | the label schema                            |
//! | `domain_dict.txt`       | jieba domain dictionary (word freq [tag])   |
//! | `corpus/train/*.jsonl`  | training samples                            |
//! | `corpus/test/*.jsonl`   | the frozen test split, never trained on     |
//! | `fgf.model`             | the fitted model (JSON), written here       |
//! | `test_report.txt`       | test-split scores, written here             |

use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::{Context, Result};

use crate::corpus::{Corpus, Sample};
use fgf_core::evaluation::Evaluation;
use fgf_core::model::{Model, ValidTrainParams};

use crate::fit::gold_labels;
use fgf_core::role::Role;
use fgf_core::tagger::Tagger;
use fgf_core::taxonomy::Taxonomy;
use fgf_core::tokenize::DomainDictionary;

/// Where training reads and writes, relative to a models folder.
#[derive(Debug, Clone)]
pub struct ModelsDir(pub PathBuf);

impl ModelsDir {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self(dir.into())
    }
    pub fn taxonomy(&self) -> PathBuf {
        self.0.join("taxonomy.toml")
    }
    pub fn dictionary(&self) -> PathBuf {
        self.0.join("domain_dict.txt")
    }
    pub fn corpus(&self) -> PathBuf {
        self.0.join("corpus")
    }
    pub fn model(&self) -> PathBuf {
        self.0.join("fgf.model")
    }
    pub fn report(&self) -> PathBuf {
        self.0.join("test_report.txt")
    }
}

/// A trained model and its human-readable report.
#[derive(Debug)]
pub struct TrainOutcome {
    pub model: Model,
    pub report: String,
}

/// Loads the schema, dictionary and corpus of `dir`.
pub fn load_inputs(dir: &ModelsDir) -> Result<(Taxonomy, DomainDictionary, Corpus)> {
    let taxonomy = Taxonomy::load(&dir.taxonomy())?;
    let dictionary = DomainDictionary::load(&dir.dictionary())?;
    let corpus = Corpus::load(&dir.corpus(), &taxonomy)?;
    Ok((taxonomy, dictionary, corpus))
}

/// Trains on the train split and scores on the frozen test split.
pub fn train(dir: &ModelsDir, params: &ValidTrainParams) -> Result<TrainOutcome> {
    let (taxonomy, dictionary, corpus) = load_inputs(dir)?;
    let mut model =
        crate::fit::fit(params, &taxonomy, &dictionary, &corpus.train).context("training")?;
    let trained_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    model.version = format!(
        "fgf-{}-{}",
        trained_at[..10].replace('-', "."),
        &corpus.fingerprint[..8]
    );
    model.trained_at = trained_at;
    model.corpus_fingerprint = corpus.fingerprint.clone();
    model.test_samples = corpus.test.len();

    let tagger = Tagger::new(model);
    let evaluation = evaluate(&tagger, &corpus.test);
    let reliability = reliability(&tagger, &corpus.test);
    let parts = test_parts(&tagger, &corpus.test);
    let mut model = tagger.into_model();
    model.test = Some(evaluation.clone());
    let mut report = report(&model, &evaluation);
    report.push_str(&parts);
    report.push_str(&reliability);
    Ok(TrainOutcome { model, report })
}

/// Id prefixes of the samples of rounds 3 and 4 (real-document registers:
/// headings, furniture, bulletins, tables, damaged text), whose test samples
/// form the second part of the frozen test split.
pub const REAL_REGISTER_PREFIXES: [&str; 2] = ["r3", "r4"];

/// The frozen test split scored in its two parts: rounds 1-2 (the split as
/// first frozen) and rounds 3-4, so that a regression on either shows.
pub fn test_parts(tagger: &Tagger, test: &[Sample]) -> String {
    let (registers, earlier): (Vec<Sample>, Vec<Sample>) = test
        .iter()
        .cloned()
        .partition(|s| REAL_REGISTER_PREFIXES.iter().any(|p| s.id.starts_with(p)));
    let mut out = String::new();
    for (name, part) in [
        ("part 1, rounds 1-2", &earlier),
        ("part 2, rounds 3-4", &registers),
    ] {
        if part.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "\nfrozen test split, {name} ({} samples)\n",
            part.len()
        ));
        out.push_str(&evaluate(tagger, part).to_table());
    }
    out
}

/// Scores `tagger` on labeled samples, as the service would label them.
pub fn evaluate(tagger: &Tagger, samples: &[Sample]) -> Evaluation {
    let taxonomy = &tagger.model().taxonomy;
    let gold = gold_labels(taxonomy, samples);
    let predicted: Vec<Vec<bool>> = samples
        .iter()
        .map(|s| {
            let mut row = vec![false; taxonomy.len()];
            for hit in tagger.predict(&s.text) {
                row[hit.index] = true;
            }
            row
        })
        .collect();
    let mut evaluation = Evaluation::new(taxonomy, &gold, &predicted);
    let roles_right = samples
        .iter()
        .filter(|s| tagger.role_of(&s.text) == s.role)
        .count();
    evaluation.role_accuracy = roles_right as f64 / samples.len().max(1) as f64;
    evaluation.boilerplate_labeled = samples
        .iter()
        .zip(&predicted)
        .filter(|(s, p)| s.role == Role::Boilerplate && p.iter().any(|&b| b))
        .count();
    evaluation
}

/// One line per sample whose predicted labels or role differ from the gold
/// ones: `id  role gold->predicted  missing -x  extra +y  text`.
pub fn errors(tagger: &Tagger, samples: &[Sample]) -> String {
    let taxonomy = &tagger.model().taxonomy;
    let mut out = String::new();
    for s in samples {
        let predicted: Vec<&str> = tagger
            .predict(&s.text)
            .iter()
            .map(|h| taxonomy.label(h.index).code.as_str())
            .collect();
        let gold: Vec<&str> = s.codes().collect();
        let missing: Vec<String> = gold
            .iter()
            .filter(|c| !predicted.contains(c))
            .map(|c| format!("-{c}"))
            .collect();
        let extra: Vec<String> = predicted
            .iter()
            .filter(|c| !gold.contains(c))
            .map(|c| format!("+{c}"))
            .collect();
        let role = tagger.role_of(&s.text);
        if missing.is_empty() && extra.is_empty() && role == s.role {
            continue;
        }
        let role_note = if role == s.role {
            String::new()
        } else {
            format!(" role {}->{}", s.role.as_str(), role.as_str())
        };
        let snippet: String = s.text.chars().take(60).collect();
        out.push_str(&format!(
            "{}{role_note} {} {}  {snippet}\n",
            s.id,
            missing.join(" "),
            extra.join(" ")
        ));
    }
    out
}

/// How well scores behave like probabilities on `samples`: every (sample,
/// label) score of non-boilerplate text is put in a bin of width 0.1, and each
/// bin shows its mean score next to how often the label was really there.
pub fn reliability(tagger: &Tagger, samples: &[Sample]) -> String {
    let model = tagger.model();
    let gold = gold_labels(&model.taxonomy, samples);
    let mut bins = [(0usize, 0f64, 0usize); 10]; // (count, sum of scores, positives)
    for (s, g) in samples.iter().zip(&gold) {
        if tagger.role_of(&s.text) == Role::Boilerplate {
            continue;
        }
        let scores = model.scores(&model.vectorize(tagger.tokenizer(), &s.text));
        for (score, &positive) in scores.iter().zip(g) {
            let bin = &mut bins[((score * 10.0) as usize).min(9)];
            bin.0 += 1;
            bin.1 += *score as f64;
            bin.2 += positive as usize;
        }
    }
    let mut out = String::from(
        "\nreliability (all labels, test split):\n  score bin   pairs  mean score  share positive\n",
    );
    for (i, (n, sum, positives)) in bins.iter().enumerate() {
        if *n == 0 {
            continue;
        }
        out.push_str(&format!(
            "  {:.1}-{:.1} {:>9} {:>11.3} {:>15.3}\n",
            i as f64 / 10.0,
            (i + 1) as f64 / 10.0,
            n,
            sum / *n as f64,
            *positives as f64 / *n as f64
        ));
    }
    out
}

/// The text written to `test_report.txt`.
pub fn report(model: &Model, evaluation: &Evaluation) -> String {
    let mut out = format!(
        "fgf-tagger model {}\ntrained {} on {} samples; frozen test split: {} samples\n\
         vocabulary {} features, {} dictionary terms\ncorpus {}\n\n",
        model.version,
        model.trained_at,
        model.train_samples,
        model.test_samples,
        model.features.len(),
        model.dictionary.len(),
        model.corpus_fingerprint,
    );
    out.push_str("frozen test split\n");
    out.push_str(&evaluation.to_table());
    if let Some(cv) = &model.cv {
        out.push_str(&format!(
            "\n{}-fold cross-validation on the training split (out-of-fold, thresholds cross-fitted)\n",
            model.params.threshold_folds
        ));
        out.push_str(&cv.to_table());
    }
    out.push_str("\nthresholds:");
    for (label, t) in model.taxonomy.labels().zip(&model.thresholds) {
        out.push_str(&format!(" {}={t:.3}", label.code));
    }
    out.push('\n');
    out
}

/// Writes the model file and the report into `dir`.
pub fn write_outputs(dir: &ModelsDir, outcome: &TrainOutcome) -> Result<()> {
    outcome.model.save(&dir.model())?;
    std::fs::write(dir.report(), &outcome.report)
        .with_context(|| format!("writing {}", dir.report().display()))
}
