//! Deciding what a paragraph is: a heading, body text or boilerplate.
//!
//! Roles come from rules, not from the model: they are about the shape of a
//! line (an enumeration marker, a date alone on a line, a 发布时间 field, a
//! footer link) rather than its meaning. The corpus carries a role for every
//! sample, and `fgf train` reports how often these rules agree with it.
//!
//! [`classify`] is the decision order: the boilerplate rules first
//! (`boilerplate.rs`), then the heading rules (`headings.rs`), else body.
//! The rules draw on `furniture.rs` (what a web page or a printed page adds
//! around the text), `metadata.rs` (field lines, dates, document numbers),
//! `addressing.rs` (salutations, addressee lists, signatures) and `text.rs`
//! (helpers about the shape of a line).

mod addressing;
mod boilerplate;
mod furniture;
mod headings;
mod metadata;
mod text;

pub(crate) use furniture::is_page_number;
pub(crate) use headings::starts_with_heading_marker;
pub(crate) use text::non_space_chars;

use boilerplate::is_boilerplate;
use headings::is_heading;
use text::char_len;

/// What a paragraph is in its document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Titles and section heads (一、 / (三) / 1. / short title lines).
    Heading,
    /// Running text.
    Body,
    /// Salutations, openings, signatures, dates, metadata, navigation, footers.
    Boilerplate,
}

impl Role {
    /// The lowercase name used in the corpus (`heading`, `body`, `boilerplate`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Heading => "heading",
            Role::Body => "body",
            Role::Boilerplate => "boilerplate",
        }
    }
}

/// No rule calls a paragraph longer than this (chars) boilerplate or a
/// heading: every rule in `boilerplate.rs`, `headings.rs` and the files
/// they use holds only up to some length, the longest 250 (a footer of
/// copyright, address and record numbers on one line). A rule for longer
/// lines must raise it; `long_paragraphs_are_body_whatever_they_contain`
/// checks the rules against it.
const LONGEST_RULED_CHARS: usize = 250;

/// Decides the role of one paragraph (already trimmed). Traditional script
/// is read as simplified, so the same rules hold for both.
pub fn classify(paragraph: &str) -> Role {
    let cleaned = crate::normalize::without_damage(paragraph);
    // Counted once: every rule below tests the length first. Simplifying
    // keeps the char count, so a long paragraph is body before it is.
    let len = char_len(&cleaned);
    if len > LONGEST_RULED_CHARS {
        return Role::Body;
    }
    classify_by_rules(&crate::normalize::simplified(&cleaned), len)
}

