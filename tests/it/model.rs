//! The committed model: fresh, good enough, and reproducible from the corpus.

use fgf_core::model::Model;
use fgf_core::spans::{self, TextSpan};
use fgf_core::tagger::Tagger;
use fgf_train::train::{self, ModelsDir};

fn committed() -> (ModelsDir, Tagger) {
    let dir = ModelsDir::new("models");
    let tagger = Tagger::load(&dir.model()).expect("models/fgf.model loads");
    (dir, tagger)
}

#[test]
fn committed_model_was_trained_on_the_committed_corpus() {
    let (dir, tagger) = committed();
    let (_, dictionary, corpus) = train::load_inputs(&dir).unwrap();
    let model = tagger.model();
    assert_eq!(
        model.corpus_fingerprint, corpus.fingerprint,
        "models/corpus changed since models/fgf.model was trained: run `cargo run --release -- train`"
    );
    assert_eq!(
        model.dictionary, dictionary,
        "domain_dict.txt changed: retrain"
    );
    assert_eq!(model.train_samples, corpus.train.len());
    assert_eq!(model.test_samples, corpus.test.len());
}

#[test]
fn frozen_test_split_scores_clear_the_floors() {
    let (dir, tagger) = committed();
    let (_, _, corpus) = train::load_inputs(&dir).unwrap();
    let e = train::evaluate(&tagger, &corpus.test);
    // Floors that catch a broken model; the targets are in the report.
    assert!(e.pillar_micro.f1 >= 0.90, "{}", e.to_table());
    assert!(e.theme_micro.f1 >= 0.85, "{}", e.to_table());
    assert!(e.theme_macro.f1 >= 0.82, "{}", e.to_table());
    assert_eq!(e.boilerplate_labeled, 0, "{}", e.to_table());
    assert!(e.role_accuracy >= 0.95, "{}", e.to_table());
    // Cross-validation on the training split is in the model and report.
    let cv = tagger.model().cv.as_ref().expect("cross-validated scores");
    assert!(cv.theme_macro.f1 >= 0.82, "{}", cv.to_table());
    // And they are the scores the model file and the report claim.
    assert_eq!(Some(&e), tagger.model().test.as_ref());
    let report = std::fs::read_to_string(dir.report()).unwrap();
    assert!(
        report.contains(&e.to_table()),
        "models/test_report.txt is stale"
    );
}

#[test]
fn hashed_term_lookup_matches_term_strings_on_the_corpus() {
    let (dir, tagger) = committed();
    let (_, _, corpus) = train::load_inputs(&dir).unwrap();
    let space = &tagger.model().features;
    for s in corpus.train.iter().chain(&corpus.test) {
        let words = tagger.tokenizer().feature_words(&s.text);
        assert_eq!(
            space.transform_words(words.all()),
            space.transform(&space.params.terms(words.all())),
            "{}",
            s.id
        );
    }
}

/// The tagger vectorises and scores a long paragraph and its sentences in
/// one pass; on every corpus text that has sentences, that must give the
/// same vectors and scores, to the bit, as one at a time.
#[test]
fn sentences_scored_together_score_as_each_alone_on_the_corpus() {
    let (dir, tagger) = committed();
    let (_, _, corpus) = train::load_inputs(&dir).unwrap();
    let (model, space) = (tagger.model(), &tagger.model().features);
    let mut checked = 0;
    for s in corpus.train.iter().chain(&corpus.test) {
        let words = tagger.tokenizer().feature_words(&s.text);
        let words = words.all();
        let at = words.as_slice();
        let span = TextSpan {
            start: 0,
            end: s.text.len(),
            char_start: 0,
            char_end: s.text.chars().count(),
        };
        let sentences: Vec<std::ops::Range<usize>> = spans::sentences(&s.text, span)
            .iter()
            .map(|t| {
                at.partition_point(|w| w.start < t.start)..at.partition_point(|w| w.end <= t.end)
            })
            .filter(|r| !r.is_empty())
            .collect();
        if sentences.len() < 2 {
            continue;
        }
        let terms = space.find_terms(words);
        let v = space.vectors_with_sentences(&terms, &sentences);
        let (whole, each) = model.scores_with_sentences(&v);
        assert_eq!(v.whole, space.vector_of_indices(terms.all()), "{}", s.id);
        assert_eq!(whole, model.scores(&v.whole), "{}", s.id);
        for (i, range) in sentences.iter().enumerate() {
            let alone = space.vector_of_indices(terms.within(range.clone()));
            assert_eq!(v.sentence(i), alone, "{} sentence {i}", s.id);
            assert_eq!(each[i], model.scores(&alone), "{} sentence {i}", s.id);
        }
        checked += 1;
    }
    assert!(
        checked > 100,
        "only {checked} corpus texts have two sentences"
    );
}

