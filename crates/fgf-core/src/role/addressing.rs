//! Who a letter is to and from: salutations ("张三代表：", "林**委员，您好："),
//! addressee lists ("各县（市、区）人民政府，市直各部门："), and signatures (an
//! organisation alone on its line, perhaps with its date).

use super::headings::starts_with_heading_marker;
use super::metadata::ends_with_date;
use super::text::has_sentence_punct;

/// Suffixes of organisation names, for signature lines.
const ORG_SUFFIXES: &[&str] = &[
    "局",
    "厅",
    "委",
    "委员会",
    "办公室",
    "办公厅",
    "政府",
    "中心",
    "办",
    "部",
    "院",
    "会",
    "处",
    "科",
    "所",
    "站",
    "组",
    "公司",
];

/// Words an addressee ends with: people ("代表", "同志们") or organisations.
const ADDRESSEE_ENDINGS: &[&str] = &[
    "代表",
    "委员",
    "同志",
    "同志们",
    "先生",
    "女士",
    "老师",
    "朋友们",
    "各位",
    "单位",
    "部门",
    "机构",
    "企业",
    "集团",
    "处室",
    "科室",
    "县",
    "区",
    "市",
    "省",
    "州",
    "旗",
    "乡",
    "镇",
    "街道",
    "管委会",
];

/// True when `s` (a salutation without its colon) ends with an addressee:
/// a person's title or an organisation.
fn is_addressee(s: &str) -> bool {
    let mut s = s.trim_end();
    s = s
        .strip_suffix("您好")
        .unwrap_or(s)
        .trim_end_matches(['，', ',']);
    // "马**代表（领衔）", "政务服务中心（行政审批局）": the name before the note.
    if let Some(open) = s.rfind(['（', '(']).filter(|_| s.ends_with(['）', ')'])) {
        s = &s[..open];
    }
    ADDRESSEE_ENDINGS
        .iter()
        .chain(ORG_SUFFIXES)
        .any(|e| s.ends_with(e))
}

/// The parts of `s` between `separators` that are not inside brackets:
/// "各县（市、区）政府，市直各部门" → "各县（市、区）政府", "市直各部门".
fn split_outside_brackets<'a>(
    s: &'a str,
    separators: &'a [char],
) -> impl Iterator<Item = &'a str> + 'a {
    let mut depth = 0i32;
    let mut start = 0;
    let mut parts = Vec::new();
    for (i, c) in s.char_indices() {
        match c {
            '（' | '(' => depth += 1,
            '）' | ')' => depth -= 1,
            c if depth <= 0 && separators.contains(&c) => {
                parts.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts.into_iter()
}

/// A salutation or an addressee list, ending in a colon, or a short line
/// naming a deputy or opening with 尊敬的.
pub(super) fn is_salutation(p: &str, len: usize) -> bool {
    // Salutation: "张三代表：", "****委员:", "省发展改革委：", "各县（市、区）
    // 人民政府，市政府各部门：". A short line ending in a colon that names no
    // addressee is a lead-in heading instead ("具体措施：", "主要做法：").
    if len <= 30
        && (p.ends_with('：') || p.ends_with(':'))
        && !starts_with_heading_marker(p)
        && is_addressee(p.trim_end_matches(['：', ':']))
    {
        return true;
    }
    // A long addressee list: "各县（市、区）人民政府，市直各部门，……管委会：".
    if len <= 120
        && (p.ends_with('：') || p.ends_with(':'))
        && !p.contains('。')
        && p.contains(['、', '，', ','])
        && split_outside_brackets(p, &['、', '，', ',']).all(|part| {
            let part = part.trim().trim_end_matches(['：', ':']);
            part.is_empty() || is_addressee(part)
        })
    {
        return true;
    }
    if len <= 14 && (p.ends_with("代表") || p.ends_with("委员") || p.starts_with("尊敬的")) {
        return true;
    }
    false
}

/// A signature: an organisation alone on its line, perhaps with "（代章）" or
/// with its date.
pub(super) fn is_signature(p: &str, len: usize) -> bool {
    // A signature and its date on one line: "某某局  2022年9月16日".
    if len <= 40 && !has_sentence_punct(p) && ends_with_date(p) {
        return true;
    }
    // Signature: an organisation name alone on its line, perhaps "（代章）".
    let p = p
        .trim_end_matches("（代章）")
        .trim_end_matches("(代章)")
        .trim_end_matches("（盖章）");
    if len <= 30
        && !has_sentence_punct(p)
        && !p.contains(['：', ':', '、'])
        && !starts_with_heading_marker(p)
        && ORG_SUFFIXES.iter().any(|s| p.ends_with(s))
        && !p.contains("关于")
    {
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use crate::role::{Role, classify};

    #[test]
    fn a_colon_line_is_a_salutation_only_when_it_names_an_addressee() {
        for p in [
            "各县（市、区）人民政府，市政府各部门：",
            "孙某某代表（领衔）：",
            "全区各有关单位:",
            "林**委员，您好：",
        ] {
            assert_eq!(classify(p), Role::Boilerplate, "{p}");
        }
        for p in ["主要做法：", "企业开办“一件事”：", "经验启示："] {
            assert_ne!(classify(p), Role::Boilerplate, "{p}");
        }
    }
}
