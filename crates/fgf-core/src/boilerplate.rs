//! A learned second opinion on page furniture: is a short line boilerplate?
//!
//! The role rules ([`crate::role`]) know the forms they were written for
//! (收悉 openings, 发布时间 lines, signatures, numbered headings). Real pages
//! bring furniture no rule list keeps up with: breadcrumbs, accessibility
//! toggles, share bars, index-table rows, edition lines, bylines. This
//! module fits one binary logistic regression, boilerplate or not, on every
//! corpus sample's role, over the label model's own term features plus a
//! few layout features of the line ([`layout_features`]). The tagger asks
//! it only about short lines the rules did not call boilerplate, and turns
//! them into boilerplate when its probability reaches the threshold chosen
//! on out-of-fold scores of the training split.

use serde::{Deserialize, Serialize};

use crate::features::SparseVector;

/// Lines longer than this (chars) are never turned into boilerplate by the
/// learned check: furniture is short, and long lines are running text.
pub const MAX_CHARS: usize = 80;

/// True for a line the learned check may turn into boilerplate: short, not
/// numbered as a section or list item ("一、", "（二）", "3.", "第四条"), and
/// not a lead-in ending in a colon ("具体措施："): numbering and lead-ins are
/// the document's own structure, and the furniture that ends in a colon
/// (发布时间：, 分享到：, 相关新闻：) is named by the rules. Training asks the
/// same question of the same lines.
pub fn is_candidate(text: &str) -> bool {
    let text = text.trim();
    text.chars().count() <= MAX_CHARS
        && !crate::role::starts_with_heading_marker(text)
        && !text.ends_with(['：', ':'])
}

/// Number of layout features.
pub const LAYOUT_FEATURES: usize = 12;

/// The fitted check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoilerplateModel {
    /// One weight per term feature of the label model's feature space.
    pub term_weights: Vec<f32>,
    /// One weight per layout feature.
    pub layout_weights: Vec<f32>,
    pub intercept: f32,
    /// Probability at or above which a line is boilerplate.
    pub threshold: f32,
}

impl BoilerplateModel {
    /// Probability that `text` (vectorised as `v`) is boilerplate.
    pub fn probability(&self, text: &str, v: &SparseVector) -> f32 {
        let mut z = self.intercept;
        for &(f, x) in v {
            z += self.term_weights.get(f as usize).copied().unwrap_or(0.0) * x;
        }
        for (w, x) in self.layout_weights.iter().zip(layout_features(text)) {
            z += w * x;
        }
        crate::model::sigmoid(z)
    }
}

/// Layout features of a line, each 0 or 1: length bands, how it ends and
/// starts, digits, separators and dates.
pub fn layout_features(text: &str) -> [f32; LAYOUT_FEATURES] {
    let t = text.trim();
    let chars: Vec<char> = t.chars().collect();
    let n = chars.len();
    let digits = chars
        .iter()
        .filter(|c| c.is_ascii_digit() || ('０'..='９').contains(c))
        .count();
    let last = chars.last().copied().unwrap_or(' ');
    let first = chars.first().copied().unwrap_or(' ');
    let b = |x: bool| if x { 1.0 } else { 0.0 };
    [
        b(n <= 6),
        b((7..=15).contains(&n)),
        b((16..=30).contains(&n)),
        b((31..=60).contains(&n)),
        b(matches!(last, '。' | '；' | '！' | '？' | '.' | ';')),
        b(matches!(last, '：' | ':')),
        b(matches!(
            first,
            '一' | '二'
                | '三'
                | '四'
                | '五'
                | '六'
                | '七'
                | '八'
                | '九'
                | '十'
                | '（'
                | '('
                | '①'
                | '②'
                | '③'
        ) || first.is_ascii_digit()),
        b(n > 0 && digits * 3 >= n),
        b(t.contains(['|', '\t', '｜', '>', '＞', '»', '/'])),
        b(t.contains("  ") || t.contains('\u{3000}')),
        b(t.contains('年') && t.contains('月') && digits >= 4),
        b(t.contains(['：', ':'])),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_features_see_length_ends_and_separators() {
        let f = layout_features("首页 > 政务公开 > 通知公告");
        assert_eq!(f[2], 1.0); // 16-30 chars
        assert_eq!(f[8], 1.0); // a separator
        let f = layout_features("推行告知承诺制，实现一网通办。");
        assert_eq!(f[4], 1.0); // ends a sentence
        assert_eq!(f[8], 0.0);
        let f = layout_features("发布时间：2023年05月12日");
        assert_eq!(f[10], 1.0);
        assert_eq!(f[11], 1.0);
    }

    #[test]
    fn probability_follows_the_weights() {
        let m = BoilerplateModel {
            term_weights: vec![4.0, -4.0],
            layout_weights: vec![0.0; LAYOUT_FEATURES],
            intercept: 0.0,
            threshold: 0.5,
        };
        assert!(m.probability("x", &vec![(0, 1.0)]) > 0.9);
        assert!(m.probability("x", &vec![(1, 1.0)]) < 0.1);
    }
}