#[test]
fn traditional_script_is_tagged_as_well_as_simplified() {
    let (dir, tagger) = committed();
    let (_, _, corpus) = train::load_inputs(&dir).unwrap();
    let traditional: Vec<_> = corpus
        .test
        .iter()
        .filter(|s| simplet2s::convert(&s.text) != s.text && !s.themes.is_empty())
        .cloned()
        .collect();
    assert!(
        traditional.len() >= 15,
        "only {} samples",
        traditional.len()
    );
    let e = train::evaluate(&tagger, &traditional);
    assert!(e.theme_micro.f1 >= 0.80, "{}", e.to_table());
}

/// A long work-summary paragraph (about 1,500 chars) in which random
/// inspections, credit supervision and 互联网+监管 each take one sentence
/// among general reporting on other matters.
fn long_paragraph() -> String {
    [
        "今年以来，全县上下坚持以新发展理念为引领，认真贯彻落实上级决策部署，把优化营商环境作为推动高质量发展的重要抓手。",
        "县委常委会、县政府常务会议先后八次专题研究相关工作，主要负责同志多次深入企业和项目一线调研，协调解决难点问题。",
        "市场监管、税务等部门按“双随机、一公开”方式联合抽查企业，随机抽取检查对象和执法检查人员，结果全部向社会公示。",
        "各乡镇、各部门按照职责分工，细化工作方案，建立任务台账，实行清单化管理、项目化推进，确保各项任务落地见效。",
        "全县地区生产总值同比增长百分之六点二，规模以上工业增加值增长百分之七点五，固定资产投资保持平稳增长。",
        "我们坚持问题导向，组织开展作风建设专项行动，对工作中推诿扯皮、效率低下等问题严肃问责，营造了风清气正的干事创业氛围。",
        "健全以信用为基础的新型监管机制，开展企业信用风险分类，对失信主体依法实施联合惩戒，指导三十六家企业完成信用修复。",
        "同时，持续加强宣传引导，通过电视台、微信公众号等渠道宣传典型经验做法，社会各界对营商环境的认可度不断提高。",
        "在农业农村方面，全县粮食播种面积稳定在六十二万亩，高标准农田建设任务全面完成，农村人居环境整治扎实推进。",
        "在生态环境方面，空气质量优良天数比例达到百分之八十九，重点流域断面水质稳定达标，生态环境持续改善。",
        "依托“互联网+监管”系统归集监管行为数据一点二万条，对高风险领域开展风险预警和非现场监管。",
        "在文化旅游方面，成功举办第五届油菜花旅游节，接待游客一百二十万人次，实现旅游综合收入九亿元。",
        "在安全稳定方面，扎实开展矛盾纠纷排查化解，信访总量同比下降百分之十五，社会大局保持和谐稳定。",
        "下一步，我们将坚持目标导向和问题导向相结合，持续用力、久久为功，推动各项工作再上新台阶。",
    ]
    .concat()
}

#[test]
fn a_long_paragraph_gets_every_theme_one_of_its_sentences_reports() {
    let (_, tagger) = committed();
    let text = long_paragraph();
    assert!(text.chars().count() >= 600, "{}", text.chars().count());
    let codes: Vec<String> = tagger
        .predict(&text)
        .iter()
        .map(|h| tagger.model().taxonomy.label(h.index).code.clone())
        .collect();
    for want in [
        "guan",
        "guan.random_inspection",
        "guan.credit",
        "guan.smart_supervision",
    ] {
        assert!(
            codes.iter().any(|c| c == want),
            "{want} missing from {codes:?}"
        );
    }
    assert!(!codes.iter().any(|c| c.starts_with("fang")), "{codes:?}");
}

