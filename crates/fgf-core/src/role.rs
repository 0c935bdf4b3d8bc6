//! Deciding what a paragraph is: a heading, body text or boilerplate.
//!
//! Roles come from rules, not from the model: they are about the shape of a
//! line (an enumeration marker, a date alone on a line, a 发布时间 field, a
//! footer link) rather than its meaning. The corpus carries a role for every
//! sample, and `fgf train` reports how often these rules agree with it.

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

/// Fragments that only ever appear in navigation bars, page tools and footers.
const WEB_JUNK: &[&str] = &[
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

/// Document file extensions that end an attachment link's text.
const FILE_EXTENSIONS: [&str; 10] = [
    ".doc", ".docx", ".wps", ".pdf", ".xls", ".xlsx", ".et", ".ofd", ".zip", ".rar",
];

/// True when the line is a file name: it ends with a document extension.
fn is_file_name(p: &str) -> bool {
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

fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// The chars of `s` that are not whitespace: the "compact" form of a line
/// whose letters may be spaced out ("第 3 页"), without building it.
pub(crate) fn non_space_chars(s: &str) -> impl DoubleEndedIterator<Item = char> + Clone + '_ {
    s.chars().filter(|c| !c.is_whitespace())
}

/// True when the non-whitespace chars of `s` end with `suffix`.
fn compact_ends_with(s: &str, suffix: &str) -> bool {
    let mut tail = non_space_chars(s).rev();
    suffix.chars().rev().all(|c| tail.next() == Some(c))
}

/// `s` without a leading `prefix`, where the chars of `s` may be spaced out
/// by ' ' or U+3000 ("索 引 号"): the rest of `s` after the prefix's last
/// char.
fn strip_spaced_prefix<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let mut want = prefix.chars().peekable();
    for (i, c) in s.char_indices() {
        let Some(&w) = want.peek() else {
            return Some(&s[i..]);
        };
        if matches!(c, ' ' | '\u{3000}') {
            continue;
        }
        if c != w {
            return None;
        }
        want.next();
    }
    want.peek().is_none().then_some("")
}

fn has_sentence_punct(s: &str) -> bool {
    s.chars()
        .any(|c| matches!(c, '。' | '，' | '；' | '！' | '？' | ',' | ';'))
}

/// Strips a leading list bullet (•, ·, ●, ■, -, *) and spaces.
fn strip_bullet(s: &str) -> &str {
    s.trim_start_matches(|c: char| {
        matches!(
            c,
            '•' | '·' | '●' | '■' | '◆' | '▪' | '-' | '*' | '>' | '|' | '【' | '['
        ) || c.is_whitespace()
    })
}