/// The rules, on a cleaned and simplified paragraph of `len` chars.
fn classify_by_rules(paragraph: &str, len: usize) -> Role {
    if is_boilerplate(paragraph, len) {
        Role::Boilerplate
    } else if is_heading(paragraph, len) {
        Role::Heading
    } else {
        Role::Body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn articles_table_rows_and_numbered_sentences_are_body() {
        for p in [
            "第六条 窗口工作人员应当一次性告知申请人需要补正的全部材料。",
            "第十二条 本办法由市政务服务管理局负责解释。",
            "12 | 推行涉企经营许可告知承诺制 | 市市场监管局 | 2024年6月底前",
            "（三）对符合条件的企业实行容缺受理，申请人作出承诺后先行办理。",
        ] {
            assert_eq!(classify(p), Role::Body, "{p}");
        }
        assert_eq!(classify("第三章 监督管理"), Role::Heading);
        assert_eq!(
            classify(
                "滁州市优化营商环境工作领导小组办公室关于印发《滁州市涉企服务专员工作制度（试行）》的通知"
            ),
            Role::Heading
        );
        assert_eq!(
            classify(
                "各县（市、区）人民政府，市直各部门、各直属机构，经开区管委会、高新区管委会："
            ),
            Role::Boilerplate
        );
        assert_eq!(
            classify("各旗县人民政府（不含高新园、综保区），委机关各处室，自治区能源集团："),
            Role::Boilerplate
        );
        assert_eq!(
            classify("各旗（县）住建局，局机关各科室："),
            Role::Boilerplate
        );
        assert_eq!(classify("电子邮件：zwfw@example.gov.cn"), Role::Boilerplate);
        assert_eq!(classify("（此件依申请公开）"), Role::Boilerplate);
        assert_eq!(classify("（二）推行告知承诺制"), Role::Heading);
        assert_ne!(classify("（四）"), Role::Boilerplate);
        assert_eq!(
            classify(
                "《丽水市工程建设项目审批提速实施方案》已经市政府同意，现印发给你们，请认真组织实施。"
            ),
            Role::Boilerplate
        );
        assert_eq!(
            classify("本报告版权属于某某研究院，未经许可不得转载。"),
            Role::Boilerplate
        );
        assert_eq!(
            classify("序号 | 改革事项 | 牵头单位 | 完成时限"),
            Role::Boilerplate
        );
        assert_eq!(
            classify("服务设施 覆盖社区 数量（个） 责任单位 备注"),
            Role::Boilerplate
        );
    }

    /// Lines every kind of rule catches, each made longer than
    /// [`LONGEST_RULED_CHARS`] by repeating it or padding it at either end
    /// (or both) with a sentence or with more of the same kind of text: the
    /// rules themselves must find nothing there, so the shortcut in
    /// [`classify`] changes no role.
    #[test]
    fn long_paragraphs_are_body_whatever_they_contain() {
        let lines = [
            "设为首页 | 加入收藏 | 网站地图 | 联系我们",
            "首页 > 政务公开 > 建议提案 > 答复",
            "（此件依申请公开）",
            "序号 | 改革事项 | 牵头单位 | 完成时限",
            "某县实施方案附件清单.xlsx",
            "版权所有：某市人民政府 地址：某路1号 ICP备12345678号 网站标识码1234",
            "发布时间：2023-04-12 来源：市政务服务局 浏览次数：128",
            "ABC 123 xyz",
            "某某市人民政府办公室文件",
            "第三部分 下一步工作打算 ……………… 15",
            "2022年5月18日",
            "某政办函〔2021〕12号",
            "第 3 页 共 8 页",
            "您提出的《关于优化审批服务的建议》收悉，现答复如下：",
            "以上报告，请予审议。",
            "感谢您对我市工作的关心和支持！",
            "各县（市、区）人民政府，市直各部门，各直属机构：",
            "某某市行政审批服务局",
            "某某局  2022年9月16日",
            "（二）推行告知承诺制",
            "主要做法：",
            "关于印发《某市优化营商环境若干措施》的通知",
            "3 | 推行告知承诺制 | 市司法局 | 2023年底",
        ];
        let sentence = "全面推行证明事项告知承诺制，取消证明材料五十八项。";
        for line in lines {
            let repeated = line.repeat(LONGEST_RULED_CHARS / line.chars().count() + 1);
            let pad = sentence.repeat(LONGEST_RULED_CHARS / sentence.chars().count() + 1);
            for long in [
                repeated.clone(),
                format!("{pad}{line}"),
                format!("{line}{pad}"),
                format!("{line}{pad}{line}"),
                format!("{repeated}{line}"),
            ] {
                let len = char_len(&long);
                assert!(len > LONGEST_RULED_CHARS);
                assert_eq!(classify_by_rules(&long, len), Role::Body, "{long}");
                assert_eq!(classify(&long), Role::Body, "{long}");
            }
        }
    }

    #[test]
    fn body() {
        for p in [
            "一、持续巩固改革成果。一是做到应放尽放，取消审批事项12项。二是推行告知承诺制。",
            "全面推行证明事项告知承诺制，共取消证明材料58项。",
            "2021年，全市新设市场主体3.2万户，同比增长12%。",
        ] {
            assert_eq!(classify(p), Role::Body, "{p}");
        }
    }
}
