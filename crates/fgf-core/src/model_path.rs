//! Where the model file is when the command line does not say.
//!
//! `fgf` is often run from another folder than the checkout it was built
//! in (after `cargo install --path .`, from a batch job's working folder).
//! Every command that needs the model takes `--model FILE`; without it the
//! first of these that exists is used:
//!
//! 1. `$FGF_MODEL`;
//! 2. `models/fgf.model` under the current folder (the checkout itself);
//! 3. `share/fgf/fgf.model` beside the binary's folder (`PREFIX/bin/fgf`
//!    next to `PREFIX/share/fgf/fgf.model`, the usual install layout);
//! 4. `models/fgf.model` of the checkout the binary was built from.
//!
//! None existing is an error listing every place tried.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

/// The environment variable naming the model file.
pub const ENV_VAR: &str = "FGF_MODEL";

/// The model file named in the checkout, relative to its root.
const IN_CHECKOUT: &str = "models/fgf.model";

/// The places tried, in order, for a given environment.
fn candidates(env: Option<PathBuf>, exe: Option<PathBuf>) -> Vec<PathBuf> {
    let mut places = Vec::new();
    places.extend(env);
    places.push(PathBuf::from(IN_CHECKOUT));
    if let Some(prefix) = exe.as_deref().and_then(Path::parent).and_then(Path::parent) {
        places.push(prefix.join("share/fgf/fgf.model"));
    }
    // This crate sits in crates/fgf-core of the checkout.
    places.push(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(IN_CHECKOUT),
    );
    places
}

/// The model file to use: `explicit` (from `--model`) as given, else the
/// first existing place of the module doc's list.
pub fn resolve(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(path) = explicit {
        return Ok(path.to_path_buf());
    }
    let env = std::env::var_os(ENV_VAR)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let from_env = env.is_some();
    let places = candidates(env, std::env::current_exe().ok());
    if from_env && !places[0].exists() {
        bail!(
            "{ENV_VAR}={} does not exist; point it at a model file written by `fgf train`",
            places[0].display()
        );
    }
    if let Some(found) = places.iter().find(|p| p.is_file()) {
        return Ok(found.clone());
    }
    let tried: Vec<String> = places.iter().map(|p| p.display().to_string()).collect();
    bail!(
        "no model file found (tried {}); pass --model FILE or set {ENV_VAR}",
        tried.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_first_then_checkout_then_install_prefix_then_build_checkout() {
        let places = candidates(
            Some(PathBuf::from("/data/m.model")),
            Some(PathBuf::from("/opt/fgf/bin/fgf")),
        );
        assert_eq!(places[0], PathBuf::from("/data/m.model"));
        assert_eq!(places[1], PathBuf::from("models/fgf.model"));
        assert_eq!(places[2], PathBuf::from("/opt/fgf/share/fgf/fgf.model"));
        assert!(places[3].ends_with("models/fgf.model") && places[3].is_absolute());
    }

    #[test]
    fn an_explicit_path_is_taken_as_given() {
        let p = resolve(Some(Path::new("no/such.model"))).unwrap();
        assert_eq!(p, PathBuf::from("no/such.model"));
    }
}
