//! Which hosts a plugin's outbound HTTP may reach. An `allowed_hosts` entry is a host name or
//! `host:port`: no wildcards, no scheme or path, and (unless an admin set
//! `allow_private_hosts` for the plugin) no IP literal in a private, loopback, link-local,
//! shared or metadata range and no name such as `localhost` or `metadata.google.internal`.
//!
//! At call time the host resolves the name itself ([`GuardedResolver`]), refuses it when any
//! address it resolves to is private (so a name cannot be re-pointed at the inside, DNS
//! rebinding), and connects to exactly the addresses it checked.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// Names that always mean the inside: loopback or a cloud's metadata service.
const INTERNAL_NAMES: &[&str] = &[
    "localhost",
    "localhost.localdomain",
    "ip6-localhost",
    "ip6-loopback",
    "metadata",
    "metadata.google.internal",
    "metadata.azure.internal",
    "instance-data",
    "instance-data.ec2.internal",
];

/// Whether `ip` is an address a plugin must not reach without `allow_private_hosts`:
/// unspecified, loopback, private, shared (CGNAT, where Alibaba Cloud's metadata lives),
/// link-local (cloud metadata at 169.254.169.254), benchmarking, reserved, broadcast,
/// multicast, documentation; IPv6 unique-local, link-local, and IPv4 mapped or translated
/// forms of those.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => private_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return private_v4(v4);
            }
            let s = v6.segments();
            // 64:ff9b::/96 (NAT64) carries an IPv4 address in its last 32 bits.
            if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                let [a, b] = s[6].to_be_bytes();
                let [c, d] = s[7].to_be_bytes();
                return private_v4(Ipv4Addr::new(a, b, c, d));
            }
            v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || v6 == Ipv6Addr::from([0u16, 0, 0, 0, 0, 0, 0, 0])
        }
    }
}

fn private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()
        || a == 0 // "this network" 0.0.0.0/8
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || (a == 100 && (64..128).contains(&b)) // shared 100.64.0.0/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // documentation
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
        || a >= 224 // multicast, reserved, broadcast
}

/// Splits `host` or `host:port` (`[v6]` or `[v6]:port` for IPv6 literals).
fn split(entry: &str) -> Result<(&str, Option<u16>), String> {
    let bad = || format!("`{entry}` is not a host name or host:port");
    let (host, port) = if let Some(rest) = entry.strip_prefix('[') {
        let (h, after) = rest.split_once(']').ok_or_else(bad)?;
        match after {
            "" => (h, None),
            p => (h, Some(p.strip_prefix(':').ok_or_else(bad)?)),
        }
    } else {
        match entry.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, Some(p)),
            Some(_) => (entry, None), // a bare IPv6 literal
            None => (entry, None),
        }
    };
    let port = match port {
        None => None,
        Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(bad)?),
    };
    Ok((host, port))
}

/// Checks one `allowed_hosts` entry.
pub fn check_allowed_host(entry: &str, allow_private: bool) -> Result<(), String> {
    if entry.contains('*') {
        return Err(format!(
            "`{entry}`: wildcards are not allowed; name each host"
        ));
    }
    let (host, _port) = split(entry)?;
    if let Ok(ip) = host.parse::<IpAddr>() {
        if !allow_private && is_private(ip) {
            return Err(format!(
                "`{entry}` is a private, loopback, link-local or metadata address; only an admin may allow private hosts for a plugin (`allow_private_hosts`)"
            ));
        }
        return Ok(());
    }
    let name = host.trim_end_matches('.').to_ascii_lowercase();
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if name.is_empty() || name.len() > 253 || !name.split('.').all(label_ok) {
        return Err(format!("`{entry}` is not a host name or host:port"));
    }
    // Names that read as numbers are IP addresses to some resolvers (`2130706433`, `0x7f.1`).
    if name
        .rsplit('.')
        .next()
        .is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()) || l.starts_with("0x"))
    {
        return Err(format!("`{entry}` is not a host name or host:port"));
    }
    if !allow_private
        && (INTERNAL_NAMES.contains(&name.as_str())
            || name.ends_with(".localhost")
            || name.ends_with(".internal")
            || name.ends_with(".local"))
    {
        return Err(format!(
            "`{entry}` names the host itself or an internal service; only an admin may allow private hosts for a plugin (`allow_private_hosts`)"
        ));
    }
    Ok(())
}

/// The resolver of plugins' outbound HTTP: names from a fixed table first (as `curl
/// --resolve`), then the system's; with `allow_private` false, a name that resolves to any
/// private address is refused. reqwest connects to the addresses returned here.
#[derive(Debug, Clone, Default)]
pub struct GuardedResolver {
    pub table: Arc<BTreeMap<String, Vec<IpAddr>>>,
    pub allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let this = self.clone();
        let name = name.as_str().trim_end_matches('.').to_ascii_lowercase();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = match this.table.get(&name) {
                Some(ips) => ips.iter().map(|ip| SocketAddr::new(*ip, 0)).collect(),
                None => tokio::net::lookup_host((name.as_str(), 0)).await?.collect(),
            };
            if !this.allow_private
                && let Some(a) = addrs.iter().find(|a| is_private(a.ip()))
            {
                return Err(format!(
                    "`{name}` resolves to the private address {}; refused",
                    a.ip()
                )
                .into());
            }
            if addrs.is_empty() {
                return Err(format!("`{name}` does not resolve").into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_hosts_entries() {
        for ok in [
            "openapi-fxg.jinritemai.com",
            "eco.taobao.com:443",
            "8.8.8.8",
            "[2606:4700::1111]:443",
        ] {
            assert_eq!(check_allowed_host(ok, false), Ok(()), "{ok}");
        }
        for bad in [
            "localhost",
            "LOCALHOST.",
            "localhost:8080",
            "api.localhost",
            "metadata.google.internal",
            "169.254.169.254",
            "0.0.0.0",
            "127.0.0.1:9000",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "100.100.100.200",
            "[::1]",
            "::1",
            "[fd00:ec2::254]",
            "[::ffff:127.0.0.1]:80",
            "*",
            "*.taobao.com",
            "2130706433",
            "a/b",
            "user@host",
            "host:0",
            "host:99999",
            "",
        ] {
            assert!(check_allowed_host(bad, false).is_err(), "{bad}");
        }
        assert_eq!(check_allowed_host("127.0.0.1:9000", true), Ok(()));
        assert_eq!(check_allowed_host("localhost", true), Ok(()));
        assert!(check_allowed_host("*", true).is_err(), "never a wildcard");
    }
}
