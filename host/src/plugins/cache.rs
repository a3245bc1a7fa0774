//! Compiled components on disk, so a restart deserializes in milliseconds what Cranelift took
//! seconds to compile. One file per component build and engine: `<sha256>-<engine>.cwasm`, where
//! `sha256` is the component bytes' digest (the `plugin_versions.sha256` column) and `engine`
//! the engine's [`precompile_compatibility_hash`](wasmtime::Engine::precompile_compatibility_hash)
//! (wasmtime version, target and settings), beside `<same>.sha256`, the digest of the compiled
//! file. Files are written to a temporary name and renamed, so a reader never sees half a file.
//!
//! A file whose digest does not match (truncated, bit rot, a foreign file) is removed and the
//! component compiled again; one from another wasmtime or configuration has another name, and
//! wasmtime's own header check refuses it should it get one.

use std::hash::{Hash, Hasher};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

pub struct ArtifactCache {
    dir: PathBuf,
    engine_key: String,
}

impl ArtifactCache {
    /// A cache in `dir` (created, readable by this user only) for components compiled by `engine`.
    pub fn open(dir: &Path, engine: &Engine) -> std::io::Result<ArtifactCache> {
        std::fs::create_dir_all(dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
        // A stable digest of what wasmtime says decides compatibility. `DefaultHasher::new()` has
        // fixed keys; should a Rust release change its algorithm, entries are merely missed.
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        Ok(ArtifactCache {
            dir: dir.to_path_buf(),
            engine_key: format!("{:016x}", h.finish()),
        })
    }

    fn path(&self, sha256: &str, ext: &str) -> PathBuf {
        self.dir.join(format!("{sha256}-{}.{ext}", self.engine_key))
    }

    /// The compiled component of the build whose bytes have digest `sha256`, if a sound one is
    /// cached. Blocking (reads and hashes the file).
    pub fn load(&self, engine: &Engine, sha256: &str) -> Option<Component> {
        if !is_hex_digest(sha256) {
            return None;
        }
        let (artifact, digest) = (self.path(sha256, "cwasm"), self.path(sha256, "sha256"));
        let expected = std::fs::read_to_string(&digest).ok()?;
        match file_digest(&artifact) {
            Ok(found) if found == expected.trim() => {}
            Ok(_) => {
                tracing::warn!(file = %artifact.display(), "a cached compiled plugin does not match its digest; compiling again");
                self.forget(sha256);
                return None;
            }
            Err(_) => return None,
        }
        // SAFETY: `deserialize_file` maps the file and runs its machine code as compiled: a
        // crafted file would run anything. This one is trusted because this process wrote it:
        // the directory is the server's own data dir (mode 0700), written only by `store` below
        // through temp + rename, and its content matches the digest written beside it after it
        // (so a truncated or damaged file is refused above). wasmtime further checks that it was
        // produced by this wasmtime version with this engine configuration. Whoever can write
        // this directory can already replace the binary and the database.
        match unsafe { Component::deserialize_file(engine, &artifact) } {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(file = %artifact.display(), error = %e, "a cached compiled plugin does not load; compiling again");
                self.forget(sha256);
                None
            }
        }
    }

    /// Keeps `component` (compiled from bytes with digest `sha256`). A failure is logged: the
    /// next start compiles again.
    pub fn store(&self, sha256: &str, component: &Component) {
        if !is_hex_digest(sha256) {
            return;
        }
        let written = component
            .serialize()
            .map_err(std::io::Error::other)
            .and_then(|bytes| {
                let digest = hex::encode(Sha256::digest(&bytes));
                write_atomically(&self.dir, &self.path(sha256, "cwasm"), &bytes)?;
                write_atomically(&self.dir, &self.path(sha256, "sha256"), digest.as_bytes())
            });
        if let Err(e) = written {
            tracing::warn!(dir = %self.dir.display(), error = %e, "a compiled plugin could not be cached");
        }
    }

    /// Removes a build's files (a damaged one).
    pub fn forget(&self, sha256: &str) {
        let _ = std::fs::remove_file(self.path(sha256, "sha256"));
        let _ = std::fs::remove_file(self.path(sha256, "cwasm"));
    }
}

fn is_hex_digest(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn file_digest(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(hex::encode(hasher.finalize()));
        }
        hasher.update(&buf[..n]);
    }
}

/// Writes `bytes` to `path` through a temporary file in `dir`, synced, then renamed over it.
fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_a_damaged_file() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::default();
        let cache = ArtifactCache::open(dir.path(), &engine).unwrap();
        let bytes = wat::parse_str("(component (core module (func (export \"f\"))))").unwrap();
        let sha = hex::encode(Sha256::digest(&bytes));
        assert!(cache.load(&engine, &sha).is_none(), "empty at first");
        cache.store(&sha, &Component::new(&engine, &bytes).unwrap());
        assert!(cache.load(&engine, &sha).is_some());

        // One flipped byte: refused and removed, not run.
        let artifact = cache.path(&sha, "cwasm");
        let mut damaged = std::fs::read(&artifact).unwrap();
        let mid = damaged.len() / 2;
        damaged[mid] ^= 0xff;
        std::fs::write(&artifact, damaged).unwrap();
        assert!(cache.load(&engine, &sha).is_none());
        assert!(!artifact.exists());
        // Not a digest: never a path.
        assert!(cache.load(&engine, "../../etc/passwd").is_none());
    }
}
