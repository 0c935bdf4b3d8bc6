//! Swapping the model while serving: a new file is loaded, checked
//! against the one serving (same label codes, a smoke sentence gets its
//! theme) and swapped in whole; requests in flight finish on the old one.

use std::sync::Arc;

use fgf_core::tagger::Tagger;

use super::TaggerService;

/// Where a reload reads the model and whether the admin rpc is allowed.
#[derive(Debug, Clone, Default)]
pub struct ReloadConfig {
    /// The model file the server was started with.
    pub model_path: Option<std::path::PathBuf>,
    /// The admin rpc needs a bearer token on the server.
    pub admin_allowed: bool,
}

impl TaggerService {
    /// Loads `path`, checks it against the model serving now and swaps it
    /// in. Returns the new version, or why the file was refused (the old
    /// model keeps serving). Counted in `fgf_reloads_total{result}`; the
    /// callers log a refusal.
    pub fn reload(&self, path: &std::path::Path) -> anyhow::Result<String> {
        let result = self.try_reload(path);
        self.telemetry.reloaded(result.is_ok());
        result
    }

    fn try_reload(&self, path: &std::path::Path) -> anyhow::Result<String> {
        use anyhow::bail;
        let new = Tagger::load(path)?;
        let old = self.tagger.load();
        let codes = |t: &Tagger| -> Vec<String> {
            t.model()
                .taxonomy
                .labels()
                .map(|l| l.code.clone())
                .collect()
        };
        if codes(&new) != codes(&old) {
            bail!("its taxonomy codes differ from the model serving now");
        }
        // Smoke classification: a plain sentence must get its theme.
        let smoke = "县里各部门一起按“双随机、一公开”方式抽查企业，结果及时公示。";
        let doc = new.tag(smoke, &fgf_core::tagger::TagOptions::default());
        let taxonomy = &new.model().taxonomy;
        let found = doc
            .spans
            .iter()
            .flat_map(|s| &s.labels)
            .any(|h| taxonomy.label(h.index).code == "guan.random_inspection");
        if !found {
            bail!("the smoke test sentence did not get guan.random_inspection");
        }
        let version = new.model().version.clone();
        let previous = old.model().version.clone();
        self.tagger.store(Arc::new(new));
        tracing::info!(path = %path.display(), from = %previous, to = %version, "model reloaded");
        Ok(version)
    }
}
