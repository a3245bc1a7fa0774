//! Secrets at rest: one AEAD (ChaCha20-Poly1305) under one server key, for every value kolhost
//! keeps that must not be readable from a copy of the database (KOL ID numbers; plugin
//! secrets). A sealed value is `v1:` and the base64 of a random 96-bit nonce followed by the
//! ciphertext and tag; `aad` (e.g. the owning record's id) binds it to its place, so a sealed
//! value copied onto another record does not open.
//!
//! The key is 32 bytes, from `KOLHOST_SECRET_KEY` (base64 or hex), or else from the key file
//! `secret.key` beside the SQLite database (or in the data dir for PostgreSQL), created on first
//! start with mode 0600. Losing the key loses the sealed values: back it up with the database,
//! but not in the same place.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;

/// The environment variable holding the key.
pub const KEY_ENV: &str = "KOLHOST_SECRET_KEY";
/// The key file's name.
pub const KEY_FILE: &str = "secret.key";

const PREFIX: &str = "v1:";

/// Seals and opens secrets with the server's key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the secret key must be 32 bytes, as base64 or hex: {0}")]
    BadKey(String),
    #[error("cannot read or create the key file {path}: {source}")]
    KeyFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("a sealed value does not open with this key (wrong key, or altered)")]
    Open,
}

impl SecretBox {
    pub fn new(key: [u8; 32]) -> Self {
        SecretBox {
            cipher: ChaCha20Poly1305::new(&Key::from(key)),
        }
    }

    /// The server's box: the key from [`KEY_ENV`] when set, else from the key file in `dir`
    /// (created, 0600, when absent).
    pub fn load(dir: &Path) -> Result<Self, SecretError> {
        if let Ok(text) = std::env::var(KEY_ENV) {
            return Ok(SecretBox::new(parse_key(&text)?));
        }
        Ok(SecretBox::new(key_file(&dir.join(KEY_FILE))?))
    }

    /// Where the key file goes for `database_url`: beside an SQLite file, else `data_dir`.
    pub fn key_dir(database_url: &str, data_dir: &Path) -> PathBuf {
        if !database_url.starts_with("sqlite:") || database_url.contains(":memory:") {
            return data_dir.to_path_buf();
        }
        // Beside the SQLite file (in the working directory when it names no folder).
        super::sqlite_parent_dir(database_url).unwrap_or_else(|| PathBuf::from("."))
    }

    /// `plaintext` sealed, bound to `aad`.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> String {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .expect("ChaCha20-Poly1305 encryption of an in-memory value does not fail");
        let mut out = nonce.to_vec();
        out.extend(ct);
        format!("{PREFIX}{}", B64.encode(out))
    }

    /// The plaintext of a value [`seal`](Self::seal)ed with this key and `aad`.
    pub fn open(&self, sealed: &str, aad: &[u8]) -> Result<Vec<u8>, SecretError> {
        let raw = sealed
            .strip_prefix(PREFIX)
            .and_then(|b| B64.decode(b).ok())
            .filter(|r| r.len() >= 12 + 16)
            .ok_or(SecretError::Open)?;
        let (nonce, ct) = raw.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| SecretError::Open)?;
        self.cipher
            .decrypt(&Nonce::from(nonce), Payload { msg: ct, aad })
            .map_err(|_| SecretError::Open)
    }

    /// [`open`](Self::open) as UTF-8 text.
    pub fn open_text(&self, sealed: &str, aad: &[u8]) -> Result<String, SecretError> {
        String::from_utf8(self.open(sealed, aad)?).map_err(|_| SecretError::Open)
    }
}

/// The key a server would use, without creating a key file: from [`KEY_ENV`] when set, else
/// from the key file in `dir`, with where it came from (`None` for the variable).
pub fn existing_key(dir: &Path) -> Result<([u8; 32], Option<PathBuf>), SecretError> {
    if let Ok(text) = std::env::var(KEY_ENV) {
        return Ok((parse_key(&text)?, None));
    }
    let path = dir.join(KEY_FILE);
    let text = std::fs::read_to_string(&path).map_err(|source| SecretError::KeyFile {
        path: path.clone(),
        source,
    })?;
    Ok((parse_key(&text)?, Some(path)))
}

