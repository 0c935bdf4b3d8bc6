//! End-to-end tests: the real server binary, the generated tonic client.

use crate::common::{REPLY, TestServer};
use fgf_extract::sample_pdf::SamplePdf;
use fgf_grpc::pb::{self, Granularity, Role};
use tokio_stream::StreamExt;
use tonic::Code;

fn request(id: &str, text: &str) -> pb::TagRequest {
    pb::TagRequest {
        id: id.to_string(),
        text: text.to_string(),
        ..Default::default()
    }
}

/// The health status the server reports for `service`, asked without a token.
async fn health_of(
    server: &TestServer,
    service: &str,
) -> tonic_health::pb::health_check_response::ServingStatus {
    let mut health = tonic_health::pb::health_client::HealthClient::new(server.channel().await);
    health
        .check(tonic_health::pb::HealthCheckRequest {
            service: service.to_string(),
        })
        .await
        .unwrap()
        .into_inner()
        .status()
}

fn codes(labels: &[pb::LabelScore]) -> Vec<&str> {
    labels.iter().map(|l| l.code.as_str()).collect()
}

/// Byte and char offsets agree with the original text, recursively.
fn assert_offsets(text: &str, spans: &[pb::Span]) {
    let mut last_end = 0;
    for s in spans {
        let (start, end) = (s.start as usize, s.end as usize);
        assert!(start >= last_end, "spans overlap or go backwards");
        assert_eq!(&text[start..end], s.text);
        assert_eq!(text[..start].chars().count(), s.char_start as usize);
        assert_eq!(text[..end].chars().count(), s.char_end as usize);
        assert_offsets(text, &s.sentences);
        last_end = end;
    }
}

