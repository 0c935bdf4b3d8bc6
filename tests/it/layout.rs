//! Paragraph reconstruction and noisy input, in process with the committed
//! model: hard-wrapped copies of the fixtures in `tests/fixtures/layout`
//! must give back the clean paragraphs and labels, and no reconstruction may
//! lose or duplicate a character.

use std::path::Path;

use fgf_core::role::Role;
use fgf_core::spans::{self, LineMode};
use fgf_core::tagger::{TagOptions, Tagger};
use fgf_train::layout::{self, RUNNING_HEADER, WrapStyle};
use proptest::prelude::*;

fn tagger() -> Tagger {
    Tagger::load(Path::new("models/fgf.model")).expect("models/fgf.model loads")
}

fn fixtures() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir("tests/fixtures/layout")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    assert!(out.len() >= 4, "fixtures missing");
    out
}

fn theme_codes(tagger: &Tagger, text: &str, mode: LineMode) -> Vec<Vec<String>> {
    let doc = tagger.tag(
        text,
        &TagOptions {
            line_mode: mode,
            ..TagOptions::default()
        },
    );
    doc.spans
        .iter()
        .map(|s| {
            s.labels
                .iter()
                .map(|h| tagger.model().taxonomy.label(h.index).code.clone())
                .collect()
        })
        .collect()
}

#[test]
fn clean_text_keeps_one_paragraph_per_line() {
    for (name, clean) in fixtures() {
        assert_eq!(
            spans::paragraphs_with(&clean, LineMode::Reflow),
            spans::paragraphs(&clean),
            "{name}: a clean document must not be reflowed"
        );
    }
}

#[test]
fn wrapped_documents_give_back_the_clean_paragraphs_and_labels() {
    let tagger = tagger();
    for width in [40, 56, 72, 80] {
        let style = WrapStyle {
            width,
            indent: false,
            page_lines: None,
        };
        for (name, clean) in fixtures() {
            let wrapped = layout::hard_wrap(&clean, style);
            let score = layout::compare(&tagger, &clean, &wrapped, LineMode::Reflow);
            let lines = layout::compare(&tagger, &clean, &wrapped, LineMode::Lines);
            // A paragraph whose last line happens to fill the line exactly
            // cannot be told from a wrapped one: allow one such join.
            assert!(
                score.clean_paragraphs.abs_diff(score.wrapped_paragraphs) <= 1,
                "{name} at {width} columns: {score:?}"
            );
            assert!(score.boundaries.f1 >= 0.9, "{name} at {width}: {score:?}");
            assert!(
                score.label_agreement() >= 0.9,
                "{name} at {width}: {score:?}"
            );
            assert!(
                lines.boundaries.f1 < score.boundaries.f1,
                "{name} at {width}: reflow must beat one paragraph per line"
            );
        }
    }
}

#[test]
fn most_wrapped_documents_come_back_exactly() {
    let tagger = tagger();
    let mut exact = 0;
    let mut total = 0;
    for width in [40, 56, 72, 80] {
        let style = WrapStyle {
            width,
            indent: false,
            page_lines: None,
        };
        for (_, clean) in fixtures() {
            let wrapped = layout::hard_wrap(&clean, style);
            total += 1;
            if theme_codes(&tagger, &clean, LineMode::Lines)
                == theme_codes(&tagger, &wrapped, LineMode::Reflow)
            {
                exact += 1;
            }
        }
    }
    assert!(exact * 10 >= total * 8, "{exact} of {total} exact");
}

#[test]
fn page_furniture_is_boilerplate_and_splits_nothing_else() {
    let tagger = tagger();
    for (name, clean) in fixtures() {
        let style = WrapStyle {
            width: 56,
            indent: true,
            page_lines: Some(8),
        };
        let wrapped = layout::hard_wrap(&clean, style);
        let doc = tagger.tag(&wrapped, &TagOptions::default());
        let mut furniture = 0;
        for s in &doc.spans {
            let t = s.span.slice(&wrapped);
            if t == RUNNING_HEADER || (t.starts_with("- ") && t.ends_with(" -")) {
                furniture += 1;
                assert_eq!(s.role, Role::Boilerplate, "{name}: {t}");
                assert!(s.labels.is_empty());
            } else {
                assert!(!t.contains(RUNNING_HEADER), "{name}: header inside {t}");
            }
        }
        assert!(furniture >= 2, "{name}: no furniture found");
        let score = layout::compare(&tagger, &clean, &wrapped, LineMode::Reflow);
        assert!(score.boundaries.recall >= 0.95, "{name}: {score:?}");
    }
}

