//! Guard rails for running several processes: SQLite takes one writer, and every replica gets
//! a cache folder of its own (two replicas sharing one git cache fail with `git remote add
//! failed`). Both rest on exclusive file locks (`flock`), which the kernel drops when a
//! process dies, even by `kill -9`, so a restarted replica never waits for a stale lock. Across
//! hosts (one SQLite file on a shared volume) the replica registry's heartbeat decides.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};

use super::STALE_AFTER;
use crate::clock::Clock;
use crate::jobs::context::default_cache_dir;
use crate::store::Store;

/// Cache slots tried per folder before giving up.
const SLOTS: usize = 64;

/// Refuses to go on while another live `baton serve` writes the SQLite file of `state`:
/// on this host its lock on `<file>.serve.lock` says so at once; on another host (a shared
/// volume) a heartbeat fresher than [`STALE_AFTER`] does, after waiting that long for it to
/// stop. Once alone, drops the leases a crashed predecessor left (see
/// [`Store::release_dead_leases`]). Returns the held lock.
pub async fn one_writer(
    store: &Store,
    state: &str,
    host: &str,
    clock: &Clock,
) -> anyhow::Result<File> {
    let db = sqlite_path(state);
    let lock_path = PathBuf::from(format!("{}.serve.lock", db.display()));
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("opening the lock file {}", lock_path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => bail!(
            "state: another `baton serve` on this host is using the SQLite file {} (it holds {}); \
             SQLite takes one replica: stop the other one, or set `state: postgres://…` to run \
             several replicas",
            db.display(),
            lock_path.display()
        ),
        Err(TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("locking {}", lock_path.display()));
        }
    }
    let deadline = clock.now() + STALE_AFTER;
    loop {
        let now = clock.now();
        let live: Vec<_> = store
            .replicas()
            .await?
            .into_iter()
            .filter(|r| r.host != host && r.stopped_at.is_none())
            .filter(|r| now - r.heartbeat_at < STALE_AFTER)
            .collect();
        let Some(other) = live.first() else {
            // Alone on the file: whatever is leased belongs to a process that died.
            let n = store.release_dead_leases().await?;
            if n > 0 {
                tracing::info!(
                    records = n,
                    "took back the records a crashed baton held; delivering them now"
                );
            }
            return Ok(file);
        };
        if now >= deadline {
            bail!(
                "state: replica {} on host {} (pid {}) is still writing the SQLite file {} \
                 (last heartbeat {} s ago); SQLite takes one replica: stop it, or set \
                 `state: postgres://…` to run several replicas",
                other.id,
                other.host,
                other.pid,
                db.display(),
                (now - other.heartbeat_at).whole_seconds()
            );
        }
        tracing::warn!(replica = %other.id, host = %other.host, "another replica on another host beats on this SQLite file; waiting for its heartbeat to stop");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// This replica's cache folder: the first free `replica-N` under `dir` (default: next to a
/// SQLite file, else a per-URL folder in the temporary folder), with its held lock.
pub fn cache_slot(dir: Option<PathBuf>, state: &str) -> anyhow::Result<(PathBuf, Option<File>)> {
    let base = dir.unwrap_or_else(|| default_cache_dir(state));
    std::fs::create_dir_all(&base)
        .with_context(|| format!("creating the cache folder {}", base.display()))?;
    for n in 0..SLOTS {
        let slot = base.join(format!("replica-{n}"));
        std::fs::create_dir_all(&slot)
            .with_context(|| format!("creating the cache folder {}", slot.display()))?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(slot.join(".lock"))
            .with_context(|| format!("opening the lock in {}", slot.display()))?;
        match file.try_lock() {
            Ok(()) => return Ok((slot, Some(file))),
            Err(TryLockError::WouldBlock) => continue,
            Err(TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("locking {}", slot.display()));
            }
        }
    }
    bail!(
        "--cache-dir {}: all {SLOTS} replica folders are in use by running processes",
        base.display()
    )
}

fn sqlite_path(state: &str) -> PathBuf {
    let rest = state.strip_prefix("sqlite:").unwrap_or(state);
    let path = rest
        .trim_start_matches("//")
        .split('?')
        .next()
        .unwrap_or("");
    Path::new(path).to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_processes_never_share_a_cache_folder() {
        let dir = tempfile::tempdir().unwrap();
        let (a, la) = cache_slot(Some(dir.path().into()), "postgres://h/db").unwrap();
        let (b, _lb) = cache_slot(Some(dir.path().into()), "postgres://h/db").unwrap();
        assert_ne!(a, b);
        drop(la);
        let (c, _lc) = cache_slot(Some(dir.path().into()), "postgres://h/db").unwrap();
        assert_eq!(a, c, "a freed folder is reused (its cache is still warm)");
    }

    #[test]
    fn sqlite_paths_are_read_from_urls() {
        assert_eq!(
            sqlite_path("sqlite:///a/b.db?mode=rwc"),
            Path::new("/a/b.db")
        );
        assert_eq!(sqlite_path("sqlite://data/b.db"), Path::new("data/b.db"));
    }
}
