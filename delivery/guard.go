package delivery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
)

// ErrDestinationBlocked is wrapped by the error of a dial to a blocked address.
var ErrDestinationBlocked = errors.New("destination blocked")

// BlockedError is a refused dial: the resolved address, why it is refused, and the host name of
// the URL when it had one.
type BlockedError struct {
	Addr     netip.Addr
	Reason   string
	Host     string // the URL's host name; empty when the URL named the address itself
	Metadata bool   // a cloud metadata address: only naming it exactly allows it

	metadata netip.Addr // the metadata address to name: Addr, or the IPv4 address Addr carries
}

func (e *BlockedError) Error() string {
	return fmt.Sprintf("destination %s is blocked: %s address", e.Addr, e.Reason)
}

// Unwrap makes errors.Is(err, ErrDestinationBlocked) hold.
func (e *BlockedError) Unwrap() error { return ErrDestinationBlocked }

// HowToAllow says what lets deliveries reach the address: a metadata address only by name, any
// other by its address, a CIDR that holds it, or the URL's host name.
func (e *BlockedError) HowToAllow() string {
	if e.Metadata {
		a := e.metadata
		if !a.IsValid() {
			a = e.Addr
		}
		return fmt.Sprintf("only --allow-destination %s, the address itself, allows it (no CIDR, host name or --allow-private-networks does)", a)
	}
	s := fmt.Sprintf("allow it with --allow-destination %s (or a CIDR that holds it)", e.Addr)
	if e.Host != "" {
		s += fmt.Sprintf(" or --allow-destination %s", e.Host)
	}
	return s
}

// blockedPrefixes are the ranges refused beyond what netip's predicates (loopback, private,
// link-local, multicast, unspecified) cover: IANA's IPv4 and IPv6 special-purpose address
// registries, less the entries marked globally reachable, plus deprecated ranges.
var blockedPrefixes = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), `"this network" (0.0.0.0/8)`},
	{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT (100.64.0.0/10)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol (192.0.0.0/24)"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation TEST-NET-1 (192.0.2.0/24)"},
	{netip.MustParsePrefix("192.88.99.0/24"), "deprecated 6to4 relay anycast (192.88.99.0/24)"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking (198.18.0.0/15)"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation TEST-NET-2 (198.51.100.0/24)"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation TEST-NET-3 (203.0.113.0/24)"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved or broadcast (240.0.0.0/4)"},
	{netip.MustParsePrefix("::/96"), "IPv4-compatible IPv6 (::/96)"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64 (64:ff9b:1::/48)"},
	{netip.MustParsePrefix("100::/64"), "IPv6 discard (100::/64)"},
	{netip.MustParsePrefix("100:0:0:1::/64"), "IPv6 dummy prefix (100:0:0:1::/64)"},
	{netip.MustParsePrefix("2001::/23"), "IETF protocol IPv6 (2001::/23, Teredo included)"},
	{netip.MustParsePrefix("2001:db8::/32"), "IPv6 documentation (2001:db8::/32)"},
	{netip.MustParsePrefix("3fff::/20"), "IPv6 documentation (3fff::/20)"},
	{netip.MustParsePrefix("5f00::/16"), "IPv6 segment routing SIDs (5f00::/16)"},
	{netip.MustParsePrefix("fec0::/10"), "site-local IPv6 (fec0::/10)"},
}

// metadataAddrs are the instance metadata (and host agent) endpoints of cloud platforms, which
// hand out credentials to whoever asks from inside: refused even under an allowed CIDR, an
// allowed host name or --allow-private-networks, unless the address itself is allowed.
var metadataAddrs = map[netip.Addr]string{
	netip.MustParseAddr("169.254.169.254"):    "cloud metadata (AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle and others)",
	netip.MustParseAddr("169.254.170.2"):      "cloud metadata (AWS ECS task credentials)",
	netip.MustParseAddr("169.254.170.23"):     "cloud metadata (AWS EKS Pod Identity)",
	netip.MustParseAddr("169.254.0.23"):       "cloud metadata (Tencent Cloud)",
	netip.MustParseAddr("169.254.42.42"):      "cloud metadata (Scaleway)",
	netip.MustParseAddr("100.100.100.200"):    "cloud metadata (Alibaba Cloud)",
	netip.MustParseAddr("192.0.0.192"):        "cloud metadata (Oracle Cloud, legacy)",
	netip.MustParseAddr("168.63.129.16"):      "cloud host agent (Azure WireServer)",
	netip.MustParseAddr("fd00:ec2::254"):      "cloud metadata (AWS IPv6)",
	netip.MustParseAddr("fd00:ec2::23"):       "cloud metadata (AWS EKS Pod Identity IPv6)",
	netip.MustParseAddr("fd20:ce::254"):       "cloud metadata (GCP IPv6)",
	netip.MustParseAddr("fd00:c1::a9fe:a9fe"): "cloud metadata (Oracle Cloud IPv6)",
	netip.MustParseAddr("fd00:42::42"):        "cloud metadata (Scaleway IPv6)",
	netip.MustParseAddr("fe80::a9fe:a9fe"):    "cloud metadata (OpenStack IPv6)",
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
	// siit is the IPv4-translated form of RFC 2765 (::ffff:0:a.b.c.d), which some translators route.
	siit = netip.MustParsePrefix("::ffff:0:0:0/96")
)