#[test]
fn a_heading_gets_only_what_it_says() {
    let (_, tagger) = committed();
    let text = "三、下一步工作打算\n各部门按“双随机、一公开”方式联合抽查企业，结果全部向社会公示。";
    let doc = tagger.tag(text, &Default::default());
    assert_eq!(doc.spans.len(), 2);
    assert!(doc.spans[0].labels.is_empty(), "{:?}", doc.spans[0]);
    assert!(!doc.spans[1].labels.is_empty());
}

#[test]
fn training_again_reproduces_the_committed_model() {
    // The committed model is what `fgf train` fits on the committed corpus:
    // weights, intercepts, the boilerplate check, and the calibration and
    // thresholds its cross-validation tunes (training takes seconds since
    // the sparse learner). Training is deterministic on one machine; across
    // CPUs, SIMD kernels (Platt scaling runs on ndarray) may sum floats in
    // another order, so allow for tiny drift rather than identical bits.
    let (dir, tagger) = committed();
    let committed: &Model = tagger.model();
    let params = committed.params.check().unwrap();
    let (taxonomy, dictionary, corpus) = train::load_inputs(&dir).unwrap();
    let fresh = fgf_train::fit::fit(&params, &taxonomy, &dictionary, &corpus.train).unwrap();
    assert_eq!(fresh.features.vocabulary, committed.features.vocabulary);
    let max_diff = |a: &[f32], b: &[f32]| {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max)
    };
    let d = max_diff(&fresh.weights, &committed.weights);
    assert!(d < 0.05, "weights differ by {d}: retrain and commit");
    let d = max_diff(&fresh.intercepts, &committed.intercepts);
    assert!(d < 0.05, "intercepts differ by {d}: retrain and commit");
    let d = max_diff(&fresh.thresholds, &committed.thresholds);
    assert!(
        d <= 0.025 + 1e-6,
        "thresholds differ by {d}: retrain and commit"
    );
    let slopes = |m: &Model| m.calibration.iter().map(|c| c.slope).collect::<Vec<_>>();
    let offsets = |m: &Model| m.calibration.iter().map(|c| c.offset).collect::<Vec<_>>();
    let d = max_diff(&slopes(&fresh), &slopes(committed))
        .max(max_diff(&offsets(&fresh), &offsets(committed)));
    assert!(d < 0.05, "calibration differs by {d}: retrain and commit");
    let (f, c) = (
        fresh.boilerplate.as_ref().expect("a boilerplate check"),
        committed
            .boilerplate
            .as_ref()
            .expect("the committed model has a boilerplate check"),
    );
    let d = max_diff(&f.term_weights, &c.term_weights)
        .max(max_diff(&f.layout_weights, &c.layout_weights));
    assert!(
        d < 0.05,
        "boilerplate weights differ by {d}: retrain and commit"
    );
}

#[test]
fn a_title_repeated_on_a_page_keeps_its_labels_and_a_running_header_does_not() {
    use fgf_core::role::Role;
    let (_, tagger) = committed();
    // A web page shows its title in the header bar and above the article.
    let title = "淮北市全面推行涉企经营许可事项告知承诺制";
    let page = format!(
        "{title}\n发布时间：2023-04-11  来源：市政务服务局\n{title}\n\
         市政务服务局对42项涉企经营许可事项实行告知承诺，企业承诺后当场发证。"
    );
    // The tagged spans of `text` whose text is `line`.
    let spans_of = |text: &str, line: &str| -> Vec<fgf_core::tagger::TaggedSpan> {
        let doc = tagger.tag(text, &Default::default());
        doc.spans
            .into_iter()
            .filter(|s| s.span.slice(text) == line)
            .collect()
    };
    let titles = spans_of(&page, title);
    assert_eq!(titles.len(), 2, "{titles:?}");
    for t in &titles {
        assert_ne!(t.role, Role::Boilerplate, "{t:?}");
        assert!(!t.labels.is_empty(), "{t:?}");
    }
    // A paginated export repeats its header next to every page number.
    let header = "淮北市优化营商环境工作简报";
    let mut export = String::new();
    for page in 1..=3 {
        export.push_str(&format!(
            "{header}\n市政务服务局推行企业开办“一网通办”，全程网上办理，一日办结。\n- {page} -\n"
        ));
    }
    let headers = spans_of(&export, header);
    assert_eq!(headers.len(), 3, "{headers:?}");
    assert!(
        headers
            .iter()
            .all(|h| h.role == Role::Boilerplate && h.labels.is_empty())
    );
}
