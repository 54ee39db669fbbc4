//! Exports are written beside their destination and moved into place whole, so a failed export leaves
//! nothing half-written and never replaces what is not an export of ours.

use std::path::Path;

use anyhow::Context;

/// A folder beside `out` to write an export into, once `out` is known to be new, empty or an export of
/// ours (only `files` in it): nothing else is ever replaced.
pub fn folder(out: &Path, files: &[&str]) -> anyhow::Result<tempfile::TempDir> {
    refuse_foreign(out, files)?;
    Ok(tempfile::Builder::new().prefix(".export-").tempdir_in(parent_of(out)?)?)
}

/// The finished folder takes `out`'s place whole.
pub fn put_folder(staged: tempfile::TempDir, out: &Path) -> anyhow::Result<()> {
    if out.exists() {
        std::fs::remove_dir_all(out)?;
    }
    std::fs::rename(staged.keep(), out).with_context(|| format!("cannot write {}", out.display()))
}

/// A file beside `out` to write a one-file export into; `out` may be a file, which it will replace, but
/// not a folder. Readable as a file created in place would be (a temporary file is the owner's only).
pub fn file(out: &Path) -> anyhow::Result<tempfile::NamedTempFile> {
    use std::os::unix::fs::PermissionsExt;
    anyhow::ensure!(!out.is_dir(), "{} is a folder: name the file to write", out.display());
    let as_created = std::fs::Permissions::from_mode(0o666);
    Ok(tempfile::Builder::new().prefix(".export-").permissions(as_created).tempfile_in(parent_of(out)?)?)
}

/// The finished file takes `out`'s place.
pub fn put_file(staged: tempfile::NamedTempFile, out: &Path) -> anyhow::Result<()> {
    staged.persist(out).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(())
}

fn parent_of(out: &Path) -> anyhow::Result<&Path> {
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    Ok(parent)
}

fn refuse_foreign(out: &Path, files: &[&str]) -> anyhow::Result<()> {
    if !out.exists() {
        return Ok(());
    }
    anyhow::ensure!(out.is_dir(), "{} exists and is not a folder", out.display());
    for entry in std::fs::read_dir(out)? {
        let name = entry?.file_name();
        anyhow::ensure!(
            files.iter().any(|f| name == *f),
            "{} holds {:?}, which is not one of this export's files: choose an empty or new folder",
            out.display(),
            name
        );
    }
    Ok(())
}