// embedded returns the IPv4 address an IPv6 address carries and routes to (NAT64 64:ff9b::/96,
// 6to4 2002::/16, IPv4-translated ::ffff:0:0:0/96), or the zero Addr. IPv4-mapped addresses
// (::ffff:0:0/96) are not here: they are unmapped first, they are the IPv4 address.
func embedded(ip netip.Addr) netip.Addr {
	if !ip.Is6() || ip.Is4In6() {
		return netip.Addr{}
	}
	a := ip.As16()
	switch {
	case nat64.Contains(ip), siit.Contains(ip):
		return netip.AddrFrom4([4]byte(a[12:16]))
	case sixToFour.Contains(ip):
		return netip.AddrFrom4([4]byte(a[2:6]))
	}
	return netip.Addr{}
}

// normalize drops the zone and unmaps an IPv4-mapped address: ::ffff:10.0.0.1 is 10.0.0.1, to
// the network as to the rules.
func normalize(ip netip.Addr) netip.Addr { return ip.WithZone("").Unmap() }

// Blocked reports whether the guard refuses ip when nothing is allowed, and why: loopback,
// private (RFC 1918, fc00::/7), link-local, multicast, unspecified, carrier-grade NAT, "this
// network", documentation, benchmarking and reserved ranges (IANA's special-purpose registries),
// cloud metadata addresses, and IPv6 forms that carry such an IPv4 address (IPv4-mapped, NAT64
// 64:ff9b::/96, 6to4 2002::/16, IPv4-translated), since the network may route them to it.
func Blocked(ip netip.Addr) (reason string, blocked bool) {
	// The guard with nothing allowed: one set of rules for both.
	if be := (&guard{}).check("", ip); be != nil {
		return be.Reason, true
	}
	return "", false
}

// ownBlock is the reason ip itself is in a blocked range, embedded addresses aside.
func ownBlock(ip netip.Addr) (string, bool) {
	switch {
	case ip.IsUnspecified():
		return "unspecified", true
	case ip.IsLoopback():
		return "loopback", true
	case ip.IsPrivate():
		return "private", true
	case ip.IsLinkLocalUnicast():
		return "link-local", true
	case ip.IsMulticast():
		return "multicast", true
	}
	for _, b := range blockedPrefixes {
		if b.prefix.Contains(ip) {
			return b.reason, true
		}
	}
	return "", false
}

// guard decides each dial: the block list, opened by the allow-list (--allow-destination) or
// as a whole (--allow-private-networks), metadata addresses excepted.
type guard struct {
	allow   *AllowList
	private bool
}

// check returns nil when a connection to ip, resolved from the URL's host, may be made, else a
// *BlockedError. The rules, in order:
//  1. a metadata address, dialled or carried (NAT64, 6to4), is refused unless it is itself an
//     entry of the allow-list (a single address: 169.254.169.254 or 169.254.169.254/32);
//  2. an address resolved from an allowed host name may be reached;
//  3. an address inside an allowed CIDR may be reached;
//  4. an address in a blocked range is refused, unless private networks are allowed;
//  5. an IPv6 address that carries an IPv4 address is decided as that address (3 and 4).
func (g *guard) check(host string, ip netip.Addr) *BlockedError {
	if !ip.IsValid() {
		return &BlockedError{Reason: "invalid"}
	}
	ip = normalize(ip)
	e := embedded(ip)
	for _, a := range []netip.Addr{ip, e} {
		if m, ok := metadataAddrs[a]; ok && !g.allow.names(a) {
			reason := m
			if a != ip {
				reason += " " + a.String() + " (embedded in " + ip.String() + ")"
			}
			return &BlockedError{Addr: ip, Reason: reason, Host: host, Metadata: true, metadata: a}
		}
	}
	if host != "" && g.allow.hasHost(host) {
		return nil
	}
	for _, a := range []netip.Addr{ip, e} {
		if !a.IsValid() {
			break
		}
		if g.allow.contains(a) {
			return nil
		}
		if r, ok := ownBlock(a); ok {
			if g.private {
				return nil
			}
			if a != ip {
				r += " " + a.String() + " (embedded in " + ip.String() + ")"
			}
			return &BlockedError{Addr: ip, Reason: r, Host: host}
		}
	}
	return nil
}

// dialHostKey carries the URL's host name from DialContext to the Control hook, which sees only
// the address.
type dialHostKey struct{}

// control is the net.Dialer ControlContext hook: it runs on every address about to be dialled,
// after DNS resolution (each address of a host that resolves to several), so a name that
// resolves (or rebinds) to a blocked address is refused whatever it resolved to when the
// definition was applied.
func (g *guard) control(ctx context.Context, _, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &BlockedError{Reason: "unparsable (" + address + ")"}
	}
	host, _ := ctx.Value(dialHostKey{}).(string)
	if be := g.check(host, ap.Addr()); be != nil {
		return be
	}
	return nil
}

// hostOfAddr is the host name of a dial address (host:port), lower case and without a final
// dot; empty for an IP address, which the allow-list's CIDRs decide.
func hostOfAddr(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return ""
	}
	return strings.TrimSuffix(strings.ToLower(host), ".")
}
