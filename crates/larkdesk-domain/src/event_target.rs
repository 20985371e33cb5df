//! Which addresses an app's event request URL may reach (webhook SSRF rules).
//!
//! larkdesk POSTs events to a URL that whoever holds the admin token chose. That URL must not
//! become a way to reach what only the server can reach. Link-local addresses (including the
//! cloud metadata endpoint `169.254.169.254`), the other well-known metadata addresses, and
//! addresses no one should be sent to (unspecified, broadcast, multicast, reserved) are refused
//! always; loopback and private ranges only unless the operator allows them
//! (`--event-allow-private`, for demo and development setups where the receiver runs beside
//! larkdesk). IPv6 forms that embed an IPv4 address (mapped, compatible, NAT64, 6to4) are judged
//! by the IPv4 address they carry.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetClass {
    /// A public address: always allowed.
    Public,
    /// Loopback or a private/shared range: allowed only with `--event-allow-private`.
    Private,
    /// Link-local, metadata, unspecified, broadcast, multicast, reserved: never allowed.
    Forbidden,
}

/// Well-known cloud metadata addresses outside the link-local range.
const METADATA_V4: [Ipv4Addr; 2] = [
    Ipv4Addr::new(100, 100, 100, 200), // Alibaba Cloud
    Ipv4Addr::new(168, 63, 129, 16),   // Azure wire server
];
/// AWS's IPv6 metadata endpoint.
const METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);

pub fn classify(ip: IpAddr) -> TargetClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

/// May an event be sent to `ip`, given whether private targets are allowed?
pub fn allowed(ip: IpAddr, allow_private: bool) -> bool {
    match classify(ip) {
        TargetClass::Public => true,
        TargetClass::Private => allow_private,
        TargetClass::Forbidden => false,
    }
}

fn classify_v4(ip: Ipv4Addr) -> TargetClass {
    let [a, b, c, _] = ip.octets();
    if ip.is_link_local()
        || METADATA_V4.contains(&ip)
        || a == 0
        || ip.is_broadcast()
        || ip.is_multicast()
        || a >= 240
    {
        return TargetClass::Forbidden;
    }
    if ip.is_loopback()
        || ip.is_private()
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || ip.is_documentation()
    {
        return TargetClass::Private;
    }
    TargetClass::Public
}

fn classify_v6(ip: Ipv6Addr) -> TargetClass {
    let segments = ip.segments();
    if ip == METADATA_V6 || ip.is_unspecified() || ip.is_multicast() || (segments[0] & 0xffc0) == 0xfe80 {
        return TargetClass::Forbidden;
    }
    if ip.is_loopback() {
        return TargetClass::Private;
    }
    // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d).
    if let Some(v4) = ip.to_ipv4() {
        return classify_v4(v4);
    }
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from(((hi as u32) << 16) | lo as u32);
    // NAT64 (64:ff9b::/96) carries the IPv4 address in its last 32 bits.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return classify_v4(embedded(segments[6], segments[7]));
    }
    // 6to4 (2002::/16) carries it in bits 16..48.
    if segments[0] == 0x2002 {
        return classify_v4(embedded(segments[1], segments[2]));
    }
    // Unique local (fc00::/7), site-local (fec0::/10, deprecated), documentation (2001:db8::/32).
    if (segments[0] & 0xfe00) == 0xfc00
        || (segments[0] & 0xffc0) == 0xfec0
        || (segments[0] == 0x2001 && segments[1] == 0xdb8)
    {
        return TargetClass::Private;
    }
    TargetClass::Public
}

#[cfg(test)]
mod tests {
    use super::*;
    use TargetClass::*;

    #[test]
    fn addresses_are_classified() {
        for (ip, want) in [
            ("93.184.216.34", Public),
            ("8.8.8.8", Public),
            ("2606:4700::1111", Public),
            ("127.0.0.1", Private),
            ("127.255.255.254", Private),
            ("10.1.2.3", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("172.32.0.1", Public),
            ("192.168.1.1", Private),
            ("100.64.0.1", Private),
            ("::1", Private),
            ("fd12:3456::1", Private),
            ("::ffff:127.0.0.1", Private),
            ("::ffff:10.0.0.1", Private),
            ("::127.0.0.1", Private),
            ("64:ff9b::7f00:1", Private),
            ("2002:7f00:1::", Private),
            ("169.254.169.254", Forbidden),
            ("169.254.0.1", Forbidden),
            ("100.100.100.200", Forbidden),
            ("168.63.129.16", Forbidden),
            ("fd00:ec2::254", Forbidden),
            ("fe80::1", Forbidden),
            ("::ffff:169.254.169.254", Forbidden),
            ("64:ff9b::a9fe:a9fe", Forbidden),
            ("2002:a9fe:a9fe::", Forbidden),
            ("0.0.0.0", Forbidden),
            ("0.1.2.3", Forbidden),
            ("::", Forbidden),
            ("255.255.255.255", Forbidden),
            ("224.0.0.1", Forbidden),
            ("ff02::1", Forbidden),
            ("240.0.0.1", Forbidden),
        ] {
            let parsed: IpAddr = ip.parse().unwrap();
            assert_eq!(classify(parsed), want, "{ip}");
        }
    }

    #[test]
    fn private_targets_need_the_operator_s_leave() {
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        let metadata: IpAddr = "169.254.169.254".parse().unwrap();
        let public: IpAddr = "8.8.8.8".parse().unwrap();
        assert!(!allowed(loopback, false));
        assert!(allowed(loopback, true));
        assert!(!allowed(metadata, true));
        assert!(allowed(public, false));
    }
}
