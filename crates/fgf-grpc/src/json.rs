//! The proto3 canonical JSON form of a TagResponse, as `fgf tag` writes it
//! and `POST /v1/tag` answers ([`crate::http`]): one encoder, so the two
//! are byte-identical.
//!
//! Field names are lowerCamelCase, enums are their value names, fields at
//! their default value are left out, as protobuf's JSON mapping specifies;
//! so each output line is what `grpcurl` or any protobuf JSON printer would
//! show for the same TagResponse. Floats are written as Go's protojson
//! writes them (`0.97466385`, `1`), which serde's f32 output is not (`1.0`):
//! the other messages go through the pbjson-generated serde impls.

use serde_json::{Map, Value, json};

use crate::pb;

/// A `float` field as protobuf JSON printers write it (grpcurl, Go's
/// protojson): the shortest decimal that reads back as the same f32
/// (0.97466385, not the f64 widening 0.9746638536453247); NaN and the
/// infinities as the strings the JSON mapping specifies.
fn float(x: f32) -> Value {
    if x.is_nan() {
        return json!("NaN");
    }
    if x.is_infinite() {
        return json!(if x > 0.0 { "Infinity" } else { "-Infinity" });
    }
    // Whole numbers without a fraction, as Go prints them (1, not 1.0).
    if x.fract() == 0.0 && x.abs() < 1e15 {
        return json!(x as i64);
    }
    // f32's Display is the shortest round-trip form; as an f64 it prints
    // with the same digits.
    json!(x.to_string().parse::<f64>().unwrap_or(f64::from(x)))
}

/// Inserts `value` under `key` unless it is the field's default.
fn put(map: &mut Map<String, Value>, key: &str, value: Value) {
    let is_default = match &value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(_) => false,
    };
    if !is_default {
        map.insert(key.to_string(), value);
    }
}

fn object(fields: Vec<(&str, Value)>) -> Value {
    let mut map = Map::new();
    for (k, v) in fields {
        put(&mut map, k, v);
    }
    Value::Object(map)
}

fn evidence(e: &pb::Evidence) -> Value {
    object(vec![
        ("term", json!(e.term)),
        ("weight", float(e.weight)),
        ("start", json!(e.start)),
        ("end", json!(e.end)),
        ("charStart", json!(e.char_start)),
        ("charEnd", json!(e.char_end)),
        (
            "kind",
            enum_value(e.kind, pb::EvidenceKind::Unspecified, |k| k.as_str_name()),
        ),
    ])
}

/// An enum field: its value name, left out (null) at the UNSPECIFIED zero
/// value, the number for a value this build does not know.
fn enum_value<E: TryFrom<i32> + PartialEq>(
    value: i32,
    unspecified: E,
    name: impl Fn(&E) -> &'static str,
) -> Value {
    match E::try_from(value) {
        Ok(e) if e == unspecified => Value::Null,
        Ok(e) => json!(name(&e)),
        Err(_) => json!(value),
    }
}

fn label(l: &pb::LabelScore) -> Value {
    object(vec![
        ("code", json!(l.code)),
        ("name", json!(l.name)),
        ("score", float(l.score)),
        (
            "evidence",
            Value::Array(l.evidence.iter().map(evidence).collect()),
        ),
    ])
}

fn span(s: &pb::Span) -> Value {
    object(vec![
        ("start", json!(s.start)),
        ("end", json!(s.end)),
        ("charStart", json!(s.char_start)),
        ("charEnd", json!(s.char_end)),
        ("text", json!(s.text)),
        (
            "role",
            enum_value(s.role, pb::Role::Unspecified, |r| r.as_str_name()),
        ),
        (
            "pillars",
            Value::Array(s.pillars.iter().map(label).collect()),
        ),
        ("themes", Value::Array(s.themes.iter().map(label).collect())),
        (
            "sentences",
            Value::Array(s.sentences.iter().map(span).collect()),
        ),
    ])
}

fn share(s: &pb::LabelShare) -> Value {
    object(vec![
        ("code", json!(s.code)),
        ("name", json!(s.name)),
        ("chars", json!(s.chars)),
        ("share", float(s.share)),
    ])
}

/// A TagResponse as one JSON object.
pub fn tag_response(r: &pb::TagResponse) -> Value {
    let summary = r.summary.as_ref().map_or(Value::Null, |s| {
        object(vec![
            ("paragraphs", json!(s.paragraphs)),
            ("bodyChars", json!(s.body_chars)),
            (
                "pillars",
                Value::Array(s.pillars.iter().map(share).collect()),
            ),
            ("themes", Value::Array(s.themes.iter().map(share).collect())),
        ])
    });
    let error = r.error.as_ref().map_or(Value::Null, |e| {
        object(vec![("code", json!(e.code)), ("message", json!(e.message))])
    });
    object(vec![
        ("id", json!(r.id)),
        ("spans", Value::Array(r.spans.iter().map(span).collect())),
        ("modelVersion", json!(r.model_version)),
        ("summary", summary),
        ("error", error),
        ("text", json!(r.text)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_are_printed_as_f32() {
        assert_eq!(float(0.974_663_85).to_string(), "0.97466385");
        assert_eq!(float(0.1).to_string(), "0.1");
        assert_eq!(float(1.0).to_string(), "1");
        assert_eq!(float(f32::NAN), json!("NaN"));
        let label = pb::LabelScore {
            code: "fu".into(),
            score: 0.974_663_85,
            ..Default::default()
        };
        assert_eq!(
            super::label(&label).to_string(),
            r#"{"code":"fu","score":0.97466385}"#
        );
    }

    #[test]
    fn defaults_are_left_out_and_names_are_camel_case() {
        let r = pb::TagResponse {
            id: "d1".into(),
            spans: vec![pb::Span {
                start: 0,
                end: 6,
                char_start: 0,
                char_end: 2,
                text: "审批".into(),
                role: pb::Role::Body as i32,
                ..Default::default()
            }],
            model_version: "fgf-x".into(),
            summary: None,
            error: None,
            text: String::new(),
        };
        let v = tag_response(&r);
        assert_eq!(
            v,
            json!({"id": "d1", "modelVersion": "fgf-x", "spans": [
                {"end": 6, "charEnd": 2, "text": "审批", "role": "ROLE_BODY"}
            ]})
        );
    }
}
