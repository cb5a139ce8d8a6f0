//! The single owner of an embedded index: an exclusive OS lock on a file in its directory, held for the
//! life of the process's index. The OS releases it when the process ends, however it ends (a killed worker
//! leaves no stale lock behind).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The lock file's name in the index directory.
pub const LOCK_FILE: &str = "owner.lock";

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "the vector index in {dir} is owned by another worker (pid {pid}); set QDRANT_URL to run several workers"
    )]
    Owned { dir: PathBuf, pid: String },
    #[error("cannot lock the vector index in {dir}: {error}")]
    Io { dir: PathBuf, error: std::io::Error },
}

/// The held lock (released when dropped).
#[derive(Debug)]
pub struct IndexLock {
    _file: File,
}

impl IndexLock {
    /// Takes the lock of `dir` (created if missing), or fails at once if another process (or another open
    /// index in this one) holds it.
    pub fn acquire(dir: &Path) -> Result<Self, LockError> {
        let io = |error| LockError::Io {
            dir: dir.to_owned(),
            error,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join(LOCK_FILE))
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                let pid = pid.trim();
                return Err(LockError::Owned {
                    dir: dir.to_owned(),
                    pid: if pid.is_empty() {
                        "unknown".into()
                    } else {
                        pid.to_owned()
                    },
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        write!(file, "{}", std::process::id()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(IndexLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_owner_is_refused_until_the_first_lets_go() {
        let dir = std::env::temp_dir().join(format!("insights-lock-{}", uuid::Uuid::new_v4()));
        let first = IndexLock::acquire(&dir).unwrap();
        let err = IndexLock::acquire(&dir).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("owned by another worker")
                && message.contains(&format!("pid {}", std::process::id()))
                && message.contains("QDRANT_URL"),
            "{message}"
        );
        drop(first);
        IndexLock::acquire(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
