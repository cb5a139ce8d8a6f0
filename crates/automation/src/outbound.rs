//! The guard on outbound destinations (Slack, webhooks): no request reaches the product's own network.
//!
//! Forbidden unless inside one of the allowed networks (`INSIGHTS_OUTBOUND_ALLOWED_NETWORKS`): private
//! (10/8, 172.16/12, 192.168/16), loopback (127/8, ::1), link-local (169.254/16 — the cloud metadata address
//! 169.254.169.254 among them — and fe80::/10), unique-local (fc00::/7), shared address space (CGNAT,
//! 100.64/10), multicast, unspecified and "this network" (0/8, ::), broadcast, reserved (240/4), the
//! documentation and benchmarking ranges, and the IPv6 forms that carry an IPv4 address (IPv4-mapped
//! `::ffff:a.b.c.d`, IPv4-compatible, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`, Teredo) — an IPv4-mapped address
//! is allowed only when the IPv4 address it carries is in an allowed network. URLs: `https` or `http` only, a host, no user name or password.
//!
//! The caller resolves a name itself and connects only to an address this guard accepted (so a name cannot
//! resolve to another address between the check and the connection).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use url::{Host, Url};

/// A destination refused, in a sentence.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    #[error("the value is not a valid URL")]
    InvalidUrl,
    #[error("only https and http URLs are allowed, not {0}:")]
    Scheme(String),
    #[error("the URL must not carry a user name or password")]
    Credentials,
    #[error("the URL has no host")]
    NoHost,
    #[error("{ip} is a {kind} address: requests to it are not allowed")]
    Forbidden { ip: IpAddr, kind: &'static str },
}

/// What kind of forbidden address `ip` is, if it is one (ignoring allowed networks).
#[must_use]
pub fn forbidden_kind(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    Some(match o {
        [0, ..] => "unspecified (\"this network\")",
        [10, ..] => "private",
        [100, b, ..] if (64..128).contains(&b) => "shared (CGNAT)",
        [127, ..] => "loopback",
        [169, 254, ..] => "link-local (cloud metadata)",
        [172, b, ..] if (16..32).contains(&b) => "private",
        [192, 0, 0, _] => "reserved (IETF protocol assignments)",
        [192, 0, 2, _] | [198, 51, 100, _] | [203, 0, 113, _] => "documentation",
        [192, 168, ..] => "private",
        [198, 18 | 19, ..] => "benchmarking",
        [a, ..] if (224..240).contains(&a) => "multicast",
        [255, 255, 255, 255] => "broadcast",
        [a, ..] if a >= 240 => "reserved",
        _ => return None,
    })
}

/// The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4), if it carries one.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let o = ip.octets();
    let tail = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    match s {
        // IPv4-mapped ::ffff:a.b.c.d and IPv4-compatible ::a.b.c.d (but not :: or ::1).
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(tail),
        [0, 0, 0, 0, 0, 0, hi, _] if hi != 0 => Some(tail),
        // NAT64 (64:ff9b::/96).
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(tail),
        // 6to4 (2002:AABB:CCDD::/48).
        [0x2002, ..] => Some(Ipv4Addr::new(o[2], o[3], o[4], o[5])),
        _ => None,
    }
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    if let Some(v4) = embedded_v4(ip) {
        // A forbidden carried address says what it is; a public one is still refused in this form (names
        // resolve to plain IPv4 addresses, so a legitimate destination never needs it).
        return forbidden_v4(v4).or(Some(if s[5] == 0xffff { "IPv4-mapped" } else { "IPv4-embedding" }));
    }
    Some(match s[0] {
        x if x & 0xffc0 == 0xfe80 => "link-local",
        x if x & 0xffc0 == 0xfec0 => "site-local",
        x if x & 0xfe00 == 0xfc00 => "unique-local",
        x if x & 0xff00 == 0xff00 => "multicast",
        0x2001 if s[1] == 0x0db8 => "documentation",
        // Teredo tunnels an IPv4 address too.
        0x2001 if s[1] == 0 => "Teredo",
        0x0100 if s[1] == 0 && s[2] == 0 && s[3] == 0 => "discard",
        _ => return None,
    })
}

/// Whether `ip` may be reached: not forbidden, or inside an allowed network (an IPv4-mapped address is
/// compared as the IPv4 address it carries).
pub fn check_ip(ip: IpAddr, allowed: &[IpNet]) -> Result<(), OutboundError> {
    let canonical = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    if allowed
        .iter()
        .any(|net| net.contains(&canonical) || net.contains(&ip))
    {
        return Ok(());
    }
    match forbidden_kind(ip) {
        Some(kind) => Err(OutboundError::Forbidden { ip, kind }),
        None => Ok(()),
    }
}

/// Parses and checks a URL: `https`/`http`, a host, no credentials; a literal address (or `localhost`) is
/// checked with [`check_ip`]. Names are checked by the caller on each address they resolve to.
pub fn check_url(url: &str, allowed: &[IpNet]) -> Result<Url, OutboundError> {
    let parsed = Url::parse(url.trim()).map_err(|_| OutboundError::InvalidUrl)?;
    match parsed.scheme() {
        "https" | "http" => {}
        other => return Err(OutboundError::Scheme(other.to_owned())),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(OutboundError::Credentials);
    }
    match parsed.host() {
        None => return Err(OutboundError::NoHost),
        Some(Host::Ipv4(v4)) => check_ip(IpAddr::V4(v4), allowed)?,
        Some(Host::Ipv6(v6)) => check_ip(IpAddr::V6(v6), allowed)?,
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if name.is_empty() {
                return Err(OutboundError::NoHost);
            }
            if name == "localhost" || name.ends_with(".localhost") {
                check_ip(IpAddr::V4(Ipv4Addr::LOCALHOST), allowed)?;
                check_ip(IpAddr::V6(Ipv6Addr::LOCALHOST), allowed)
                    .or_else(|_| check_ip(IpAddr::V4(Ipv4Addr::LOCALHOST), allowed))?;
            }
        }
    }
    Ok(parsed)
}
