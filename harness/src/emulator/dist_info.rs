//! Why this file exists: deciding whether a `moto_server` on PATH is the pinned moto means
//! asking its Python for moto's version, which starts an interpreter and scans its packages
//! (0.1-0.5 s for a pyenv interpreter on a busy machine) on every `harness run`. An interpreter's
//! own installs are also named on disk: `<prefix>/lib/python3.X/site-packages/moto-5.2.1.dist-info`
//! (the layout of CPython installs, pyenv's and venvs: https://packaging.python.org/en/latest/specifications/recording-installed-packages/).
//! This reads that name instead of running Python.

use std::path::Path;

/// The version of `package` installed in the prefix of interpreter `python`
/// (`<prefix>/bin/python3` → `<prefix>/lib/python3*/site-packages/<package>-<version>.dist-info`),
/// or `None` unless exactly one such directory is there.
pub fn installed_version(python: &Path, package: &str) -> Option<String> {
    let prefix = python.parent()?.parent()?;
    let wanted = format!("{package}-");
    let mut found = Vec::new();
    for lib in std::fs::read_dir(prefix.join("lib")).ok()?.flatten() {
        if !lib.file_name().to_string_lossy().starts_with("python3") {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(lib.path().join("site-packages")) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(version) = name
                .strip_prefix(&wanted)
                .and_then(|rest| rest.strip_suffix(".dist-info"))
            {
                found.push(version.to_string());
            }
        }
    }
    (found.len() == 1).then(|| found.remove(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_one_dist_info_of_the_prefix() {
        let prefix = tempfile::tempdir().unwrap();
        let python = prefix.path().join("bin").join("python3");
        assert_eq!(installed_version(&python, "moto"), None);
        let site = prefix.path().join("lib/python3.11/site-packages");
        std::fs::create_dir_all(site.join("moto-5.2.1.dist-info")).unwrap();
        std::fs::create_dir_all(site.join("motor-1.0.dist-info")).unwrap();
        std::fs::create_dir_all(site.join("moto")).unwrap();
        assert_eq!(installed_version(&python, "moto").as_deref(), Some("5.2.1"));
        std::fs::create_dir_all(site.join("moto-5.2.5.dist-info")).unwrap();
        assert_eq!(
            installed_version(&python, "moto"),
            None,
            "two installs: ask Python"
        );
    }
}
