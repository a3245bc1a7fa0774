//! Who the client is, by address: the connection's peer, or, when the peer is a trusted reverse
//! proxy (`trusted_proxies`), the address its `Forwarded` (RFC 7239) or `X-Forwarded-For`
//! header gives. Walking the header from the right, the first address that is not itself a
//! trusted proxy is the client: entries to its left were written by the client and prove
//! nothing. Without trusted proxies the headers are ignored, so no client can pick the address
//! it is counted under.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

/// The client address of a request, as the failed-sign-in limit counts it.
pub fn client_ip(parts: &Parts, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())?;
    Some(resolve(peer, &parts.headers, trusted))
}

/// The client behind `peer`, given the request's headers and the trusted proxies.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(&canonical(*ip)));
    if !is_trusted(&peer) {
        return peer;
    }
    // `Forwarded` when present (the standard), else `X-Forwarded-For`. A header that does not
    // parse names nobody: the proxy stays the client.
    let chain = if headers.contains_key("forwarded") {
        forwarded_for(headers)
    } else {
        x_forwarded_for(headers)
    };
    let Some(chain) = chain else {
        return peer;
    };
    chain
        .into_iter()
        .rev()
        .map(canonical)
        .find(|ip| !is_trusted(ip))
        .unwrap_or(peer)
}

/// An IPv4 address written as IPv6 (`::ffff:a.b.c.d`) as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Every address of every `X-Forwarded-For` header, in order; `None` if any entry is not one.
fn x_forwarded_for(headers: &HeaderMap) -> Option<Vec<IpAddr>> {
    let mut out = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        for item in value.to_str().ok()?.split(',') {
            out.push(parse_node(item.trim())?);
        }
    }
    Some(out)
}

/// The `for=` node of every element of every `Forwarded` header, in order; `None` if an element
/// has none that is an address (`unknown` and obfuscated names included: they cannot be counted).
fn forwarded_for(headers: &HeaderMap) -> Option<Vec<IpAddr>> {
    let mut out = Vec::new();
    for value in headers.get_all("forwarded") {
        for element in value.to_str().ok()?.split(',') {
            let node = element.split(';').find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                k.trim().eq_ignore_ascii_case("for").then(|| v.trim())
            })?;
            out.push(parse_node(node.trim_matches('"'))?);
        }
    }
    Some(out)
}

/// `a.b.c.d`, `a.b.c.d:port`, `2001:db8::1` or `[2001:db8::1]:port`.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sa) = node.parse::<SocketAddr>() {
        return Some(sa.ip());
    }
    node.strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|ip| ip.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn headers_count_only_behind_a_trusted_proxy() {
        let proxies: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()];
        let xff = headers(&[("x-forwarded-for", "198.51.100.7, 203.0.113.5")]);
        // Not from a proxy: the peer, whatever the header says.
        assert_eq!(resolve(ip("192.0.2.1"), &xff, &proxies), ip("192.0.2.1"));
        assert_eq!(resolve(ip("10.1.2.3"), &xff, &[]), ip("10.1.2.3"));
        // From a proxy: the rightmost address that is not a proxy.
        assert_eq!(resolve(ip("10.1.2.3"), &xff, &proxies), ip("203.0.113.5"));
        let through_two = headers(&[("x-forwarded-for", "203.0.113.5, 10.9.9.9")]);
        assert_eq!(
            resolve(ip("10.1.2.3"), &through_two, &proxies),
            ip("203.0.113.5")
        );
        // Forwarded wins over X-Forwarded-For; ports, brackets, quotes and mapped IPv4 read.
        let both = headers(&[
            (
                "forwarded",
                "for=192.0.2.60;proto=http, for=\"[2001:db8::17]:4711\"",
            ),
            ("x-forwarded-for", "198.51.100.7"),
        ]);
        assert_eq!(resolve(ip("::1"), &both, &proxies), ip("2001:db8::17"));
        let mapped = headers(&[("x-forwarded-for", "::ffff:203.0.113.9, 10.0.0.2:8080")]);
        assert_eq!(
            resolve(ip("::ffff:10.0.0.1"), &mapped, &proxies),
            ip("203.0.113.9")
        );
        // Nothing usable: the proxy.
        for bad in [
            headers(&[]),
            headers(&[("x-forwarded-for", "not-an-address")]),
            headers(&[("forwarded", "for=unknown")]),
            headers(&[("x-forwarded-for", "10.0.0.5")]),
        ] {
            assert_eq!(resolve(ip("10.1.2.3"), &bad, &proxies), ip("10.1.2.3"));
        }
    }
}
