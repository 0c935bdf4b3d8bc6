//! Plain text in the encodings Chinese documents come in: UTF-8 (with or
//! without a BOM), UTF-16 (with a BOM, or without one when the NUL bytes
//! say which half of each pair is zero), GB18030/GBK and Big5 (detected
//! with chardetng, Firefox's detector), or any encoding the caller names.
//!
//! Decoding never replaces a byte it cannot read: text that is malformed
//! in the encoding chosen is an error naming the encoding and the byte
//! offset, so that a wrong guess is seen, not tagged as mojibake.

use std::fmt;

use chardetng::{EncodingDetector, Iso2022JpDetection, Utf8Detection};
use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};

/// Text decoded from bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedText {
    pub text: String,
    /// The encoding read, by its WHATWG name ("UTF-8", "GBK", "Big5",
    /// "UTF-16LE", ...).
    pub encoding: &'static str,
    /// How the encoding was chosen.
    pub how: Detection,
}

/// How [`decode_text`] chose the encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detection {
    /// The caller named it.
    Given,
    /// A byte-order mark.
    Bom,
    /// The bytes are valid UTF-8.
    ValidUtf8,
    /// Every other byte is NUL: UTF-16 without a BOM.
    Utf16Nuls,
    /// chardetng's guess.
    Guessed,
}

/// Why bytes are not text this module can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextError {
    /// NUL bytes that are not UTF-16: a binary file.
    Binary,
    /// Malformed in the encoding chosen, first at byte `offset`.
    Malformed {
        encoding: &'static str,
        how: Detection,
        offset: usize,
    },
    /// The caller named an encoding nobody knows.
    UnknownEncoding(String),
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TextError::Binary => write!(
                f,
                "not a text file (it has NUL bytes and is not UTF-16): a Word .doc/.wps, \
                 PDF or image cannot be read as text; save it as text (UTF-8) first"
            ),
            TextError::Malformed {
                encoding,
                how,
                offset,
            } => {
                let chosen = match how {
                    Detection::Given => "the encoding given",
                    Detection::Guessed => "the encoding guessed",
                    _ => "the encoding its bytes announce",
                };
                write!(
                    f,
                    "not valid {encoding} ({chosen}) at byte {offset}; if the file is in \
                     another encoding, name it with --encoding (e.g. gb18030, big5, utf-16le)"
                )
            }
            TextError::UnknownEncoding(label) => write!(
                f,
                "unknown encoding {label:?}; use a WHATWG label such as utf-8, gb18030, gbk, \
                 big5, utf-16le or utf-16be"
            ),
        }
    }
}

impl std::error::Error for TextError {}

/// The encoding a label names (`gb18030`, `GBK`, `big5`, `utf-16le`,
/// `utf8`, ...: the WHATWG Encoding Standard's labels).
pub fn encoding_for_label(label: &str) -> Result<&'static Encoding, TextError> {
    Encoding::for_label(label.trim().as_bytes())
        .ok_or_else(|| TextError::UnknownEncoding(label.to_string()))
}

/// Decodes `bytes` as text: in `given` when named (a BOM for that
/// encoding is dropped), else by BOM, valid UTF-8, UTF-16 by its NUL
/// bytes, or chardetng's guess, in that order.
pub fn decode_text(
    bytes: &[u8],
    given: Option<&'static Encoding>,
) -> Result<DecodedText, TextError> {
    if let Some(encoding) = given {
        let body = match Encoding::for_bom(bytes) {
            Some((bom, len)) if bom == encoding => &bytes[len..],
            _ => bytes,
        };
        return decode_as(body, encoding, Detection::Given, bytes.len() - body.len());
    }
    if let Some((encoding, len)) = Encoding::for_bom(bytes) {
        return decode_as(&bytes[len..], encoding, Detection::Bom, len);
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(DecodedText {
            text: text.to_string(),
            encoding: UTF_8.name(),
            how: Detection::ValidUtf8,
        });
    }
    if bytes.contains(&0) {
        return match utf16_by_nuls(bytes) {
            Some(encoding) => decode_as(bytes, encoding, Detection::Utf16Nuls, 0),
            None => Err(TextError::Binary),
        };
    }
    let mut detector = EncodingDetector::new(Iso2022JpDetection::Deny);
    detector.feed(bytes, true);
    let encoding = detector.guess(None, Utf8Detection::Allow);
    decode_as(bytes, encoding, Detection::Guessed, 0)
}

/// UTF-16 without a BOM: the byte order whose decoding of the first 4 KiB
/// reads as text (nine in ten chars are CJK, CJK or full-width
/// punctuation, or printable ASCII and line breaks); none when neither
/// does.
fn utf16_by_nuls(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(4096) & !1];
    let readable = |encoding: &'static Encoding| -> bool {
        let (text, _) = encoding.decode_without_bom_handling(head);
        let (mut good, mut all) = (0usize, 0usize);
        for c in text.chars() {
            all += 1;
            if matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3000}'..='\u{303F}' | '\u{FF00}'..='\u{FFEF}')
                || (c.is_ascii() && (!c.is_ascii_control() || matches!(c, '\n' | '\r' | '\t')))
            {
                good += 1;
            }
        }
        all > 0 && good * 10 >= all * 9
    };
    [UTF_16LE, UTF_16BE].into_iter().find(|&e| readable(e))
}