/// A fresh random key, as base64.
pub fn generate_key() -> String {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    B64.encode(key)
}

/// Replaces the key file at `path` with `key` (base64, mode 0600): written beside it, synced,
/// then renamed over it, so the file holds the old key or the new one, never a mix.
pub fn replace_key_file(path: &Path, key: &[u8; 32]) -> Result<(), SecretError> {
    let err = |source| SecretError::KeyFile {
        path: path.to_owned(),
        source,
    };
    let tmp = path.with_extension("key.new");
    match std::fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(err(e)),
    }
    write_private(&tmp, &B64.encode(key)).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

/// 32 bytes from base64 (standard or URL-safe) or 64 hex digits.
pub fn parse_key(text: &str) -> Result<[u8; 32], SecretError> {
    let t = text.trim();
    let bytes = if t.len() == 64 && t.chars().all(|c| c.is_ascii_hexdigit()) {
        hex::decode(t).map_err(|e| SecretError::BadKey(e.to_string()))?
    } else {
        B64.decode(t)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(t))
            .map_err(|e| SecretError::BadKey(e.to_string()))?
    };
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| SecretError::BadKey(format!("{} bytes", b.len())))
}

fn key_file(path: &Path) -> Result<[u8; 32], SecretError> {
    let err = |source| SecretError::KeyFile {
        path: path.to_owned(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => parse_key(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(err)?;
            }
            let mut key = [0u8; 32];
            rand::rng().fill_bytes(&mut key);
            write_private(path, &B64.encode(key)).map_err(err)?;
            // Another process may have won the race: use what is on disk.
            parse_key(&std::fs::read_to_string(path).map_err(err)?)
        }
        Err(e) => Err(err(e)),
    }
}

/// Creates `path` (failing if it exists) readable by its owner only.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(path) {
        Ok(mut f) => {
            f.write_all(text.as_bytes())?;
            f.sync_all()
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_open_only_with_the_key_and_the_place() {
        let b = SecretBox::new([7; 32]);
        let s = b.seal(b"11010519491231002X", b"kol-1");
        assert!(s.starts_with("v1:"));
        assert!(!s.contains("1101051949"));
        assert_eq!(b.open_text(&s, b"kol-1").unwrap(), "11010519491231002X");
        // Another place, another key, an altered value: none opens.
        assert!(b.open(&s, b"kol-2").is_err());
        assert!(SecretBox::new([8; 32]).open(&s, b"kol-1").is_err());
        let mut altered = s.clone().into_bytes();
        let last = altered.len() - 3;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        assert!(
            b.open(std::str::from_utf8(&altered).unwrap(), b"kol-1")
                .is_err()
        );
        // Two seals of one value differ (fresh nonces).
        assert_ne!(s, b.seal(b"11010519491231002X", b"kol-1"));
    }

    #[test]
    fn the_key_file_sits_beside_an_sqlite_file_or_in_the_data_dir() {
        let data = Path::new("/var/lib/kolhost");
        let dir = |url| SecretBox::key_dir(url, data);
        assert_eq!(
            dir("sqlite:///srv/kh/kolhost.db?mode=rwc"),
            Path::new("/srv/kh")
        );
        assert_eq!(dir("sqlite://data/kolhost.db?mode=rwc"), Path::new("data"));
        assert_eq!(dir("sqlite://kolhost.db"), Path::new("."));
        assert_eq!(dir("postgres://postgres@127.0.0.1:5432/kh"), data);
        assert_eq!(dir("sqlite::memory:"), data);
    }

    #[test]
    fn keys_parse_from_base64_or_hex_and_the_file_is_private() {
        assert_eq!(parse_key(&"ab".repeat(32)).unwrap(), [0xab; 32]);
        assert_eq!(parse_key(&B64.encode([3u8; 32])).unwrap(), [3; 32]);
        assert!(parse_key("short").is_err());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join(KEY_FILE);
        let k1 = key_file(&path).unwrap();
        assert_eq!(
            key_file(&path).unwrap(),
            k1,
            "the file is read back, not replaced"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
