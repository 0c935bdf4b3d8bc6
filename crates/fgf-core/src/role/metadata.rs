//! Metadata lines: fields such as 发布时间：, 来源：, 索 引 号：, 联系电话：
//! (contact lines included), dates alone on a line, and document numbers
//! (某政办函〔2021〕12号).

use super::text::{has_sentence_punct, is_cjk_numeral, strip_bullet, strip_spaced_prefix};

/// Field names of metadata lines (发布时间：..., 来源：...).
const METADATA_FIELDS: &[&str] = &[
    "发布时间",
    "发布日期",
    "发文日期",
    "成文日期",
    "时间",
    "日期",
    "来源",
    "信息来源",
    "编辑",
    "责任编辑",
    "作者",
    "索引号",
    "主题词",
    "主题分类",
    "发文机关",
    "发文字号",
    "文号",
    "公开方式",
    "公开属性",
    "公开范围",
    "联系人",
    "联系人及电话",
    "联系电话",
    "联系单位",
    "联系地址",
    "联系方式",
    "邮编",
    "邮政编码",
    "传真",
    "电子邮箱",
    "电子邮件",
    "通信地址",
    "通讯地址",
    "抄送",
    "抄报",
    "印发",
    "附件",
    "审核",
    "校对",
    "撰稿",
    "点击数",
    "浏览量",
    "签发人",
    "经办人",
    "课题负责人",
    "课题组成员",
    "课题组长",
    "执笔",
    "执笔人",
    "承办人",
    "印数",
    "共印",
    "体裁分类",
    "组配分类",
    "是否公开",
    "答复类型",
    "办理类型",
    "建议类别",
    "经办人",
    "承办人",
    "联系处室",
    "发布机构",
    "發布機構",
    "發布時間",
    "统一编号",
    "公开选项",
    "名称",
    "下载附件",
    "责任人",
    "关键词",
    "信息分类",
    "类别标识",
    "办理结果",
    "领导署名",
    "所属机构",
    "文章来源",
    "发布单位",
    "发布机关",
    "有效性",
];

/// A field line: a field name, perhaps after a bullet or in 【】, then a
/// colon or nothing ("• 发布时间:2021年03月02日", "【发布日期】 2023-04-12");
/// short, or without a full stop.
pub(super) fn is_metadata_line(p: &str, len: usize) -> bool {
    // Field names are often spaced out: "索 引 号", "联 系 人".
    let unbulleted = strip_bullet(p);
    // The line starts with a field's first char (`strip_bullet` took the
    // spaces before it), so only the fields that start with it can match.
    let Some(first) = unbulleted.chars().next() else {
        return false;
    };
    (len <= 60 || (len <= 160 && !p.contains('。')))
        && METADATA_FIELDS
            .iter()
            .filter(|f| f.starts_with(first))
            .any(|f| {
                strip_spaced_prefix(unbulleted, f).is_some_and(|rest| {
                    let rest = rest.trim_start();
                    rest.is_empty() || rest.starts_with(['：', ':', '】', ']'])
                })
            })
}

pub(super) fn is_date_line(p: &str, len: usize) -> bool {
    len <= 24
        && p.chars()
            .any(|c| c.is_ascii_digit() || matches!(c, '０'..='９' | '〇' | '年' | '月' | '日'))
        && p.chars().all(|c| {
            c.is_ascii_digit()
                || matches!(
                    c,
                    '０'..='９' | '〇' | '○' | '零' | '年' | '月' | '日' | '号'
                )
                || is_cjk_numeral(c)
                || matches!(
                    c,
                    '-' | '/' | '.' | ':' | '：' | ' ' | '\u{3000}' | '（' | '）' | '(' | ')'
                )
        })
}

/// "……2022年9月16日" or "……二○二○年五月二十九日" at the end of the line.
pub(super) fn ends_with_date(p: &str) -> bool {
    let Some(head) = p.strip_suffix('日') else {
        return false;
    };
    let mut tail = head.chars().rev().take(12);
    tail.clone().any(|c| c == '年') && tail.any(|c| c == '月')
}

pub(super) fn is_doc_number_line(p: &str, len: usize) -> bool {
    len <= 30
        && !has_sentence_punct(p)
        && p.ends_with('号')
        && (p.contains('〔') || p.contains('[') || p.contains('【') || p.contains('（'))
}
