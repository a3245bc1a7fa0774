//! The TOP signature (see the module docs).

use crate::Error;
use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use sha2::Sha256;

/// `sign_method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignMethod {
    Md5,
    HmacMd5,
    HmacSha256,
}

impl SignMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            SignMethod::Md5 => "md5",
            SignMethod::HmacMd5 => "hmac",
            SignMethod::HmacSha256 => "hmac-sha256",
        }
    }

    /// `md5`, `hmac` or `hmac-sha256`.
    pub fn parse(s: &str) -> Result<SignMethod, Error> {
        match s.trim() {
            "md5" => Ok(SignMethod::Md5),
            "hmac" => Ok(SignMethod::HmacMd5),
            "hmac-sha256" => Ok(SignMethod::HmacSha256),
            other => Err(Error::Config(format!(
                "sign_method `{other}` is not md5, hmac or hmac-sha256"
            ))),
        }
    }
}

/// The signature of `params` (any `sign` among them is skipped) and `body`, upper-case hex.
pub fn sign(params: &[(&str, &str)], body: &[u8], secret: &str, method: SignMethod) -> String {
    let mut sorted: Vec<&(&str, &str)> = params.iter().filter(|(k, _)| *k != "sign").collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut s: Vec<u8> = Vec::new();
    for (k, v) in sorted {
        s.extend_from_slice(k.as_bytes());
        s.extend_from_slice(v.as_bytes());
    }
    s.extend_from_slice(body);
    let bytes = match method {
        SignMethod::Md5 => {
            let mut h = Md5::new();
            h.update(secret.as_bytes());
            h.update(&s);
            h.update(secret.as_bytes());
            h.finalize().to_vec()
        }
        SignMethod::HmacMd5 => {
            let mut mac = <Hmac<Md5> as KeyInit>::new_from_slice(secret.as_bytes())
                .expect("HMAC takes any key length");
            mac.update(&s);
            mac.finalize().into_bytes().to_vec()
        }
        SignMethod::HmacSha256 => {
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
                .expect("HMAC takes any key length");
            mac.update(&s);
            mac.finalize().into_bytes().to_vec()
        }
    };
    hex::encode_upper(bytes)
}
