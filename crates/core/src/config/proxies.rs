//! Which proxies in front of the API are trusted, and the client address that follows from it.
//!
//! A request's chain of addresses is every `X-Forwarded-For` entry, all header lines read together in
//! order, followed by the socket peer. Each proxy appends the address it received the request from, so the
//! chain is only trustworthy from the right: the walk starts at the socket peer and moves left while the
//! address it stands on is a trusted proxy — one of the first `INSIGHTS_TRUSTED_PROXY_HOPS` positions, or
//! an address in `INSIGHTS_TRUSTED_PROXIES`. The first address that is not a trusted proxy is the client.
//! An entry that is not an IP address stops the walk at the proxy that forwarded it (nothing to its left
//! can be trusted), and a chain made only of trusted proxies yields its leftmost address.

use super::ConfigError;
use super::env::Env;
use super::vars;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// The proxies in front of the API (none by default: the client is the socket peer).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    /// How many proxies, counted from the API outwards, always append to `X-Forwarded-For`.
    pub hops: u32,
    /// Networks whose addresses are proxies of ours wherever they appear at the right of the chain.
    pub networks: Vec<IpNet>,
}

impl TrustedProxies {
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        // Deprecated: `INSIGHTS_TRUST_FORWARDED_FOR=true` meant one proxy.
        let legacy: bool = env.parse(vars::TRUST_FORWARDED_FOR, false)?;
        let hops = env.parse(vars::TRUSTED_PROXY_HOPS, u32::from(legacy))?;
        let networks = match env.value(vars::TRUSTED_PROXIES)? {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(parse_network)
                .collect::<Result<_, _>>()
                .map_err(|bad| {
                    vars::TRUSTED_PROXIES.err(format!(
                        "{bad:?} is not a network: use a comma-separated list like 10.0.0.0/8,fd00::/8"
                    ))
                })?,
        };
        Ok(TrustedProxies { hops, networks })
    }

    /// The client's address, from the socket `peer` and the `X-Forwarded-For` header lines in order.
    #[must_use]
    pub fn client_ip<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl IntoIterator<Item = &'a str>,
    ) -> IpAddr {
        let peer = peer.to_canonical();
        if self.hops == 0 && self.networks.is_empty() {
            return peer;
        }
        let entries: Vec<&str> = forwarded_for
            .into_iter()
            .flat_map(|line| line.split(','))
            .collect();
        let mut current = peer;
        for (position, entry) in (0..).zip(entries.iter().rev()) {
            if !self.is_proxy(position, current) {
                return current;
            }
            match parse_entry(entry) {
                Some(ip) => current = ip,
                // Whatever is left of a malformed entry is not worth more than the proxy that passed it on.
                None => return current,
            }
        }
        current
    }

    /// Whether the address at `position` of the chain (0 = the socket peer) is one of our proxies.
    fn is_proxy(&self, position: u32, ip: IpAddr) -> bool {
        position < self.hops || self.networks.iter().any(|n| n.contains(&ip))
    }
}

/// A network (`10.0.0.0/8`) or a single address.
pub(super) fn parse_network(s: &str) -> Result<IpNet, String> {
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| s.to_owned())
}

