//! `application/x-www-form-urlencoded` and query strings: encoding (RFC 3986 unreserved
//! characters kept, everything else `%XX` of its UTF-8 bytes) and decoding (`+` is a space).

use crate::Error;

/// Percent-encodes a value for a query string or a form body.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 15)]));
        }
    }
    out
}

/// `k1=v1&k2=v2` with each part encoded, in the order given.
pub fn encode_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    pairs
        .into_iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Decodes one component.
pub fn decode(s: &str) -> Result<String, Error> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| Error::Malformed(format!("bad percent-escape in `{s}`")))?;
                out.push(hex);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| Error::Malformed(format!("`{s}` is not UTF-8")))
}

/// Parses `k1=v1&k2=v2` into decoded pairs, in order (empty parts skipped).
pub fn parse_pairs(s: &str) -> Result<Vec<(String, String)>, Error> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            Ok((decode(k)?, decode(v)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let v = r#"{"title":"短袖 T恤","n":1}&x=y+z%"#;
        let enc = encode(v);
        assert!(enc.bytes().all(|b| b.is_ascii_graphic()));
        assert_eq!(decode(&enc).unwrap(), v);
        let q = encode_pairs([("a", "1 2"), ("b", "é")]);
        assert_eq!(q, "a=1%202&b=%C3%A9");
        assert_eq!(
            parse_pairs("a=1+2&b=%C3%A9&&c").unwrap(),
            vec![
                ("a".into(), "1 2".into()),
                ("b".into(), "é".into()),
                ("c".into(), String::new())
            ]
        );
        assert!(decode("%G1").is_err());
        assert!(decode("%C3").is_err());
        assert!(decode("%1").is_err());
    }
}
