//! Page furniture and site chrome: what a web page or a printed page adds
//! around a document's text. Navigation, page tools and footers (copyright,
//! record numbers), breadcrumbs, page numbers and images, attachment links,
//! table header rows, and notes in brackets on their own line.

use super::text::{compact_ends_with, has_sentence_punct, non_space_chars};

/// Fragments that only ever appear in navigation bars, page tools and footers.
pub(super) const WEB_JUNK: &[&str] = &[
    "设为首页",
    "不良信息举报",
    "加入收藏",
    "打印本页",
    "关闭本页",
    "关闭窗口",
    "版权所有",
    "扫一扫",
    "网站地图",
    "联系我们",
    "您的位置",
    "您现在的位置",
    "当前位置",
    "技术支持",
    "ICP备",
    "icp备",
    "公网安备",
    "网站标识码",
    "主办单位",
    "承办单位",
    "站内搜索",
    "相关阅读",
    "相关新闻",
    "欢迎访问",
    "今天是",
    "延伸阅读",
    "相关链接",
    "【字体",
    "字号：",
    "字号:",
    "【打印】",
    "【关闭】",
    "分享到",
    "阅读次数",
    "浏览次数",
    "不支持Flash",
    "上一篇",
    "下一篇",
    "返回顶部",
    "无障碍",
    "手机版",
    "微信公众号",
    "访客",
    "今日访问",
    "总访问量",
    "分辨率",
    "浏览器",
    "二维码",
    "网站找错",
    "我要纠错",
    "當前位置",
    "Copyright",
    "copyright",
    "版权属于",
    "版权归",
    "不得转载",
    "转载请注明",
    "©",
];

/// Document file extensions that end an attachment link's text.
const FILE_EXTENSIONS: [&str; 10] = [
    ".doc", ".docx", ".wps", ".pdf", ".xls", ".xlsx", ".et", ".ofd", ".zip", ".rar",
];

/// True when the line is a file name: it ends with a document extension.
pub(super) fn is_file_name(p: &str) -> bool {
    let mut t = p.trim_end().to_ascii_lowercase();
    // "……指南.doc [下载次数：242]", "…….pdf（56KB）": a link and its counter.
    if t.ends_with([']', '）', ')'])
        && let Some(open) = t.rfind(['[', '（', '('])
    {
        t.truncate(open);
        t.truncate(t.trim_end().len());
    }
    FILE_EXTENSIONS.iter().any(|e| t.ends_with(e))
}

/// "首页 > 政务公开 > 建议提案": two or more path separators on a short line.
pub(super) fn is_breadcrumb(p: &str, len: usize) -> bool {
    len <= 60
        && !p.contains('。')
        && p.chars()
            .filter(|c| matches!(c, '>' | '＞' | '»' | '›' | '→'))
            .count()
            >= 2
}

/// The whole line is one bracketed note: "（……）" or "(……)".
pub(super) fn is_bracketed_note(p: &str) -> bool {
    let inner = p
        .strip_prefix(['（', '('])
        .and_then(|r| r.strip_suffix(['）', ')']));
    inner.is_some_and(|i| !i.is_empty() && !i.contains(['（', '(', '）', ')']))
}

/// Column names only a table's header row has.
const TABLE_HEADER_WORDS: &[&str] = &[
    "序号",
    "备注",
    "牵头单位",
    "责任单位",
    "配合单位",
    "完成时限",
    "完成时间",
    "责任部门",
    "数量",
];

/// A header row: cells (split by `|`, tabs or spaces) without sentence
/// punctuation, two of them column names only a header has.
pub(super) fn is_table_header(p: &str, len: usize) -> bool {
    if len > 80 || has_sentence_punct(p) {
        return false;
    }
    let cells: Vec<&str> = p
        .split(|c: char| matches!(c, '|' | '｜' | '\t') || c.is_whitespace())
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    cells.len() >= 3
        && cells
            .iter()
            .filter(|c| TABLE_HEADER_WORDS.iter().any(|w| c.starts_with(w)))
            .count()
            >= 2
}

pub(super) fn is_page_marker(p: &str, len: usize) -> bool {
    // "- 3 -", "第3页", "第 3 页 共 8 页", "图片1.png"
    if len > 60 {
        return false;
    }
    let compact_len = non_space_chars(p).count();
    (compact_len <= 14 && is_page_number(p))
        || (compact_len <= 40
            && [".png", ".jpg", ".jpeg", ".gif", ".PNG", ".JPG"]
                .iter()
                .any(|ext| compact_ends_with(p, ext)))
}

/// "第3页", "第 3 页 共 8 页": starts with 第 and ends with 页, whitespace
/// aside.
pub(crate) fn is_page_number(p: &str) -> bool {
    let mut compact = non_space_chars(p);
    compact.next() == Some('第') && compact.next_back() == Some('页')
}

#[cfg(test)]
mod tests {
    use crate::role::{Role, classify};

    #[test]
    fn attachment_file_names_are_boilerplate() {
        assert_eq!(
            classify("附件2：宿州市承接事项目录.xlsx"),
            Role::Boilerplate
        );
        assert_eq!(classify("营商环境评价报告.PDF"), Role::Boilerplate);
        assert_eq!(
            classify("项目审批办事指南.docx [下载次数：87]"),
            Role::Boilerplate
        );
        assert_eq!(classify("推行“证照分离”改革，压减审批材料。"), Role::Body);
    }
}
