//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("sim/ sits in the workspace")
        .to_path_buf()
}

/// Every `.toml` under `scenarios/<dir>`, sorted.
pub fn scenario_files(dir: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("scenario dir exists")
            .map(|e| e.expect("dir entry").path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "toml") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root().join("scenarios").join(dir), &mut out);
    out
}

/// Shipped scenarios: everything under scenarios/ except known-bad/.
pub fn shipped() -> Vec<PathBuf> {
    scenario_files("")
        .into_iter()
        .filter(|p| !p.components().any(|c| c.as_os_str() == "known-bad"))
        .collect()
}
