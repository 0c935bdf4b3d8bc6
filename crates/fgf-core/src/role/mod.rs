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

/// Decides the role of one paragraph (already trimmed). Traditional script
/// is read as simplified, so the same rules hold for both.
pub fn classify(paragraph: &str) -> Role {
    let cleaned = crate::normalize::without_damage(paragraph);
    let simplified = crate::normalize::simplified(&cleaned);
    let paragraph = simplified.as_ref();
    // Counted once: every rule below tests the length first.
    let len = char_len(paragraph);
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
