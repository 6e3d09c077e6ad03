//! The one rule for every command that writes: an output may never resolve to a file the
//! command reads, to a file of the model it uses, or into a folder another run owns.
//!
//! "Resolve" means after symlinks, `.` and `..` (the paths are canonicalised) and after hard
//! links (the device and inode are compared), so `-o ./x/../in.csv`, a symlink to the input or
//! a hard link to a model's weights are all caught before anything is written.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// What an output must not touch.
#[derive(Debug, Default, Clone)]
pub struct Protected {
    files: Vec<PathBuf>,
    /// Folders no output may be written into (checkpoints, encoders).
    dirs: Vec<PathBuf>,
}

/// A path as it will be resolved when written: canonical, and its inode if it exists.
struct Resolved {
    path: PathBuf,
    inode: Option<(u64, u64)>,
}

#[cfg(unix)]
fn inode(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn inode(_meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

fn resolve(p: &Path) -> Option<Resolved> {
    if p == Path::new("-") {
        return None;
    }
    if let Ok(path) = std::fs::canonicalize(p) {
        let inode = std::fs::metadata(&path).ok().as_ref().and_then(inode);
        return Some(Resolved { path, inode });
    }
    // Not there yet: resolve the folder it will be created in.
    let abs = std::path::absolute(p).ok()?;
    let name = abs.file_name()?.to_owned();
    let parent = abs.parent()?;
    let parent =
        std::fs::canonicalize(parent).unwrap_or_else(|_| crate::config::clean_path(parent));
    Some(Resolved {
        path: parent.join(name),
        inode: None,
    })
}

impl Protected {
    pub fn new() -> Self {
        Self::default()
    }

    /// A file the command reads (`-` is ignored).
    pub fn file(mut self, p: &Path) -> Self {
        if p != Path::new("-") {
            self.files.push(p.to_path_buf());
        }
        self
    }

    /// A folder whose files the command reads or another run owns: nothing may be written
    /// into it.
    pub fn dir(mut self, p: &Path) -> Self {
        self.dirs.push(p.to_path_buf());
        self
    }

    /// Refuse `output` (a file about to be written; `-` is stdout) if it resolves to a
    /// protected file or into a protected folder. `flag` names the option in the message.
    pub fn check(&self, flag: &str, output: &Path) -> Result<()> {
        let Some(out) = resolve(output) else {
            return Ok(());
        };
        let refuse = |what: String| {
            Err(Error::Input(format!(
                "{flag} {}: refusing to write there: {what}; choose another path",
                output.display()
            )))
        };
        for f in &self.files {
            let Some(input) = resolve(f) else { continue };
            let same_inode = out.inode.is_some() && out.inode == input.inode;
            if out.path == input.path || same_inode {
                return refuse(format!("it is the input file {}", f.display()));
            }
        }
        for d in &self.dirs {
            let Some(dir) = resolve(d) else { continue };
            if out.path.starts_with(&dir.path) {
                return refuse(format!(
                    "it is inside {}, which this command reads",
                    d.display()
                ));
            }
            if let Some(hit) = linked_into(&out, &dir.path) {
                return refuse(format!("it is a link to {}", hit.display()));
            }
        }
        if let Some(owner) = checkpoint_owning(&out.path) {
            return refuse(format!(
                "{} is a checkpoint or run folder, owned by the run that wrote it",
                owner.display()
            ));
        }
        Ok(())
    }
}

/// A file inside `dir` that is a hard link to the output, if any (one level of folders deep
/// is enough for checkpoints: the weights and the bundled encoder).
fn linked_into(out: &Resolved, dir: &Path) -> Option<PathBuf> {
    let target = out.inode?;
    let mut stack = vec![(dir.to_path_buf(), 0)];
    while let Some((d, depth)) = stack.pop() {
        for entry in std::fs::read_dir(&d).ok()?.flatten() {
            let meta = entry.metadata().ok()?;
            if meta.is_dir() && depth < 2 {
                stack.push((entry.path(), depth + 1));
            } else if inode(&meta) == Some(target) {
                return Some(entry.path());
            }
        }
    }
    None
}

/// The checkpoint or run folder that `path` would be written into, if any: a folder holding a
/// checkpoint manifest, a training log or a resume state.
pub fn checkpoint_owning(path: &Path) -> Option<PathBuf> {
    let parent = path.parent()?;
    let owned = [
        crate::layout::MANIFEST,
        crate::layout::LOG_FILE,
        crate::layout::RESUME_DIR,
    ]
    .iter()
    .any(|f| parent.join(f).exists());
    owned.then(|| parent.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_output_that_resolves_to_the_input_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.csv");
        std::fs::write(&input, "text\nx\n").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let p = Protected::new().file(&input);
        assert!(p.check("-o", &dir.path().join("sub/../in.csv")).is_err());
        let link = dir.path().join("link.csv");
        std::os::unix::fs::symlink(&input, &link).unwrap();
        assert!(p.check("-o", &link).is_err());
        let hard = dir.path().join("hard.csv");
        std::fs::hard_link(&input, &hard).unwrap();
        assert!(p.check("-o", &hard).is_err());
        assert!(p.check("-o", &dir.path().join("out.csv")).is_ok());
        assert!(p.check("-o", Path::new("-")).is_ok());
    }

    #[test]
    fn outputs_inside_a_protected_or_owned_folder_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("model");
        std::fs::create_dir(&model).unwrap();
        std::fs::write(model.join(crate::layout::MANIFEST), "{}").unwrap();
        let p = Protected::new().dir(&model);
        assert!(p.check("-o", &model.join("model.safetensors")).is_err());
        let other = dir.path().join("other-run");
        std::fs::create_dir(&other).unwrap();
        std::fs::write(other.join(crate::layout::MANIFEST), "{}").unwrap();
        assert!(Protected::new()
            .check("--out", &other.join("report.json"))
            .is_err());
    }
}