#[tokio::test]
async fn a_file_sent_as_bytes_is_extracted_and_its_text_returned() {
    let server = TestServer::start(&[]);
    let mut client = server.client().await;
    // GB18030 plain text, the charset named.
    let (gbk, _, unmappable) = encoding_rs::GB18030.encode(REPLY);
    assert!(!unmappable);
    let resp = client
        .tag(pb::TagRequest {
            id: "gbk".into(),
            content: gbk.into_owned(),
            media_type: "text/plain; charset=gb18030".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.text, REPLY);
    assert_offsets(&resp.text, &resp.spans);
    let plain = client
        .tag(request("utf8", REPLY))
        .await
        .unwrap()
        .into_inner();
    assert!(plain.text.is_empty(), "a text request gets no text back");
    assert_eq!(resp.spans, plain.spans, "the same document, the same spans");
    // An HTML page, its kind told by the file name: scripts are gone, every
    // offset points into the text returned.
    let page = "<html><body><script>var x = '不是正文';</script><h1>关于推行告知承诺制的通知</h1>\
                <p>全面推行告知承诺制，企业开办全程网上办理。</p></body></html>";
    let resp = client
        .tag(pb::TagRequest {
            id: "page".into(),
            content: page.as_bytes().to_vec(),
            file_name: "notice.html".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        resp.text,
        "关于推行告知承诺制的通知\n全面推行告知承诺制，企业开办全程网上办理。\n"
    );
    assert_offsets(&resp.text, &resp.spans);
    assert_eq!(resp.spans.len(), 2);
    // A PDF: its printed lines are joined into paragraphs again, its page
    // numbers are boilerplate, the labels are those of the text.
    let paragraphs: Vec<&str> = REPLY
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let mut pdf = SamplePdf::new(paragraphs.iter().copied());
    pdf.lines_per_page = 8;
    let resp = client
        .tag(pb::TagRequest {
            id: "pdf".into(),
            content: pdf.to_bytes(),
            media_type: "application/pdf".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(resp.text.contains("\u{c}"), "pages end in a form feed");
    assert_offsets(&resp.text, &resp.spans);
    // A span's text without whitespace and without the page number of a
    // page break it runs across.
    let squeeze = |t: &str| {
        t.lines()
            .filter(|l| !(l.trim().starts_with("- ") && l.trim().ends_with(" -")))
            .flat_map(str::chars)
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
    };
    for p in &plain.spans {
        let same = resp
            .spans
            .iter()
            .find(|s| squeeze(&s.text) == squeeze(&p.text))
            .unwrap_or_else(|| {
                panic!(
                    "{} is not a paragraph of the PDF: {:#?}",
                    p.text, resp.spans
                )
            });
        assert_eq!(codes(&same.pillars), codes(&p.pillars), "{}", p.text);
    }
    let page_number = resp
        .spans
        .iter()
        .find(|s| s.text.starts_with("- "))
        .expect("a page number");
    assert_eq!(page_number.role, Role::Boilerplate as i32);
}

#[tokio::test]
async fn bytes_that_cannot_be_read_are_invalid_argument_saying_why() {
    let server = TestServer::start(&[]);
    let mut client = server.client().await;
    // A page with no text on it (a scan), and a file needing a password.
    let mut scan = SamplePdf::new(Vec::<String>::new());
    scan.page_numbers = false;
    let mut locked = SamplePdf::new(["推行告知承诺制。"]);
    locked.encrypted = true;
    let cases = [
        (
            pb::TagRequest {
                text: "推行告知承诺制。".into(),
                content: b"x".to_vec(),
                ..Default::default()
            },
            "both text and content",
        ),
        (
            pb::TagRequest {
                content: b"%PDF-1.7".to_vec(),
                media_type: "application/pdf".into(),
                ..Default::default()
            },
            "the PDF file cannot be read",
        ),
        (
            pb::TagRequest {
                content: scan.to_bytes(),
                file_name: "scan.pdf".into(),
                ..Default::default()
            },
            "run OCR on it first",
        ),
        (
            pb::TagRequest {
                content: locked.to_bytes(),
                media_type: "application/pdf".into(),
                ..Default::default()
            },
            "protected by a password",
        ),
        (
            pb::TagRequest {
                content: b"{}".to_vec(),
                media_type: "application/json".into(),
                ..Default::default()
            },
            "not supported",
        ),
        (
            pb::TagRequest {
                content: encoding_rs::GBK.encode("推行告知承诺制").0.into_owned(),
                media_type: "text/plain; charset=utf-8".into(),
                ..Default::default()
            },
            "not valid UTF-8",
        ),
        (
            pb::TagRequest {
                content: b"text".to_vec(),
                media_type: "text/plain; charset=klingon".into(),
                ..Default::default()
            },
            "unknown encoding",
        ),
    ];
    for (req, says) in cases {
        let status = client.tag(req).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
        assert!(
            status.message().contains(says),
            "{says}: {}",
            status.message()
        );
    }
}

#[tokio::test]
async fn tag_gives_roles_offsets_and_labels() {
    let server = TestServer::start(&[]);
    let mut client = server.client().await;
    let resp = client.tag(request("r1", REPLY)).await.unwrap().into_inner();
    assert_eq!(resp.id, "r1");
    assert!(resp.model_version.starts_with("fgf-"));
    assert_offsets(REPLY, &resp.spans);
    let roles: Vec<Role> = resp.spans.iter().map(|s| s.role()).collect();
    assert_eq!(
        roles,
        [
            Role::Heading,
            Role::Boilerplate,
            Role::Boilerplate,
            Role::Boilerplate,
            Role::Heading,
            Role::Body,
            Role::Body,
            Role::Boilerplate,
        ]
    );
    for s in resp.spans.iter().filter(|s| s.role() == Role::Boilerplate) {
        assert!(s.pillars.is_empty() && s.themes.is_empty(), "{}", s.text);
    }
    let online = &resp.spans[5];
    assert_eq!(codes(&online.pillars), ["fu"], "{online:?}");
    assert!(codes(&online.themes).contains(&"fu.online"), "{online:?}");
    let inspection = &resp.spans[6];
    assert!(codes(&inspection.pillars).contains(&"guan"));
    assert!(codes(&inspection.themes).contains(&"guan.random_inspection"));
    // Scores sorted, names filled in, themes never without their pillar.
    for s in &resp.spans {
        assert!(s.themes.windows(2).all(|w| w[0].score >= w[1].score));
        for t in &s.themes {
            assert!(!t.name.is_empty());
            let pillar = t.code.split('.').next().unwrap();
            assert!(codes(&s.pillars).contains(&pillar));
        }
    }
    let summary = resp.summary.unwrap();
    assert_eq!(summary.paragraphs, 8);
    let body_chars: u32 = resp.spans[5..7]
        .iter()
        .map(|s| s.char_end - s.char_start)
        .sum();
    assert_eq!(summary.body_chars, body_chars);
    let fu = summary.pillars.iter().find(|p| p.code == "fu").unwrap();
    assert!(fu.share > 0.3 && fu.share <= 1.0, "{fu:?}");
}

#[tokio::test]
async fn sentence_granularity_adds_labeled_sentences() {
    let server = TestServer::start(&[]);
    let mut client = server.client().await;
    let text = "工作情况\n\u{3000}\u{3000}一是推行“一网通办”，事项全程网办；二是开展“双随机、一公开”抽查。三是落实首违不罚清单！";
    let mut req = request("s", text);
    req.granularity = Granularity::Sentence as i32;
    let resp = client.tag(req).await.unwrap().into_inner();
    assert_offsets(text, &resp.spans);
    assert!(resp.spans[0].sentences.len() == 1);
    let body = &resp.spans[1];
    let sentences: Vec<&str> = body.sentences.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(
        sentences,
        [
            "一是推行“一网通办”，事项全程网办；",
            "二是开展“双随机、一公开”抽查。",
            "三是落实首违不罚清单！"
        ]
    );
    assert!(codes(&body.sentences[1].themes).contains(&"guan.random_inspection"));
    // Paragraph granularity has no sentences.
    let resp = client.tag(request("p", text)).await.unwrap().into_inner();
    assert!(resp.spans.iter().all(|s| s.sentences.is_empty()));
}

#[tokio::test]
async fn threshold_controls_how_many_labels_come_back() {
    let server = TestServer::start(&[]);
    let mut client = server.client().await;
    let mut strict = request("t", REPLY);
    strict.threshold = 0.999;
    let mut loose = request("t", REPLY);
    loose.threshold = 0.01;
    let count = |r: &pb::TagResponse| r.spans.iter().map(|s| s.themes.len()).sum::<usize>();
    let strict = client.tag(strict).await.unwrap().into_inner();
    let loose = client.tag(loose).await.unwrap().into_inner();
    assert!(count(&loose) > count(&strict));
    assert!(
        loose
            .spans
            .iter()
            .flat_map(|s| &s.themes)
            .all(|t| t.score >= 0.01)
    );
}

#[tokio::test]
async fn empty_text_is_ok_with_no_spans() {
    let server = TestServer::start(&[]);
    let mut client = server.client().await;
    for text in ["", "\n\r\n\u{3000} \t"] {
        let resp = client.tag(request("e", text)).await.unwrap().into_inner();
        assert!(resp.spans.is_empty());
        assert_eq!(resp.summary.unwrap().paragraphs, 0);
    }
}

#[tokio::test]
async fn bad_requests_get_invalid_argument_with_a_useful_message() {
    let server = TestServer::start(&["--max-doc-bytes", "1000"]);
    let mut client = server.client().await;

    let big = "放".repeat(400); // 1,200 bytes
    let err = client.tag(request("big", &big)).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("1000"), "{}", err.message());
    let err = client
        .segment(pb::SegmentRequest { text: big.clone() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);

    let mut bad_enum = request("g", "正文。");
    bad_enum.granularity = 7;
    let err = client.tag(bad_enum).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("granularity"), "{}", err.message());

    let mut bad_mode = request("m", "正文。");
    bad_mode.line_mode = 9;
    let err = client.tag(bad_mode).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("line_mode"), "{}", err.message());

    for threshold in [1.5, -0.1, f32::NAN] {
        let mut req = request("t", "正文。");
        req.threshold = threshold;
        let err = client.tag(req).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{threshold}");
        assert!(err.message().contains("threshold"), "{}", err.message());
    }
}

#[tokio::test]
async fn oversized_documents_get_invalid_argument_naming_the_limit_up_to_the_ceiling() {
    let server = TestServer::start(&["--max-doc-bytes", "1000"]);
    let mut client = server.client().await;
    // 3 MiB: over --max-doc-bytes but under the 16 MiB ceiling. Before, the
    // transport refused it with OUT_OF_RANGE "decoded message length too large".
    let big = "a".repeat(3 * 1024 * 1024);
    let err = client.tag(request("big", &big)).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(err.message().contains("1000"), "{}", err.message());
    assert!(
        err.message().contains("split the document"),
        "{}",
        err.message()
    );
    // Over the ceiling the message is refused unread, still INVALID_ARGUMENT,
    // naming the ceiling and the remedy.
    let huge = "a".repeat(17 * 1024 * 1024);
    let err = client.tag(request("huge", &huge)).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    let ceiling = fgf_grpc::service::MIN_DECODE_CEILING.to_string();
    assert!(err.message().contains(&ceiling), "{}", err.message());
    assert!(
        err.message().contains("split the document"),
        "{}",
        err.message()
    );
    // And the connection still serves.
    assert!(client.tag(request("ok", "正文。")).await.is_ok());
}

#[tokio::test]
async fn an_oversized_document_in_a_stream_gets_its_own_error_and_the_rest_are_tagged() {
    // As in the issue: five documents, the third 6 MiB against a 4 MiB limit.
    let server = TestServer::start(&[]);
    let mut client = server.client().await;
    let big = "放".repeat(2 * 1024 * 1024); // 6 MiB
    let requests: Vec<pb::TagRequest> = (0..5)
        .map(|i| request(&format!("d{i}"), if i == 2 { &big } else { REPLY }))
        .collect();
    let responses: Vec<pb::TagResponse> = client
        .tag_stream(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner()
        .map(|r| r.unwrap())
        .collect()
        .await;
    assert_eq!(responses.len(), 5);
    for (i, resp) in responses.iter().enumerate() {
        assert_eq!(resp.id, format!("d{i}"));
        if i == 2 {
            let error = resp
                .error
                .as_ref()
                .expect("error for the oversized document");
            assert_eq!(error.code, Code::InvalidArgument as i32);
            assert!(error.message.contains("4194304"), "{}", error.message);
            assert!(
                error.message.contains("split the document"),
                "{}",
                error.message
            );
            assert!(resp.spans.is_empty());
        } else {
            assert!(resp.error.is_none(), "{resp:?}");
            assert_eq!(resp.spans.len(), 8);
        }
    }
}

#[tokio::test]
async fn a_message_over_the_ceiling_ends_the_stream_with_a_status_saying_so() {
    let server = TestServer::start(&["--max-doc-bytes", "1000"]);
    let mut client = server.client().await;
    let huge = "a".repeat(17 * 1024 * 1024);
    let requests = vec![request("d0", REPLY), request("d1", &huge)];
    let mut stream = client
        .tag_stream(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner();
    let first = stream.next().await.unwrap();
    assert!(first.is_ok(), "{first:?}");
    let err = stream.next().await.unwrap().unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(
        err.message().contains("split the document"),
        "{}",
        err.message()
    );
}

#[tokio::test]
async fn tag_stream_answers_every_document_in_order() {
    let server = TestServer::start(&["--max-doc-bytes", "100000"]);
    let mut client = server.client().await;
    let n = 1000;
    let requests: Vec<pb::TagRequest> = (0..n)
        .map(|i| {
            let mut req = request(&format!("doc-{i}"), &format!("第{i}号文件\n{REPLY}"));
            if i == 500 {
                req.threshold = 2.0; // rejected, without ending the stream
            }
            req
        })
        .collect();
    let mut stream = client
        .tag_stream(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner();
    let mut i = 0;
    while let Some(resp) = stream.next().await {
        let resp = resp.unwrap();
        assert_eq!(resp.id, format!("doc-{i}"));
        if i == 500 {
            let error = resp.error.expect("error for the bad document");
            assert_eq!(error.code, Code::InvalidArgument as i32);
            assert!(resp.spans.is_empty());
        } else {
            assert!(resp.error.is_none());
            assert_eq!(resp.spans.len(), 9);
        }
        i += 1;
    }
    assert_eq!(i, n);
}

#[tokio::test]
async fn documents_tagged_on_the_runtime_thread_or_the_pool_get_the_same_answer() {
    // The default server tags documents up to 32 KiB on the thread that
    // received them and larger ones on the blocking pool; this one sends
    // everything to the pool.
    let inline = TestServer::start(&[]);
    let pooled = TestServer::start(&["--inline-max-bytes", "0"]);
    let (mut a, mut b) = (inline.client().await, pooled.client().await);
    let small = REPLY.to_string();
    let large = REPLY.repeat(60);
    let limit = fgf_grpc::service::DEFAULT_INLINE_MAX_BYTES;
    assert!(small.len() <= limit && large.len() > limit);
    for text in [&small, &large] {
        let mut req = request("same", text);
        req.granularity = Granularity::Sentence as i32;
        req.include_evidence = true;
        let from_a = a.tag(req.clone()).await.unwrap().into_inner();
        let from_b = b.tag(req).await.unwrap().into_inner();
        assert!(!from_a.spans.is_empty());
        assert_eq!(from_a, from_b);
        let seg = |text: &str| pb::SegmentRequest {
            text: text.to_string(),
        };
        let tokens_a = a.segment(seg(text)).await.unwrap().into_inner();
        let tokens_b = b.segment(seg(text)).await.unwrap().into_inner();
        assert!(!tokens_a.tokens.is_empty());
        assert_eq!(tokens_a, tokens_b);
        // A stream's small documents run in runtime tasks of their own on
        // the default server: the same answers, in order.
        let mut streamed = Vec::new();
        for client in [&mut a, &mut b] {
            let reqs: Vec<pb::TagRequest> = (0..6)
                .map(|i| {
                    let mut r = request(&format!("s{i}"), text);
                    r.granularity = Granularity::Sentence as i32;
                    r.include_evidence = true;
                    r
                })
                .collect();
            let mut answers = client
                .tag_stream(tokio_stream::iter(reqs))
                .await
                .unwrap()
                .into_inner();
            let mut got = Vec::new();
            while let Some(r) = answers.message().await.unwrap() {
                got.push(r);
            }
            streamed.push(got);
        }
        assert_eq!(streamed[0].len(), 6);
        assert_eq!(streamed[0], streamed[1]);
        for (i, r) in streamed[0].iter().enumerate() {
            assert_eq!(r.id, format!("s{i}"));
            assert_eq!(
                r.spans, from_a.spans,
                "stream answer {i} differs from Tag's"
            );
        }
    }
}

#[tokio::test]
async fn segment_returns_words_with_offsets() {
    let server = TestServer::start(&[]);
    let mut client = server.client().await;
    let text = "推行“互联网+监管”，２０２３年😀实现一网通办。";
    let tokens = client
        .segment(pb::SegmentRequest {
            text: text.to_string(),
        })
        .await
        .unwrap()
        .into_inner()
        .tokens;
    for t in &tokens {
        assert_eq!(&text[t.start as usize..t.end as usize], t.word);
        assert_eq!(
            text[..t.start as usize].chars().count(),
            t.char_start as usize
        );
    }
    let domain: Vec<&str> = tokens
        .iter()
        .filter(|t| t.in_domain_dict)
        .map(|t| t.word.as_str())
        .collect();
    assert_eq!(domain, ["互联网+监管", "一网通办"]);
}

#[tokio::test]
async fn model_info_describes_the_taxonomy_and_scores() {
    let server = TestServer::start(&[]);
    let mut client = server.client().await;
    let info = client
        .get_model_info(pb::GetModelInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    let codes: Vec<&str> = info.labels.iter().map(|l| l.code.as_str()).collect();
    assert_eq!(codes.len(), 22);
    assert_eq!(&codes[..4], ["fang", "guan", "fu", "fang.delegation"]);
    assert!(codes.contains(&"guan.smart_supervision") && codes.contains(&"fu.public_service"));
    for l in &info.labels {
        assert!(l.threshold > 0.0 && l.threshold < 1.0);
        assert!(l.train_support > 0, "{} has no training samples", l.code);
        assert!(l.test.is_some());
        let cv = l.cross_validation.expect("cross-validated scores");
        assert!(cv.support > 0 && cv.f1 > 0.5, "{}: {cv:?}", l.code);
        assert_eq!(l.pillar.is_empty(), !l.code.contains('.'));
        assert!(!l.description.is_empty(), "{} has no description", l.code);
    }
    let credit = info
        .labels
        .iter()
        .find(|l| l.code == "guan.credit")
        .unwrap();
    assert!(credit.description.contains("失信"), "{credit:?}");
    assert!(info.train_samples > info.test_samples && info.test_samples > 0);
    assert!(info.theme_micro.unwrap().f1 > 0.5);
    assert_eq!(info.max_doc_bytes, 4 * 1024 * 1024);
    let tagged = client
        .tag(request("v", "正文。"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(tagged.model_version, info.version);
}

#[tokio::test]
async fn health_reports_serving() {
    use tonic_health::pb::health_check_response::ServingStatus;
    let server = TestServer::start(&[]);
    for service in ["", "fgf.v1.Tagger"] {
        let status = health_of(&server, service).await;
        assert_eq!(status, ServingStatus::Serving, "{service:?}");
    }
}

#[tokio::test]
async fn reflection_lists_services_in_v1_and_v1alpha() {
    let server = TestServer::start(&[]);
    let channel = server.channel().await;

    use tonic_reflection::pb::v1 as r1;
    let mut client = r1::server_reflection_client::ServerReflectionClient::new(channel.clone());
    let req = r1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(r1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut resp = client
        .server_reflection_info(tokio_stream::iter([req]))
        .await
        .unwrap()
        .into_inner();
    let Some(r1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        resp.next().await.unwrap().unwrap().message_response
    else {
        panic!("no list_services response")
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(names.contains(&"fgf.v1.Tagger".to_string()), "{names:?}");
    assert!(
        names.contains(&"grpc.health.v1.Health".to_string()),
        "{names:?}"
    );

    use tonic_reflection::pb::v1alpha as ra;
    let mut client = ra::server_reflection_client::ServerReflectionClient::new(channel);
    let req = ra::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(ra::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut resp = client
        .server_reflection_info(tokio_stream::iter([req]))
        .await
        .unwrap()
        .into_inner();
    let Some(ra::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        resp.next().await.unwrap().unwrap().message_response
    else {
        panic!("no list_services response")
    };
    assert!(list.service.iter().any(|s| s.name == "fgf.v1.Tagger"));
}

#[tokio::test]
async fn sigterm_finishes_in_flight_calls_and_exits_zero() {
    let server = TestServer::start(&[]);
    let mut client = server.client().await;
    let big = REPLY.repeat(400);
    let call = tokio::spawn(async move { client.tag(request("slow", &big)).await });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let status = tokio::task::spawn_blocking(move || server.terminate())
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");
    let resp = call.await.unwrap().expect("in-flight call finished");
    assert_eq!(resp.into_inner().spans.len(), 8 * 400);
}

/// Sends raw bytes as a request message, bypassing prost on the client.
#[tokio::test]
async fn malformed_protobuf_is_refused_and_the_server_keeps_serving() {
    let server = TestServer::start(&[]);
    let channel = server.channel().await;
    let mut grpc = tonic::client::Grpc::new(channel);
    // Field 2 (text), wire type 2, length 3, bytes that are not UTF-8; then
    // a truncated message.
    for body in [vec![0x12, 0x03, 0xff, 0xfe, 0xfd], vec![0x12, 0x10, 0x41]] {
        grpc.ready().await.unwrap();
        let not_utf8 = body.len() == 5;
        let err = grpc
            .unary::<Vec<u8>, Vec<u8>, _>(
                tonic::Request::new(body),
                "/fgf.v1.Tagger/Tag".parse().unwrap(),
                fgf_grpc::client::RawCodec,
            )
            .await
            .unwrap_err();
        if not_utf8 {
            // Text that is not UTF-8 is the caller's to fix (it was INTERNAL).
            assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
            assert!(
                err.message().contains("UTF-8") && err.message().contains("byte offset 0"),
                "{err:?}"
            );
        } else {
            // Not protobuf at all: gRPC's status-code guide says INTERNAL.
            assert_eq!(err.code(), Code::Internal, "{err:?}");
            assert!(err.message().contains("decode"), "{err:?}");
        }
    }
    let mut client = server.client().await;
    let resp = client.tag(request("ok", "推行告知承诺制。")).await.unwrap();
    assert_eq!(resp.into_inner().spans.len(), 1);
}

/// A reply hard-wrapped at 16 CJK chars per line, as copied out of a PDF,
/// with a page break in the middle of the second paragraph.
const WRAPPED: &str = "二、关于加强事中事后监管\n\
我县全面推行部门联合“双随机\n\
、一公开”监管，制定跨部门联合\n\
抽查计划，2023年开展联合抽查\n\
92次，结果全部公示。\n\
依托“互联网+监管”系统归集监管\n\
- 2 -\n\
行为数据，对高风险企业开展风险\n\
预警，实施信用分级分类监管，对\n\
失信主体依法实施联合惩戒。\n";

#[tokio::test]
async fn hard_wrapped_text_is_rejoined_unless_lines_are_asked_for() {
    let server = TestServer::start(&[]);
    let mut client = server.client().await;

    let resp = client
        .tag(request("w", WRAPPED))
        .await
        .unwrap()
        .into_inner();
    assert_offsets(WRAPPED, &resp.spans);
    let texts: Vec<&str> = resp.spans.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(texts.len(), 5, "{texts:#?}");
    assert_eq!(resp.spans[0].role(), Role::Heading);
    let first = &resp.spans[1];
    assert!(first.text.contains("双随机\n、一公开"), "{first:?}");
    assert!(
        codes(&first.themes).contains(&"guan.random_inspection"),
        "{first:?}"
    );
    assert_eq!(resp.spans[3].text, "- 2 -");
    assert_eq!(resp.spans[3].role(), Role::Boilerplate);
    assert!(
        codes(&resp.spans[4].themes).contains(&"guan.credit"),
        "{:?}",
        resp.spans[4]
    );

    let mut lines = request("l", WRAPPED);
    lines.line_mode = pb::LineMode::Lines as i32;
    let resp = client.tag(lines).await.unwrap().into_inner();
    assert_offsets(WRAPPED, &resp.spans);
    assert_eq!(resp.spans.len(), WRAPPED.lines().count());
}

#[tokio::test]
async fn evidence_points_at_the_words_that_raised_each_label() {
    let server = TestServer::start(&[]);
    let mut client = server.client().await;
    let text = "县行政审批局实行“一枚印章管审批”，划转部门审批事项187项。\n推行部门联合双随机一公开抽查，结果及时公示。";
    let mut req = request("e", text);
    req.include_evidence = true;
    let resp = client.tag(req).await.unwrap().into_inner();
    let mut seen = 0;
    for span in &resp.spans {
        for label in span.themes.iter().chain(&span.pillars) {
            assert!(!label.evidence.is_empty(), "{label:?}");
            for e in &label.evidence {
                assert!(e.weight > 0.0);
                assert!(e.start >= span.start && e.end <= span.end);
                let (s, t) = (e.start as usize, e.end as usize);
                assert!(text.is_char_boundary(s) && text.is_char_boundary(t));
                assert_eq!(text[..s].chars().count(), e.char_start as usize);
                assert_eq!(text[..t].chars().count(), e.char_end as usize);
                seen += 1;
            }
        }
    }
    assert!(seen >= 4);
    let centralization = resp.spans[0]
        .themes
        .iter()
        .find(|l| l.code == "fang.centralization")
        .expect("fang.centralization");
    let words: Vec<&str> = centralization
        .evidence
        .iter()
        .map(|e| &text[e.start as usize..e.end as usize])
        .collect();
    assert!(
        words
            .iter()
            .any(|w| w.contains("印章") || w.contains("审批") || w.contains("一枚")),
        "{words:?}"
    );

    // Without the flag, no evidence.
    let resp = client.tag(request("n", text)).await.unwrap().into_inner();
    assert!(
        resp.spans
            .iter()
            .all(|s| s.themes.iter().all(|l| l.evidence.is_empty()))
    );
}

/// `norm` with the word `w` taken off its front (`#`, a number folded by
/// the features, takes a run of digits).
fn strip_word<'a>(norm: &'a str, w: &str) -> Option<&'a str> {
    if w == "#" {
        let n = norm
            .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '%' | ',')))
            .unwrap_or(norm.len());
        (n > 0).then(|| &norm[n..])
    } else {
        norm.strip_prefix(w)
    }
}

/// Asserts that the original characters at an evidence item's offsets,
/// normalised, are exactly its term's characters: the word for a word or
/// dictionary hit, the two words (only punctuation between) for a word
/// pair, the two characters (only punctuation or a wrap newline between)
/// for a character pair.
fn assert_evidence_covers_its_term(text: &str, e: &pb::Evidence) {
    use pb::EvidenceKind as K;
    let (s, t) = (e.start as usize, e.end as usize);
    assert_eq!(text[..s].chars().count(), e.char_start as usize);
    assert_eq!(text[..t].chars().count(), e.char_end as usize);
    let original = &text[s..t];
    let norm = fgf_core::normalize::Normalized::new(original).text;
    let gap = |g: &str| !g.chars().any(char::is_alphanumeric);
    let ok = match e.kind() {
        K::Word => strip_word(&norm, &e.term) == Some(""),
        K::Dictionary => {
            let w = e
                .term
                .strip_prefix('@')
                .expect("a dictionary hit starts with @");
            strip_word(&norm, w) == Some("")
        }
        K::WordPair => {
            let (a, b) = e.term.split_once(' ').expect("a word pair has a space");
            (0..=norm.len())
                .filter(|&i| norm.is_char_boundary(i))
                .any(|i| {
                    strip_word(&norm[..i], a).is_some_and(gap)
                        && strip_word(&norm[i..], b) == Some("")
                })
        }
        K::CharPair => {
            let mut pair = e
                .term
                .strip_prefix('#')
                .expect("a char pair starts with #")
                .chars();
            let (x, y) = (pair.next().unwrap(), pair.next().unwrap());
            assert_eq!(pair.next(), None, "{}", e.term);
            let mut cs = norm.chars();
            cs.next() == Some(x) && cs.next_back() == Some(y) && gap(cs.as_str())
        }
        K::Unspecified => false,
    };
    assert!(ok, "{:?} ({:?}) points at {original:?}", e.term, e.kind());
}

/// Report paragraphs as users send them: traditional characters,
/// full-width digits, hard-wrapped lines, spaced-out words; and the sample
/// reply.
const EVIDENCE_DOC: &str = "二、關於深化“放管服”改革\n\
\u{3000}\u{3000}全面推行證明事項告知承諾制，對１２項涉企經營許可事項實行告知承諾，\n\
企業作出承諾即可當場辦理。依託一體化政務服務平台，推進政務服務“一網通辦”，\n\
企業群眾辦事“最多跑一次”。\n\
\u{3000}\u{3000}推行部門聯合“雙隨機、一公開”監管，建立信用監管機制，對失信企業依法實施聯合懲戒。\n\
\u{3000}\u{3000}成立行政審批局，實行“一枚印章管審批”，向鄉鎮下放事項４５項。依託互聯網+ 監管系統開展專項檢查，\
抽查比例不低於５%，全年辦理投訴１２３件。\n\
\u{3000}\u{3000}推進城市運行“一網統管”。為全市８０歲以上老人發放高齡補貼。\n";

#[tokio::test]
async fn every_evidence_item_points_at_exactly_its_terms_characters() {
    let server = TestServer::start(&[]);
    let mut client = server.client().await;
    let mut seen = std::collections::HashMap::new();
    for (id, text) in [("traditional", EVIDENCE_DOC), ("reply", REPLY)] {
        let mut req = request(id, text);
        req.include_evidence = true;
        req.granularity = Granularity::Sentence as i32;
        let resp = client.tag(req).await.unwrap().into_inner();
        let spans = resp
            .spans
            .iter()
            .flat_map(|p| std::iter::once(p).chain(&p.sentences));
        for span in spans {
            for label in span.themes.iter().chain(&span.pillars) {
                for e in &label.evidence {
                    assert!(e.start >= span.start && e.end <= span.end, "{e:?}");
                    assert_evidence_covers_its_term(text, e);
                    seen.entry(e.kind())
                        .or_insert_with(Vec::new)
                        .push(e.term.clone());
                }
            }
        }
    }
    // The documents give evidence of plain words and character pairs, whose
    // offsets differ most from the word they sit in. (Which terms rank in a
    // label's top three depends on the model; word pairs' offsets are also
    // checked beside the code, in features::every_term_points_at_exactly_its_characters.)
    for kind in [pb::EvidenceKind::Word, pb::EvidenceKind::CharPair] {
        assert!(seen.contains_key(&kind), "no {kind:?} evidence in {seen:?}");
    }
}

#[tokio::test]
async fn sigterm_ends_open_streams_after_the_documents_in_hand() {
    let server = TestServer::start(&[]);
    let mut client = server.client().await;
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(request("s1", "推行“一网通办”。")).await.unwrap();
    let mut inbound = client
        .tag_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    let first = inbound.next().await.unwrap().unwrap();
    assert_eq!(first.id, "s1");
    // The client keeps its side open; shutdown must still end the stream.
    let terminate = tokio::task::spawn_blocking(move || server.terminate());
    let end = tokio::time::timeout(std::time::Duration::from_secs(10), inbound.next())
        .await
        .expect("stream ended on shutdown");
    assert!(matches!(end, None | Some(Err(_))), "{end:?}");
    let status = terminate.await.unwrap();
    assert!(status.success(), "{status:?}");
    drop(tx);
}

#[tokio::test]
async fn a_token_guards_every_rpc_but_health() {
    use tonic_health::pb::health_check_response::ServingStatus;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "t0ken-for-tests\n").unwrap();
    let server = TestServer::start(&["--auth-token-file", token_file.to_str().unwrap()]);
    let mut client = server.client().await;

    let err = client.tag(request("a", "正文。")).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    assert!(
        err.message().contains("authorization: Bearer"),
        "{}",
        err.message()
    );

    let mut wrong = tonic::Request::new(request("b", "正文。"));
    fgf_grpc::auth::authorize(&mut wrong, "t0ken-for-test").unwrap();
    assert_eq!(
        client.tag(wrong).await.unwrap_err().code(),
        Code::Unauthenticated
    );

    let mut right = tonic::Request::new(request("c", "推行“一网通办”。"));
    fgf_grpc::auth::authorize(&mut right, "t0ken-for-tests").unwrap();
    assert_eq!(client.tag(right).await.unwrap().into_inner().id, "c");

    let err = client
        .get_model_info(pb::GetModelInfoRequest {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);

    let status = health_of(&server, "fgf.v1.Tagger").await;
    assert_eq!(status, ServingStatus::Serving);
}

/// Starts `n` Tag calls of `text` at once on `client`'s connection.
fn spawn_tags(
    client: &pb::tagger_client::TaggerClient<tonic::transport::Channel>,
    n: usize,
    text: &str,
) -> Vec<tokio::task::JoinHandle<Result<tonic::Response<pb::TagResponse>, tonic::Status>>> {
    (0..n)
        .map(|i| {
            let mut client = client.clone();
            let req = request(&format!("c{i}"), text);
            tokio::spawn(async move { client.tag(req).await })
        })
        .collect()
}

/// Waits for `calls`: (answered, shed). Every failure must be
/// RESOURCE_EXHAUSTED with `reason` in its message.
async fn answered_and_shed(
    calls: Vec<tokio::task::JoinHandle<Result<tonic::Response<pb::TagResponse>, tonic::Status>>>,
    reason: &str,
) -> (usize, usize) {
    let (mut ok, mut shed) = (0, 0);
    for call in calls {
        match call.await.unwrap() {
            Ok(_) => ok += 1,
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                assert!(status.message().contains(reason), "{}", status.message());
                shed += 1;
            }
        }
    }
    (ok, shed)
}

#[tokio::test]
async fn overload_is_shed_with_resource_exhausted_not_queued() {
    let server = TestServer::start(&["--cpu-jobs", "1", "--max-queue", "2"]);
    let client = server.client().await;
    let big = REPLY.repeat(400);
    let started = std::time::Instant::now();
    let calls = spawn_tags(&client, 16, &big);
    let (ok, shed) = answered_and_shed(calls, "busy").await;
    assert!(ok >= 1 && shed >= 1, "ok {ok}, shed {shed}");
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    // Still serving afterwards.
    let mut client = client.clone();
    assert!(client.tag(request("after", "正文。")).await.is_ok());
}

/// A free local port for a second listener (metrics).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET /metrics` from `addr`: the whole HTTP response.
async fn scrape(addr: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut body = String::new();
    stream.read_to_string(&mut body).await.unwrap();
    assert!(body.starts_with("HTTP/1.1 200 OK"), "{body}");
    body
}

/// The value of an unlabeled metric in a scrape.
fn metric(body: &str, name: &str) -> f64 {
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{name} missing in\n{body}"))
}

#[tokio::test]
async fn metrics_count_calls_by_rpc_and_status() {
    let metrics = format!("127.0.0.1:{}", free_port());
    let server = TestServer::start(&["--metrics-addr", &metrics, "--max-doc-bytes", "1000"]);
    let mut client = server.client().await;
    client.tag(request("m1", "推行“一网通办”。")).await.unwrap();
    let big = "放".repeat(400);
    assert!(client.tag(request("m2", &big)).await.is_err());
    client
        .get_model_info(pb::GetModelInfoRequest {})
        .await
        .unwrap();

    let body = scrape(&metrics).await;
    for line in [
        "fgf_requests_total{rpc=\"Tag\",code=\"OK\"} 1",
        "fgf_requests_total{rpc=\"Tag\",code=\"INVALID_ARGUMENT\"} 1",
        "fgf_requests_total{rpc=\"GetModelInfo\",code=\"OK\"} 1",
        "fgf_request_seconds_count{rpc=\"Tag\"} 2",
        "fgf_documents_total 1",
        "fgf_in_flight 0",
        "fgf_model_info{version=\"fgf-",
    ] {
        assert!(body.contains(line), "{line} missing in\n{body}");
    }
}

/// A request with the `authorization` header set to `value` as it is.
fn with_authorization<T>(msg: T, value: &str) -> tonic::Request<T> {
    let mut req = tonic::Request::new(msg);
    req.metadata_mut()
        .insert("authorization", value.parse().unwrap());
    req
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive_and_failures_show_in_metrics_and_log() {
    use tonic_health::pb::health_check_response::ServingStatus;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "s3cret-token\n").unwrap();
    // A copy of the model, to reload it and then a corrupt file.
    let model = dir.path().join("fgf.model");
    std::fs::copy("models/fgf.model", &model).unwrap();
    let metrics = format!("127.0.0.1:{}", free_port());
    let (server, log) = TestServer::start_logged(
        &[
            "--auth-token-file",
            token_file.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
            "--metrics-addr",
            &metrics,
        ],
        "info",
    );
    let mut client = server.client().await;

    // Any case of the scheme (RFC 7235), one or more spaces.
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR "] {
        let req = with_authorization(
            request("ok", "推行“一网通办”。"),
            &format!("{scheme} s3cret-token"),
        );
        assert_eq!(
            client.tag(req).await.unwrap().into_inner().id,
            "ok",
            "{scheme}"
        );
    }
    // Refused: no header (twice), another scheme, a wrong token.
    for _ in 0..2 {
        let err = client.tag(request("none", "正文。")).await.unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated);
    }
    let err = client
        .tag(with_authorization(
            request("basic", "正文。"),
            "Basic s3cret-token",
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    assert!(
        err.message().contains("Bearer <token>"),
        "{}",
        err.message()
    );
    let err = client
        .get_model_info(with_authorization(
            pb::GetModelInfoRequest {},
            "bearer wr0ng-token",
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    // Health needs no token.
    let status = health_of(&server, "fgf.v1.Tagger").await;
    assert_eq!(status, ServingStatus::Serving);
    // Nor does reflection, which grpcurl needs to call anything (health
    // included): the README's grpcurl health check works as written.
    use tonic_reflection::pb::v1alpha as ra;
    let mut reflection =
        ra::server_reflection_client::ServerReflectionClient::new(server.channel().await);
    let list = ra::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(ra::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut answers = reflection
        .server_reflection_info(tokio_stream::iter([list]))
        .await
        .expect("reflection without a token")
        .into_inner();
    assert!(answers.next().await.unwrap().is_ok());

    // A reload that works, and one of a corrupt file.
    let authed = || with_authorization(pb::ReloadModelRequest {}, "Bearer s3cret-token");
    client.reload_model(authed()).await.unwrap();
    std::fs::write(&model, b"{ not a model").unwrap();
    let err = client.reload_model(authed()).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);

    let body = scrape(&metrics).await;
    for line in [
        "fgf_auth_failures_total{reason=\"missing\"} 2",
        "fgf_auth_failures_total{reason=\"malformed\"} 1",
        "fgf_auth_failures_total{reason=\"wrong_token\"} 1",
        "fgf_reloads_total{result=\"ok\"} 1",
        "fgf_reloads_total{result=\"failed\"} 1",
    ] {
        assert!(body.contains(line), "{line} missing in\n{body}");
    }

    // The log: each refusal at warn with peer, rpc and reason; reloads at
    // info and warn; never the token or what was presented.
    let text = log.wait_for(&["model reload refused"]);
    let refused: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("call refused"))
        .collect();
    assert_eq!(refused.len(), 4, "{text}");
    for l in &refused {
        assert!(l.contains("WARN") && l.contains("peer=127.0.0.1:"), "{l}");
    }
    for (rpc, reason) in [
        ("Tag", "missing"),
        ("Tag", "malformed"),
        ("GetModelInfo", "wrong_token"),
    ] {
        let want = format!("rpc=/fgf.v1.Tagger/{rpc} reason={reason}");
        assert!(
            refused.iter().any(|l| l.contains(&want)),
            "{want}: {refused:?}"
        );
    }
    assert!(
        text.lines()
            .any(|l| l.contains("INFO") && l.contains("model reloaded")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("WARN") && l.contains("model reload refused")),
        "{text}"
    );
    assert!(
        !text.contains("s3cret") && !text.contains("wr0ng"),
        "{text}"
    );
}

#[tokio::test]
async fn one_connection_over_its_call_limit_is_shed_while_others_are_served() {
    let server = TestServer::start(&[
        "--cpu-jobs",
        "1",
        "--max-queue",
        "1000",
        "--max-conn-calls",
        "3",
    ]);
    let greedy = server.client().await;
    let big = REPLY.repeat(2000);
    let calls = spawn_tags(&greedy, 12, &big);
    // Another connection, opened while the greedy one is over its limit.
    let mut polite = server.client().await;
    let polite_call = polite.tag(request("p", "推行告知承诺制。"));

    let (ok, shed) = answered_and_shed(calls, "connection").await;
    assert!(ok >= 3 && shed >= 1, "ok {ok}, shed {shed}");
    assert!(polite_call.await.is_ok());
    // The greedy connection is served again once its calls are done.
    let mut greedy = greedy.clone();
    assert!(
        greedy
            .tag(request("again", "推行告知承诺制。"))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn work_for_a_caller_whose_deadline_passed_is_dropped() {
    let metrics = format!("127.0.0.1:{}", free_port());
    let server = TestServer::start(&["--cpu-jobs", "1", "--metrics-addr", &metrics]);
    let client = server.client().await;
    // Keeps the only CPU slot busy for a while (hundreds of ms in release).
    let mut busy = client.clone();
    let big = REPLY.repeat(5000);
    let busy_call = tokio::spawn(async move { busy.tag(request("busy", &big)).await });
    while metric(&scrape(&metrics).await, "fgf_in_flight") < 1.0 {
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    // These callers give up while waiting for the slot.
    let late: Vec<_> = (0..10)
        .map(|i| {
            let mut client = client.clone();
            let mut req = tonic::Request::new(request(&format!("late{i}"), "推行告知承诺制。"));
            req.set_timeout(std::time::Duration::from_millis(20));
            tokio::spawn(async move { client.tag(req).await })
        })
        .collect();
    for call in late {
        let status = call.await.unwrap().unwrap_err();
        assert!(
            matches!(status.code(), Code::DeadlineExceeded | Code::Cancelled),
            "{status:?}"
        );
    }
    assert!(busy_call.await.unwrap().is_ok());
    // Had the abandoned documents been kept, the free slot would tag them now.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let body = scrape(&metrics).await;
    assert_eq!(metric(&body, "fgf_in_flight"), 0.0, "{body}");
    assert_eq!(metric(&body, "fgf_documents_total"), 1.0, "{body}");
}

#[tokio::test]
async fn soak_mix_gets_only_expected_statuses_and_leaves_the_server_serving() {
    let server = TestServer::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("soak.json");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_fgf"))
        .args(["soak", "--server", &server.url(), "--concurrency", "4"])
        .args(["--duration", "3s", "--warmup", "500ms", "--settle", "200ms"])
        .arg("--json")
        .arg(&report)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(report["unexpected"], 0, "{stdout}");
    assert_eq!(report["health_after"], "SERVING");
    // Every kind of call was made, bad ones included.
    for kind in [
        "normal",
        "oversized",
        "binary",
        "malformed",
        "stream",
        "stream_document",
    ] {
        assert!(
            report["kinds"][kind]["calls"].as_u64() > Some(0),
            "{kind}: {stdout}"
        );
    }
}

/// A TagRequest encoded by hand: `id`, then `text` as raw bytes.
fn raw_tag_request(id: &str, text: &[u8]) -> Vec<u8> {
    use prost::Message;
    #[derive(Clone, PartialEq, prost::Message)]
    struct Raw {
        #[prost(string, tag = "1")]
        id: String,
        #[prost(bytes = "vec", tag = "2")]
        text: Vec<u8>,
    }
    Raw {
        id: id.to_string(),
        text: text.to_vec(),
    }
    .encode_to_vec()
}

#[tokio::test]
async fn text_that_is_not_utf8_gets_invalid_argument_with_the_offset_also_in_a_stream() {
    use prost::Message;
    let server = TestServer::start(&[]);
    let mut grpc = tonic::client::Grpc::new(server.channel().await);
    // "政务" then a GBK byte pair: the first bad byte is at offset 6.
    let mut gbk = "政务".as_bytes().to_vec();
    gbk.extend([0xd5, 0xfe]);
    grpc.ready().await.unwrap();
    let err = grpc
        .unary::<Vec<u8>, Vec<u8>, _>(
            tonic::Request::new(raw_tag_request("g", &gbk)),
            "/fgf.v1.Tagger/Tag".parse().unwrap(),
            fgf_grpc::client::RawCodec,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(err.message().contains("byte offset 6"), "{}", err.message());

    // A media_type that is not UTF-8 (field 10) is named too.
    let mut bad_media_type = raw_tag_request("m", "推行告知承诺制".as_bytes());
    bad_media_type.extend([0x52, gbk.len() as u8]);
    bad_media_type.extend(&gbk);
    grpc.ready().await.unwrap();
    let err = grpc
        .unary::<Vec<u8>, Vec<u8>, _>(
            tonic::Request::new(bad_media_type),
            "/fgf.v1.Tagger/Tag".parse().unwrap(),
            fgf_grpc::client::RawCodec,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(
        err.message().contains("media_type is not valid UTF-8"),
        "{}",
        err.message()
    );

    // Segment too.
    grpc.ready().await.unwrap();
    let err = grpc
        .unary::<Vec<u8>, Vec<u8>, _>(
            tonic::Request::new([vec![0x0a, gbk.len() as u8], gbk.clone()].concat()),
            "/fgf.v1.Tagger/Segment".parse().unwrap(),
            fgf_grpc::client::RawCodec,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(err.message().contains("byte offset 6"), "{}", err.message());

    // In a stream the bad document gets its own error; the next is tagged.
    let docs = vec![
        raw_tag_request("a", REPLY.as_bytes()),
        raw_tag_request("b", &gbk),
        raw_tag_request("c", REPLY.as_bytes()),
    ];
    grpc.ready().await.unwrap();
    let responses: Vec<pb::TagResponse> = grpc
        .streaming::<_, Vec<u8>, Vec<u8>, _>(
            tonic::Request::new(tokio_stream::iter(docs)),
            "/fgf.v1.Tagger/TagStream".parse().unwrap(),
            fgf_grpc::client::RawCodec,
        )
        .await
        .unwrap()
        .into_inner()
        .map(|r| pb::TagResponse::decode(&r.unwrap()[..]).unwrap())
        .collect()
        .await;
    let ids: Vec<&str> = responses.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c"]);
    let error = responses[1].error.as_ref().expect("error for b");
    assert_eq!(error.code, Code::InvalidArgument as i32);
    assert!(error.message.contains("byte offset 6"), "{}", error.message);
    assert!(responses[0].error.is_none() && responses[2].error.is_none());
    assert_eq!(responses[2].spans.len(), 8);
}

#[tokio::test]
async fn omit_text_keeps_offsets_and_leaves_span_text_out() {
    use prost::Message;
    let server = TestServer::start(&[]);
    let mut client = server.client().await;
    let mut full = request("o", REPLY);
    full.granularity = Granularity::Sentence as i32;
    full.include_evidence = true;
    let mut lean = full.clone();
    lean.omit_text = true;
    let with = client.tag(full).await.unwrap().into_inner();
    let without = client.tag(lean).await.unwrap().into_inner();
    assert_eq!(with.spans.len(), without.spans.len());
    fn check(with: &[pb::Span], without: &[pb::Span]) {
        for (a, b) in with.iter().zip(without) {
            assert!(!a.text.is_empty());
            assert!(b.text.is_empty());
            assert_eq!(
                (a.start, a.end, a.char_start, a.char_end),
                (b.start, b.end, b.char_start, b.char_end)
            );
            assert_eq!(
                (&a.pillars, &a.themes, a.role),
                (&b.pillars, &b.themes, b.role)
            );
            check(&a.sentences, &b.sentences);
        }
    }
    check(&with.spans, &without.spans);
    fn text_bytes(spans: &[pb::Span]) -> usize {
        spans
            .iter()
            .map(|s| s.text.len() + text_bytes(&s.sentences))
            .sum()
    }
    assert!(without.encoded_len() + text_bytes(&with.spans) <= with.encoded_len());
}

#[tokio::test]
async fn all_scores_returns_every_label_and_line_mode_zero_and_two_reflow() {
    let server = TestServer::start(&[]);
    let mut client = server.client().await;
    let info = client
        .get_model_info(pb::GetModelInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    let (pillars, themes) = info
        .labels
        .iter()
        .partition::<Vec<_>, _>(|l| l.pillar.is_empty());
    let mut req = request("all", REPLY);
    req.all_scores = true;
    let resp = client.tag(req.clone()).await.unwrap().into_inner();
    for s in resp.spans.iter().filter(|s| s.role() != Role::Boilerplate) {
        assert_eq!(s.pillars.len(), pillars.len(), "{}", s.text);
        assert_eq!(s.themes.len(), themes.len(), "{}", s.text);
    }
    // Not together with a threshold.
    req.threshold = 0.5;
    let err = client.tag(req).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("all_scores"), "{}", err.message());
    // LINE_MODE_UNSPECIFIED (0) and LINE_MODE_REFLOW (2) are the same.
    let mut zero = request("w", WRAPPED);
    zero.line_mode = pb::LineMode::Unspecified as i32;
    let mut two = zero.clone();
    two.line_mode = pb::LineMode::Reflow as i32;
    assert_eq!(two.line_mode, 2);
    let a = client.tag(zero).await.unwrap().into_inner();
    let b = client.tag(two).await.unwrap().into_inner();
    assert_eq!(a, b);
    assert_eq!(info.max_doc_bytes, 4 * 1024 * 1024);
}

#[tokio::test]
async fn documents_over_the_inflight_budget_get_resource_exhausted_naming_the_flag() {
    let metrics = format!("127.0.0.1:{}", free_port());
    let server = TestServer::start(&[
        "--cpu-jobs",
        "1",
        "--metrics-addr",
        &metrics,
        "--max-inflight-bytes",
        "4194304",
    ]);
    let client = server.client().await;
    // Takes about 3.5 MB of the 4 MiB budget while it is tagged.
    let mut busy = client.clone();
    let big = REPLY.repeat(5000);
    assert!(big.len() > 3_000_000 && big.len() <= 4 * 1024 * 1024);
    let busy_call = tokio::spawn(async move { busy.tag(request("busy", &big)).await });
    while metric(&scrape(&metrics).await, "fgf_in_flight") < 1.0 {
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let second = REPLY.repeat(1500); // about 1 MB: does not fit next to it
    let mut other = client.clone();
    let err = other.tag(request("second", &second)).await.unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert!(
        err.message().contains("--max-inflight-bytes"),
        "{}",
        err.message()
    );
    assert!(err.message().contains("retry later"), "{}", err.message());
    // In a stream, the same as that document's answer.
    let answers: Vec<pb::TagResponse> = other
        .tag_stream(tokio_stream::iter(vec![request("s", &second)]))
        .await
        .unwrap()
        .into_inner()
        .map(|r| r.unwrap())
        .collect()
        .await;
    assert_eq!(
        answers[0].error.as_ref().map(|e| e.code),
        Some(Code::ResourceExhausted as i32)
    );
    assert!(busy_call.await.unwrap().is_ok());
    // Once the budget is back, the same document is served.
    assert!(other.tag(request("second", &second)).await.is_ok());
}

#[test]
fn max_doc_bytes_over_the_inflight_budget_is_refused_at_startup() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fgf"))
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--model",
            "models/fgf.model",
        ])
        .args([
            "--max-doc-bytes",
            "2000000",
            "--max-inflight-bytes",
            "1000000",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--max-inflight-bytes"), "{stderr}");
}

#[test]
fn a_public_metrics_address_needs_listen_public() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fgf"))
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--model",
            "models/fgf.model",
        ])
        .args(["--metrics-addr", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--metrics-addr") && stderr.contains("--listen-public"),
        "{stderr}"
    );
}

#[tokio::test]
async fn addr_takes_a_host_name() {
    let server = TestServer::start_at("localhost:0", &[]);
    let mut client = server.client().await;
    assert!(client.tag(request("h", "正文。")).await.is_ok());
}
