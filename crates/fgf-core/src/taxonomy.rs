//! The label schema: pillars (`fang`, `guan`, `fu`) and their themes.
//!
//! Codes are public API. The schema is read from `models/taxonomy.toml` by
//! `fgf train` and stored inside the model file, so a server needs nothing but
//! the model.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// One label: a pillar or a theme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    /// Stable code, e.g. `fang` or `fang.delegation`.
    pub code: String,
    /// Display name, e.g. 简政放权.
    pub name: String,
    /// What the label covers, for people reading results (empty in models
    /// trained before descriptions were added).
    #[serde(default)]
    pub description: String,
}

/// Pillars and themes, in schema order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Taxonomy {
    #[serde(rename = "pillar")]
    pub pillars: Vec<Label>,
    #[serde(rename = "theme")]
    pub themes: Vec<Label>,
}

impl Taxonomy {
    /// Reads and checks a taxonomy TOML file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading taxonomy {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in taxonomy {}", path.display()))
    }

    /// Parses and checks taxonomy TOML text.
    pub fn parse(text: &str) -> Result<Self> {
        let taxonomy: Taxonomy = toml::from_str(text)?;
        taxonomy.check()?;
        Ok(taxonomy)
    }

    /// Every theme code is `<pillar>.<name>` of a known pillar, and no code repeats.
    pub fn check(&self) -> Result<()> {
        if self.pillars.is_empty() || self.themes.is_empty() {
            bail!("a taxonomy needs at least one pillar and one theme");
        }
        let mut seen = std::collections::HashSet::new();
        for label in self.labels() {
            if !seen.insert(label.code.as_str()) {
                bail!("label code {:?} appears twice", label.code);
            }
        }
        for theme in &self.themes {
            let Some(pillar) = theme.code.split_once('.').map(|(p, _)| p) else {
                bail!("theme code {:?} has no `pillar.` prefix", theme.code);
            };
            if !self.pillars.iter().any(|p| p.code == pillar) {
                bail!("theme {:?} names unknown pillar {:?}", theme.code, pillar);
            }
        }
        Ok(())
    }

    /// Pillars then themes: the order of the model's label columns.
    pub fn labels(&self) -> impl Iterator<Item = &Label> {
        self.pillars.iter().chain(&self.themes)
    }

    /// Number of labels (pillars + themes).
    pub fn len(&self) -> usize {
        self.pillars.len() + self.themes.len()
    }

    /// True when there are no labels at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Column index of a label code.
    pub fn index_of(&self, code: &str) -> Option<usize> {
        self.labels().position(|l| l.code == code)
    }

    /// Column index of the pillar of label column `index` (itself for a pillar).
    pub fn pillar_index(&self, index: usize) -> usize {
        if index < self.pillars.len() {
            return index;
        }
        let code = &self.themes[index - self.pillars.len()].code;
        let pillar = code.split_once('.').map_or(code.as_str(), |(p, _)| p);
        self.pillars
            .iter()
            .position(|p| p.code == pillar)
            .expect("checked taxonomy: every theme has its pillar")
    }

    /// True for the index of a pillar column.
    pub fn is_pillar(&self, index: usize) -> bool {
        index < self.pillars.len()
    }

    /// The label at column `index`.
    pub fn label(&self, index: usize) -> &Label {
        if index < self.pillars.len() {
            &self.pillars[index]
        } else {
            &self.themes[index - self.pillars.len()]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_taxonomy_has_the_public_codes() {
        let t = Taxonomy::load(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../models/taxonomy.toml"
        )))
        .unwrap();
        let pillars: Vec<_> = t.pillars.iter().map(|l| l.code.as_str()).collect();
        assert_eq!(pillars, ["fang", "guan", "fu"]);
        assert_eq!(t.themes.len(), 19);
        assert_eq!(t.pillar_index(t.index_of("guan.credit").unwrap()), 1);
        assert_eq!(t.pillar_index(t.index_of("fu.public_service").unwrap()), 2);
        assert!(t.labels().all(|l| !l.description.is_empty()));
    }

    #[test]
    fn rejects_theme_of_unknown_pillar() {
        let bad = "[[pillar]]\ncode='fang'\nname='a'\n[[theme]]\ncode='guan.x'\nname='b'\n";
        assert!(Taxonomy::parse(bad).is_err());
    }
}