#[test]
fn noise_does_not_change_labels() {
    let tagger = tagger();
    let cases = [
        (
            "推行部门联合双随机一公开抽查，2023年开展跨部门联合抽查136次，抽查结果及时公示。",
            [
                "推行部門聯合雙隨機一公開抽查，2023年開展跨部門聯合抽查136次，抽查結果及時公示。",
                "推行部门联合双 随 机 一 公 开抽查，２０２３ 年开展跨部门联合抽查１３６次，抽查结果及时公示",
                "",
            ],
        ),
        (
            "依托一体化在线政务服务平台，1268项事项实现全程网办，掌上办事项扩展至540项。",
            [
                "依託一體化在線政務服務平臺，1268項事項實現全程網辦，掌上辦事項擴展至540項。",
                "依托一体化在线政务服务平台 ，１２６８项事项实现全程网办 ，掌上办事项扩展至５４０项",
                "",
            ],
        ),
        (
            "县行政审批局实行一枚印章管审批，划转13个部门的审批事项187项。",
            [
                "縣行政審批局實行一枚印章管審批，劃轉13個部門的審批事項187項。",
                "县 行政审批局 实行 一枚印章管审批 划转 13 个部门的审批事项 187 项",
                "****县行政审批局实行“一枚印章管审批”，划转13个部门的审批事项187项。",
            ],
        ),
    ];
    for (clean, variants) in cases {
        let want = theme_codes(&tagger, clean, LineMode::Reflow);
        assert_eq!(want.len(), 1);
        assert!(!want[0].is_empty(), "{clean} got no label");
        // The clean text hard-wrapped at 15 CJK chars per line.
        let wrapped = layout::hard_wrap(
            clean,
            WrapStyle {
                width: 30,
                indent: false,
                page_lines: None,
            },
        );
        for v in variants
            .iter()
            .copied()
            .filter(|v| !v.is_empty())
            .chain([wrapped.as_str()])
        {
            let got: Vec<String> = theme_codes(&tagger, v, LineMode::Reflow)
                .into_iter()
                .flatten()
                .collect();
            assert_eq!(got, want[0], "variant {v:?} of {clean}");
        }
    }
}

/// Text made of the pieces real documents are made of.
fn document() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("推进审批制度改革".to_string()),
        Just("。".to_string()),
        Just("，".to_string()),
        Just("\n".to_string()),
        Just("\r\n".to_string()),
        Just("\n\n".to_string()),
        Just("\u{3000}\u{3000}".to_string()),
        Just("一、".to_string()),
        Just("（二）".to_string()),
        Just("- 3 -".to_string()),
        Just("2019 年 6 月".to_string()),
        Just("😀".to_string()),
        Just("\u{200B}".to_string()),
        Just("\u{FFFD}锟斤拷â€œ".to_string()),
        Just("審批服務".to_string()),
        Just("２０２１年ＡＰＰ".to_string()),
        "[a-z0-9 ]{0,6}",
        "[\u{4e00}-\u{4e80}]{1,20}",
    ];
    prop::collection::vec(piece, 0..80).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn reflow_never_loses_or_duplicates_a_char(text in document()) {
        let spans = spans::paragraphs_with(&text, LineMode::Reflow);
        let mut last_end = 0;
        let mut inside = String::new();
        for s in &spans {
            prop_assert!(s.start >= last_end && s.start < s.end);
            prop_assert!(text.is_char_boundary(s.start) && text.is_char_boundary(s.end));
            prop_assert_eq!(text[..s.start].chars().count(), s.char_start);
            prop_assert_eq!(text[..s.end].chars().count(), s.char_end);
            // Between spans there is only whitespace.
            prop_assert!(text[last_end..s.start].chars().all(spans::is_trim_char));
            inside.push_str(s.slice(&text));
            last_end = s.end;
        }
        prop_assert!(text[last_end..].chars().all(spans::is_trim_char));
        let visible = |t: &str| -> String { t.chars().filter(|c| !spans::is_trim_char(*c)).collect() };
        prop_assert_eq!(visible(&inside), visible(&text));
    }

    #[test]
    fn tagged_spans_are_ordered_and_exact(text in document(), lines in any::<bool>()) {
        let tagger = tagger_once();
        let options = TagOptions {
            sentences: true,
            line_mode: if lines { LineMode::Lines } else { LineMode::Reflow },
            evidence: true,
            ..TagOptions::default()
        };
        let doc = tagger.tag(&text, &options);
        let mut last = 0;
        for p in &doc.spans {
            prop_assert!(p.span.start >= last && p.span.start < p.span.end);
            prop_assert_eq!(text[..p.span.start].chars().count(), p.span.char_start);
            prop_assert_eq!(text[..p.span.end].chars().count(), p.span.char_end);
            let mut inner = p.span.start;
            for s in &p.sentences {
                prop_assert!(s.span.start >= inner && s.span.end <= p.span.end);
                prop_assert_eq!(text[..s.span.start].chars().count(), s.span.char_start);
                inner = s.span.end;
            }
            for hit in &p.labels {
                for e in &hit.evidence {
                    // Evidence ranges are relative to the span and on char boundaries.
                    prop_assert!(e.end <= p.span.end - p.span.start);
                    prop_assert!(p.span.slice(&text).is_char_boundary(e.start));
                    prop_assert!(p.span.slice(&text).is_char_boundary(e.end));
                }
            }
            last = p.span.end;
        }
    }

    #[test]
    fn tokens_stay_inside_the_text(text in document()) {
        let tagger = tagger_once();
        for t in tagger.tokenizer().tokens(&text) {
            prop_assert_eq!(&text[t.start..t.end], t.word);
            prop_assert_eq!(text[..t.start].chars().count(), t.char_start);
        }
    }
}

fn tagger_once() -> &'static Tagger {
    static TAGGER: std::sync::OnceLock<Tagger> = std::sync::OnceLock::new();
    TAGGER.get_or_init(tagger)
}