fn is_boilerplate(p: &str, len: usize) -> bool {
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
    // Field names are often spaced out: "索 引 号", "联 系 人".
    let unbulleted = strip_bullet(p);
    if (len <= 60 || (len <= 160 && !p.contains('。')))
        && METADATA_FIELDS.iter().any(|f| {
            strip_spaced_prefix(unbulleted, f).is_some_and(|rest| {
                let rest = rest.trim_start();
                rest.is_empty() || rest.starts_with(['：', ':', '】', ']'])
            })
        })
    {
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

/// The whole line is one bracketed note: "（……）" or "(……)".
fn is_bracketed_note(p: &str) -> bool {
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
fn is_table_header(p: &str, len: usize) -> bool {
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

/// "首页 > 政务公开 > 建议提案": two or more path separators on a short line.
fn is_breadcrumb(p: &str, len: usize) -> bool {
    len <= 60
        && !p.contains('。')
        && p.chars()
            .filter(|c| matches!(c, '>' | '＞' | '»' | '›' | '→'))
            .count()
            >= 2
}

fn is_date_line(p: &str, len: usize) -> bool {
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
fn ends_with_date(p: &str) -> bool {
    let Some(head) = p.strip_suffix('日') else {
        return false;
    };
    let mut tail = head.chars().rev().take(12);
    tail.clone().any(|c| c == '年') && tail.any(|c| c == '月')
}

fn is_doc_number_line(p: &str, len: usize) -> bool {
    len <= 30
        && !has_sentence_punct(p)
        && p.ends_with('号')
        && (p.contains('〔') || p.contains('[') || p.contains('【') || p.contains('（'))
}

fn is_page_marker(p: &str, len: usize) -> bool {
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

fn is_cjk_numeral(c: char) -> bool {
    matches!(
        c,
        '一' | '二' | '三' | '四' | '五' | '六' | '七' | '八' | '九' | '十' | '百'
    )
}

/// 一、 / （三） / (3) / 1. / 1、 / 第二章 / 第一部分
pub(crate) fn starts_with_heading_marker(p: &str) -> bool {
    let chars: Vec<char> = p.chars().take(8).collect();
    let numerals = chars.iter().take_while(|c| is_cjk_numeral(**c)).count();
    if numerals > 0 && matches!(chars.get(numerals), Some('、' | '，' | '.' | '．')) {
        return true;
    }
    if matches!(chars.first(), Some('（' | '(')) {
        let inner = chars[1..]
            .iter()
            .take_while(|c| is_cjk_numeral(**c) || c.is_ascii_digit())
            .count();
        if inner > 0 && matches!(chars.get(1 + inner), Some('）' | ')')) {
            return true;
        }
    }
    let digits = chars
        .iter()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '０'..='９'))
        .count();
    if digits > 0
        && digits <= 2
        && matches!(chars.get(digits), Some('.' | '、' | '．'))
        && !chars.get(digits + 1).is_some_and(|c| c.is_ascii_digit())
    {
        return true;
    }
    if chars.first() == Some(&'第') {
        let n = chars[1..]
            .iter()
            .take_while(|c| is_cjk_numeral(**c))
            .count();
        if n > 0 && matches!(chars.get(1 + n), Some('章' | '节' | '部' | '条' | '篇')) {
            return true;
        }
    }
    false
}

fn is_heading(p: &str, len: usize) -> bool {
    // A table row ("3 | 推行告知承诺制 | 市司法局 | 2023年底") is body: it
    // carries its task, whatever number it starts with.
    if p.chars().filter(|c| matches!(c, '|' | '｜')).count() >= 2 {
        return false;
    }
    if is_article(p) {
        return false;
    }
    if starts_with_heading_marker(p) {
        // A marker followed by a whole paragraph is body text that starts
        // with its section number; a heading has at most a final stop.
        let inner = p.trim_end_matches(['。', '；', ';', '：', ':']);
        // "（二）…，…。" over 30 chars is a numbered sentence, not a title.
        let sentence = len > 30 && p.ends_with('。') && inner.contains(['，', ',']);
        return len <= 60 && !inner.contains(['。', '；', '！', '？']) && !sentence;
    }
    let inner = p.trim_end_matches(['：', ':', '？', '?']);
    // A lead-in ("主要做法：", "企业开办“一件事”：") or a question subhead
    // of an explainer ("什么是公平竞争审查？"): short, one phrase.
    if len <= 30 && p.ends_with(['：', ':', '？', '?']) && !has_sentence_punct(inner) {
        return inner.chars().any(crate::normalize::is_cjk);
    }
    // A document's title, which can be long: "关于印发《……办法（试行）》的通知".
    if len <= 100 && is_document_title(p) {
        return true;
    }
    // Title lines: short, no sentence punctuation.
    len <= 40
        && !has_sentence_punct(p)
        && !p.ends_with(['：', ':'])
        && p.chars().any(crate::normalize::is_cjk)
}

/// Kinds of official documents a title ends with.
const DOCUMENT_KINDS: &[&str] = &[
    "通知", "意见", "方案", "办法", "决定", "批复", "报告", "规定", "细则", "要点", "规划", "计划",
    "函", "答复", "公告", "通报",
];

/// "……关于……的通知": a title naming its document kind, with no sentence
/// punctuation outside the brackets of a quoted title.
fn is_document_title(p: &str) -> bool {
    let t = p
        .trim_end_matches(['）', ')'])
        .trim_end_matches("（试行")
        .trim_end_matches("(试行")
        .trim_end_matches("（暂行")
        .trim_end_matches(['》', '”']);
    p.contains("关于")
        && DOCUMENT_KINDS.iter().any(|k| t.ends_with(k))
        && !p.contains(['。', '；', '！', '？', '，', ','])
}

/// An article of a regulation or rule ("第四条 ……"): a provision, so body
/// text, unlike "第二章" or "第三节" which head a part.
fn is_article(p: &str) -> bool {
    let mut chars = p.chars();
    chars.next() == Some('第') && {
        let rest: Vec<char> = chars.take(8).collect();
        let n = rest
            .iter()
            .take_while(|c| is_cjk_numeral(**c) || **c == '零')
            .count();
        n > 0 && rest.get(n) == Some(&'条')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn headings() {
        for p in [
            "一、持续深化行政审批制度改革",
            "（三）推进“双随机、一公开”监管",
            "(2)优化营商环境",
            "3.完善信用体系",
            "第二部分 主要任务",
            "关于推进政务服务标准化的实施方案",
            "下一步工作打算",
            "主要做法：",
            "什么是“证照分离”改革？",
        ] {
            assert_eq!(classify(p), Role::Heading, "{p}");
        }
    }

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

    #[test]
    fn spaced_out_lines_match_their_compact_form() {
        assert_eq!(
            strip_spaced_prefix("索 引\u{3000}号： 1", "索引号"),
            Some("： 1")
        );
        assert_eq!(strip_spaced_prefix("索引号", "索引号"), Some(""));
        assert_eq!(strip_spaced_prefix("索引", "索引号"), None);
        assert_eq!(strip_spaced_prefix("索取号", "索引号"), None);
        assert!(compact_ends_with("图片 1. png ", ".png"));
        assert!(!compact_ends_with("png", ".png"));
        assert!(is_page_number(" 第 12 页 "));
        assert!(!is_page_number("第"));
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