/// `body` decoded as `encoding` without replacement; `skipped` bytes (a
/// BOM) came before it, for the error offset.
fn decode_as(
    body: &[u8],
    encoding: &'static Encoding,
    how: Detection,
    skipped: usize,
) -> Result<DecodedText, TextError> {
    match encoding.decode_without_bom_handling_and_without_replacement(body) {
        Some(text) => Ok(DecodedText {
            text: text.into_owned(),
            encoding: encoding.name(),
            how,
        }),
        None => Err(TextError::Malformed {
            encoding: encoding.name(),
            how,
            offset: skipped + first_malformed(body, encoding),
        }),
    }
}

/// Byte offset of the first malformed sequence of `body` in `encoding`.
fn first_malformed(body: &[u8], encoding: &'static Encoding) -> usize {
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let mut out = String::with_capacity(
        decoder
            .max_utf8_buffer_length_without_replacement(body.len())
            .unwrap_or(body.len() * 3),
    );
    let (result, read) = decoder.decode_to_string_without_replacement(body, &mut out, true);
    match result {
        encoding_rs::DecoderResult::Malformed(bad, after) => {
            read.saturating_sub(bad as usize + after as usize)
        }
        _ => read,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use encoding_rs::{BIG5, GB18030};

    const PLAN: &str = "一、深化审批制度改革\n全面推行告知承诺制，审批时限压缩至10个工作日。\n";

    fn encode(text: &str, encoding: &'static Encoding) -> Vec<u8> {
        let (bytes, _, unmappable) = encoding.encode(text);
        assert!(!unmappable);
        bytes.into_owned()
    }

    fn utf16(text: &str, little_endian: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        if bom {
            out.extend_from_slice(if little_endian {
                &[0xFF, 0xFE]
            } else {
                &[0xFE, 0xFF]
            });
        }
        for unit in text.encode_utf16() {
            let b = if little_endian {
                unit.to_le_bytes()
            } else {
                unit.to_be_bytes()
            };
            out.extend_from_slice(&b);
        }
        out
    }

    #[test]
    fn utf8_with_and_without_bom() {
        let plain = decode_text(PLAN.as_bytes(), None).unwrap();
        assert_eq!((plain.text.as_str(), plain.encoding), (PLAN, "UTF-8"));
        assert_eq!(plain.how, Detection::ValidUtf8);
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice(PLAN.as_bytes());
        let with_bom = decode_text(&bom, None).unwrap();
        assert_eq!(
            (with_bom.text.as_str(), with_bom.how),
            (PLAN, Detection::Bom)
        );
    }

    #[test]
    fn utf16_with_a_bom_or_told_by_its_nul_bytes() {
        for little_endian in [true, false] {
            for bom in [true, false] {
                let d = decode_text(&utf16(PLAN, little_endian, bom), None).unwrap();
                assert_eq!(d.text, PLAN, "le {little_endian} bom {bom}");
                assert_eq!(
                    d.encoding,
                    if little_endian {
                        "UTF-16LE"
                    } else {
                        "UTF-16BE"
                    }
                );
            }
        }
    }

    #[test]
    fn gb18030_and_big5_are_guessed() {
        let longer = PLAN.repeat(3);
        let gbk = decode_text(&encode(&longer, GB18030), None).unwrap();
        assert_eq!(gbk.text, longer);
        assert_eq!((gbk.encoding, gbk.how), ("GBK", Detection::Guessed));
        let traditional =
            "一、深化審批制度改革\n全面推行告知承諾制，審批時限壓縮至10個工作日。\n".repeat(3);
        let big5 = decode_text(&encode(&traditional, BIG5), None).unwrap();
        assert_eq!(
            (big5.text.as_str(), big5.encoding),
            (traditional.as_str(), "Big5")
        );
    }

    #[test]
    fn a_named_encoding_wins_and_a_wrong_one_is_an_error_with_the_offset() {
        let bytes = encode(PLAN, GB18030);
        let given = decode_text(&bytes, Some(encoding_for_label("gb18030").unwrap())).unwrap();
        assert_eq!((given.text.as_str(), given.how), (PLAN, Detection::Given));
        let err = decode_text(&bytes, Some(UTF_8)).unwrap_err();
        assert!(
            matches!(
                err,
                TextError::Malformed {
                    encoding: "UTF-8",
                    how: Detection::Given,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("--encoding"), "{err}");
        let mut late = PLAN.as_bytes().to_vec();
        late.push(0xFF);
        let err = decode_text(&late, Some(UTF_8)).unwrap_err();
        assert!(
            matches!(err, TextError::Malformed { offset, .. } if offset == PLAN.len()),
            "{err:?}"
        );
        assert!(matches!(
            encoding_for_label("klingon"),
            Err(TextError::UnknownEncoding(_))
        ));
    }

    #[test]
    fn binary_files_are_refused() {
        let mut doc = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1".to_vec(); // an OLE header (.doc/.wps)
        doc.extend((0..600u32).map(|i| (i * 7 % 251) as u8));
        doc.extend([0u8; 64]);
        let err = decode_text(&doc, None).unwrap_err();
        assert_eq!(err, TextError::Binary);
        assert!(err.to_string().contains("not a text file"), "{err}");
    }
}