/// An `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:80`, `[2001:db8::1]:443`) as
/// some proxies write it.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn proxies(hops: u32, networks: &[&str]) -> TrustedProxies {
        TrustedProxies {
            hops,
            networks: networks.iter().map(|n| parse_network(n).unwrap()).collect(),
        }
    }

    const PEER: &str = "10.1.0.7";

    fn client(p: &TrustedProxies, lines: &[&str]) -> IpAddr {
        p.client_ip(ip(PEER), lines.iter().copied())
    }

    #[test]
    fn without_trusted_proxies_the_client_is_the_socket_peer() {
        let p = TrustedProxies::default();
        assert_eq!(client(&p, &["203.0.113.9"]), ip(PEER));
        assert_eq!(client(&p, &[]), ip(PEER));
    }

    #[test]
    fn hops_count_proxies_from_the_right_across_every_header_line() {
        // The client forged "6.6.6.6"; the edge proxy appended what it saw, the ingress what it saw.
        let lines = ["6.6.6.6, 198.51.100.4", "10.2.0.1"];
        assert_eq!(client(&proxies(1, &[]), &lines), ip("10.2.0.1"));
        assert_eq!(client(&proxies(2, &[]), &lines), ip("198.51.100.4"));
        // One line with the same entries yields the same addresses.
        let joined = ["6.6.6.6, 198.51.100.4, 10.2.0.1"];
        assert_eq!(client(&proxies(2, &[]), &joined), ip("198.51.100.4"));
    }

    #[test]
    fn trusted_networks_are_skipped_from_the_right() {
        let p = proxies(0, &["10.0.0.0/8", "fd00::/8"]);
        assert_eq!(
            client(&p, &["6.6.6.6", "198.51.100.4, 10.9.9.9"]),
            ip("198.51.100.4")
        );
        // A peer outside the trusted networks is the client, whatever it claims.
        assert_eq!(
            p.client_ip(ip("203.0.113.5"), ["198.51.100.4"]),
            ip("203.0.113.5")
        );
        // Hops and networks together: the first hop always, then any trusted address.
        let both = proxies(1, &["192.168.0.0/16"]);
        assert_eq!(
            both.client_ip(ip("172.16.0.1"), ["6.6.6.6, 2001:db8::5, 192.168.3.3"]),
            ip("2001:db8::5")
        );
    }

    #[test]
    fn a_malformed_entry_stops_the_walk_at_the_proxy_that_passed_it_on() {
        let p = proxies(3, &[]);
        assert_eq!(client(&p, &["6.6.6.6, unknown, 10.2.0.1"]), ip("10.2.0.1"));
        assert_eq!(client(&p, &["6.6.6.6, , 10.2.0.1"]), ip("10.2.0.1"));
        assert_eq!(client(&proxies(1, &[]), &["nonsense"]), ip(PEER));
        let nets = proxies(0, &["10.0.0.0/8"]);
        assert_eq!(client(&nets, &["1.1.1.1, <script>"]), ip(PEER));
    }

    #[test]
    fn a_chain_of_only_trusted_proxies_yields_its_leftmost_address() {
        assert_eq!(
            client(&proxies(5, &[]), &["198.51.100.4"]),
            ip("198.51.100.4")
        );
        assert_eq!(client(&proxies(1, &[]), &[]), ip(PEER));
        assert_eq!(
            client(&proxies(0, &["10.0.0.0/8"]), &["10.3.3.3, 10.4.4.4"]),
            ip("10.3.3.3")
        );
    }

    #[test]
    fn entries_may_carry_ports_and_mapped_addresses() {
        let p = proxies(1, &[]);
        assert_eq!(client(&p, &["198.51.100.4:5123"]), ip("198.51.100.4"));
        assert_eq!(client(&p, &["[2001:db8::1]:443"]), ip("2001:db8::1"));
        assert_eq!(client(&p, &["::ffff:198.51.100.4"]), ip("198.51.100.4"));
    }

    #[test]
    fn settings_parse_and_the_old_switch_means_one_hop() {
        let load = |pairs: &[(&str, &str)]| {
            let pairs: Vec<(String, String)> = pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            TrustedProxies::from_env(&Env::new(move |k| {
                pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
            }))
        };
        assert_eq!(load(&[]).unwrap(), TrustedProxies::default());
        assert_eq!(
            load(&[("INSIGHTS_TRUST_FORWARDED_FOR", "true")])
                .unwrap()
                .hops,
            1
        );
        assert_eq!(
            load(&[
                ("INSIGHTS_TRUST_FORWARDED_FOR", "true"),
                ("INSIGHTS_TRUSTED_PROXY_HOPS", "0")
            ])
            .unwrap()
            .hops,
            0
        );
        let p = load(&[(
            "INSIGHTS_TRUSTED_PROXIES",
            "10.0.0.0/8, 192.0.2.1 ,fd00::/8",
        )])
        .unwrap();
        assert_eq!(p.networks.len(), 3);
        assert!(p.networks[1].contains(&ip("192.0.2.1")));
        for bad in ["10.0.0.0/33", "ten", "10.0.0.0/8;1.1.1.1"] {
            let e = load(&[("INSIGHTS_TRUSTED_PROXIES", bad)]).unwrap_err();
            assert_eq!(e.name, "INSIGHTS_TRUSTED_PROXIES");
        }
        let e = load(&[("INSIGHTS_TRUSTED_PROXY_HOPS", "-1")]).unwrap_err();
        assert_eq!(e.name, "INSIGHTS_TRUSTED_PROXY_HOPS");
    }
}
