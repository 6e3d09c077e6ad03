//! Safe file output: every file is written to a temporary file in the destination folder and
//! renamed into place, so a crash or Ctrl-C never leaves half a file behind.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::Path;

/// Write `bytes` to `path` atomically, creating the parent folder if needed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// Write `path` atomically through a writer callback that fails with an I/O error. The
/// temporary file is removed if the callback fails.
pub fn write_atomic_with<F>(path: &Path, fill: F) -> Result<()>
where
    F: FnOnce(&mut dyn Write) -> std::io::Result<()>,
{
    write_atomic_stream(path, |w| fill(w).map_err(|e| Error::io(path, e)))
}

/// Write `path` atomically through a streaming callback that may fail with any library error
/// (a bad row, an interrupt): the temporary file is removed unless the callback succeeds.
pub fn write_atomic_stream<T, F>(path: &Path, fill: F) -> Result<T>
where
    F: FnOnce(&mut dyn Write) -> Result<T>,
{
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".stancekit-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    let _registered = crate::runtime::TempGuard::new(tmp.path());
    let value = {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
        let value = fill(&mut w)?;
        w.flush().map_err(|e| Error::io(path, e))?;
        value
    };
    tmp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    sync_dir(dir);
    Ok(value)
}

/// Make a rename in `dir` durable. Best effort: some file systems cannot sync a folder.
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_write_leaves_no_file_behind() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.csv");
        let err = write_atomic_with(&target, |w| {
            w.write_all(b"half a file")?;
            Err(std::io::Error::other("disk full"))
        });
        assert!(err.is_err());
        assert!(!target.exists());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "temporary file left behind"
        );
    }

    #[test]
    fn a_failing_stream_leaves_no_file_behind() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.csv");
        let err = write_atomic_stream(&target, |w| {
            w.write_all(b"half").map_err(|e| Error::io("x", e))?;
            Err::<(), _>(Error::Interrupted)
        });
        assert!(matches!(err, Err(Error::Interrupted)));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn successful_write_replaces_the_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("sub").join("out.txt");
        write_atomic(&target, b"one").unwrap();
        write_atomic(&target, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "two");
    }
}
