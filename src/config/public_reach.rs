//! Whether the addresses a gateway puts in QR codes can be reached from a phone: one that
//! listens beyond this machine must not hand out `0.0.0.0` or a loopback address, which
//! every wallet would try on itself.

use std::net::{IpAddr, SocketAddr};

/// What `serve` should make of the URLs it will hand out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// Reachable as far as we can tell, or everything stays on this machine.
    Fine,
    /// Starts, but the operator is told loudly why wallets will not connect.
    Warn(String),
    /// Does not start.
    Refuse(String),
}

/// Judges the URLs a gateway listening on `bound` hands out: `public_url` as configured (or
/// `None`, when it is derived from `bound`) and `relay_url`, the relay in connect URIs.
pub fn check(bound: SocketAddr, public_url: Option<&str>, relay_url: &str) -> Reach {
    // `[::ffff:127.0.0.1]` is loopback and `[::ffff:0.0.0.0]` every interface.
    let ip = bound.ip().to_canonical();
    if ip.is_loopback() {
        return Reach::Fine;
    }
    if public_url.is_none() && ip.is_unspecified() {
        return Reach::Refuse(format!(
            "listening on {bound} without public_url: QR codes and links would carry http://{bound}, which no phone \
             can reach; pass --public-url with the address wallets and portals use (https://gateway.example), or set \
             public_url in the config"
        ));
    }
    for (key, url) in [("public_url", public_url), ("the relay URL in connect URIs", Some(relay_url))] {
        if let Some(url) = url.filter(|u| points_at_itself(u)) {
            return Reach::Warn(format!(
                "listening on {bound}, but {key} is {url}: a wallet on a phone would look for it on the phone itself \
                 and never connect; set it to the address others reach this gateway at"
            ));
        }
    }
    Reach::Fine
}

/// True for URLs whose host is a loopback or unspecified address, or `localhost`.
fn points_at_itself(text: &str) -> bool {
    let Ok(url) = url::Url::parse(text) else {
        return false;
    };
    match url.host() {
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback() || ip.is_unspecified(),
        Some(url::Host::Ipv6(ip)) => {
            let ip = IpAddr::V6(ip).to_canonical();
            ip.is_loopback() || ip.is_unspecified()
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::{Reach, check};

    fn addr(text: &str) -> std::net::SocketAddr {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn on_loopback_everything_stays_on_this_machine() {
        assert_eq!(check(addr("127.0.0.1:8080"), None, "http://127.0.0.1:8080/relay"), Reach::Fine);
        assert_eq!(
            check(addr("[::1]:8080"), Some("http://localhost:8080"), "http://localhost:8080/relay"),
            Reach::Fine
        );
    }

    #[test]
    fn all_interfaces_without_a_public_url_is_refused() {
        for bound in ["0.0.0.0:8080", "[::]:8080", "[::ffff:0.0.0.0]:8080"] {
            let Reach::Refuse(message) = check(addr(bound), None, "http://0.0.0.0:8080/relay") else {
                panic!("{bound} was not refused");
            };
            assert!(message.contains("--public-url"), "{message}");
        }
    }

    #[test]
    fn a_url_that_points_at_the_phone_itself_is_warned_about() {
        for url in [
            "http://127.0.0.1:8080",
            "http://localhost:8080",
            "http://LOCALHOST.:8080",
            "http://app.localhost",
            "http://0.0.0.0:8080",
            "http://[::1]:8080",
            "http://[::ffff:127.0.0.1]:8080",
            "http://127.1.2.3",
        ] {
            let judged = check(addr("0.0.0.0:8080"), Some(url), "https://relay.example");
            assert!(matches!(&judged, Reach::Warn(m) if m.contains("public_url")), "{url}: {judged:?}");
            let relay = check(addr("192.0.2.7:8080"), Some("https://gateway.example"), &format!("{url}/relay"));
            assert!(matches!(&relay, Reach::Warn(m) if m.contains("relay URL")), "{url}: {relay:?}");
        }
    }

    #[test]
    fn reachable_addresses_pass() {
        let public = Some("https://gateway.example");
        assert_eq!(check(addr("0.0.0.0:8080"), public, "https://gateway.example/relay"), Reach::Fine);
        // A concrete address is what phones on that network use.
        assert_eq!(check(addr("192.0.2.7:8080"), None, "http://192.0.2.7:8080/relay"), Reach::Fine);
        assert_eq!(
            check(addr("0.0.0.0:8080"), Some("http://10.0.0.5:8080"), "http://10.0.0.5:8080/relay"),
            Reach::Fine
        );
    }
}
