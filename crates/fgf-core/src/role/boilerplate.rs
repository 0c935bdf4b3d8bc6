//! The boilerplate rules, in the order they are tried: site chrome, notes,
//! tables, attachments, footers, metadata, page furniture, dates, document
//! numbers, the stock formulas of replies and reports, salutations and
//! signatures. Most rules test the length first: most paragraphs are long
//! body text.

use super::addressing::{is_salutation, is_signature};
use super::furniture::{
    WEB_JUNK, is_bracketed_note, is_breadcrumb, is_file_name, is_page_marker, is_table_header,
};
use super::headings::starts_with_heading_marker;
use super::metadata::{is_date_line, is_doc_number_line, is_metadata_line};
use super::text::has_sentence_punct;

/// Openings and closings of replies that carry no content.
const REPLY_FORMULAS: &[&str] = &[
    "收悉",
    "此复",
    "特此函复",
    "特此答复",
    "专此答复",
    "答复如下",
    "衷心感谢",
    "再次感谢",
    "欢迎继续",
    "敬请谅解",
    "特此报告",
    "是否满意",
    // Transmittal: "《……方案》已经市政府同意，现印发给你们，请认真贯彻执行。"
    "印发给你们",
];

/// Formulas that mark boilerplate only on short lines.
const SHORT_FORMULAS: &[&str] = &[
    "您的建议",
    "您的提案",
    "此件已由",
    "同意公开",
    "此页无正文",
    "本报讯",
    "您在建议中",
    "您在提案中",
    "此件公开",
    "通讯员",
    "如有不同意见",
    "对答复有意见",
    "对答复的意见",
];

/// True when one of the rules below, tried in order, holds for `p` (`len`
/// chars long).
pub(super) fn is_boilerplate(p: &str, len: usize) -> bool {
    // Junk glued to a whole paragraph on one line is body text with noise.
    // (Length tests come first: most paragraphs are long body text.)
    if (len <= 30 || (len <= 80 && !p.contains('。'))) && WEB_JUNK.iter().any(|j| p.contains(j)) {
        return true;
    }
    if is_breadcrumb(p, len) {
        return true;
    }
    // A note in brackets on its own line: "（此件公开发布）", "（上接第一版）",
    // "（某县政协 供稿）". A heading's "（一）" is followed by its title.
    if len <= 30 && is_bracketed_note(p) && !starts_with_heading_marker(p) {
        return true;
    }
    // A table's header row: "序号 | 重点任务 | 牵头单位 | 完成时限".
    if is_table_header(p, len) {
        return true;
    }
    // An attachment's file name ("……事项清单.xlsx"): a link, not the text.
    if len <= 80 && is_file_name(p) {
        return true;
    }
    // A long footer: copyright, address, phone and record numbers on one line.
    if len <= 250
        && !p.contains('。')
        && ["版权所有", "ICP备", "icp备", "网站标识码", "公网安备"]
            .iter()
            .any(|j| p.contains(j))
    {
        return true;
    }
    if is_metadata_line(p, len) {
        return true;
    }
    // A line with no CJK at all and short: page numbers, file names, stray
    // garbage; or a tiny code such as "A类".
    if (!p.chars().any(crate::normalize::is_cjk) && len <= 40)
        || (len <= 4 && p.chars().any(|c| c.is_ascii_alphanumeric()))
    {
        return true;
    }
    // A masthead or running header: "某某市人民政府办公室文件".
    if len <= 30 && p.ends_with("文件") && !has_sentence_punct(p) && !p.contains("关于") {
        return true;
    }
    // A table-of-contents line: "第三部分 下一步工作打算 ……………… 15".
    if len <= 80
        && (p.contains("……") || p.contains("...."))
        && p.trim_end().ends_with(|c: char| c.is_ascii_digit())
    {
        return true;
    }
    if is_date_line(p, len) || is_doc_number_line(p, len) || is_page_marker(p, len) {
        return true;
    }
    if len <= 160 && REPLY_FORMULAS.iter().any(|f| p.contains(f)) {
        return true;
    }
    if len <= 50 && SHORT_FORMULAS.iter().any(|f| p.contains(f)) {
        return true;
    }
    // "以上报告，请予审议。" closes a report; the opening sentence that asks
    // for the same ("现在，我代表……报告工作，请予审议") is running text.
    if len <= 12 && p.contains("请予审议") {
        return true;
    }
    // A bare thanks ("感谢您对我市工作的关心和支持！") is a formula; thanks
    // that go on to the matter ("感谢您……，您提出的……") are running text.
    if len <= 30 && (p.contains("感谢您") || p.contains("感謝您")) && !p.contains(['，', ','])
    {
        return true;
    }
    if is_salutation(p, len) {
        return true;
    }
    is_signature(p, len)
}

#[cfg(test)]
mod tests {
    use crate::role::{Role, classify};

    #[test]
    fn report_openings_are_running_text_and_closings_are_boilerplate() {
        assert_eq!(
            classify("下面，我代表县人民政府向大会报告工作，请予审议，并请各位政协委员提出意见。"),
            Role::Body
        );
        assert_eq!(classify("以上报告，请予审议。"), Role::Boilerplate);
        assert_eq!(
            classify("感谢您对全区工作的关心和支持！"),
            Role::Boilerplate
        );
        assert_eq!(
            classify(
                "感谢您对我区养老服务的关注，您提出的增设社区食堂的建议，我们已会同区民政局研究落实。"
            ),
            Role::Body
        );
    }

    #[test]
    fn boilerplate() {
        for p in [
            "王某某代表：",
            "****委员:",
            "您提出的《关于优化审批服务的建议》收悉，现答复如下：",
            "• 发布时间:2021年03月02日",
            "来源：市政务服务局",
            "2022年5月18日",
            "２０２１年３月９日",
            "二〇二三年六月十日",
            "某市行政审批服务局",
            "联系人：李某  联系电话：0931-1234567",
            "抄送：市人大常委会人代工委，市政府办公室。",
            "设为首页 | 加入收藏",
            "[打印本页] [关闭本页]",
            "版权所有：某市人民政府 地址：某路1号",
            "- 3 -",
            "图片1.png",
            "某政办函〔2021〕12号",
            "扫一扫在手机打开当前页",
            "索 引 号：11370000-2022-00123",
            "【发布日期】 2023-04-12",
            "第 3 页 共 8 页",
            "附图 2 .png",
        ] {
            assert_eq!(classify(p), Role::Boilerplate, "{p}");
        }
    }
}
