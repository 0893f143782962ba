package delivery

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"
)

// ErrDestinationBlocked is wrapped by the error of a dial to a blocked address.
var ErrDestinationBlocked = errors.New("destination blocked")

// BlockedError is a refused dial: the resolved address and why it is refused.
type BlockedError struct {
	Addr   netip.Addr
	Reason string
}

func (e *BlockedError) Error() string {
	return fmt.Sprintf("destination %s is blocked: %s address", e.Addr, e.Reason)
}

// Unwrap makes errors.Is(err, ErrDestinationBlocked) hold.
func (e *BlockedError) Unwrap() error { return ErrDestinationBlocked }

var blockedPrefixes = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), `"this network" (0.0.0.0/8)`},
	{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT (100.64.0.0/10)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol (192.0.0.0/24)"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking (198.18.0.0/15)"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved or broadcast (240.0.0.0/4)"},
	{netip.MustParsePrefix("::/96"), "IPv4-compatible IPv6 (::/96)"},
	{netip.MustParsePrefix("100::/64"), "IPv6 discard (100::/64)"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64 (64:ff9b:1::/48)"},
	{netip.MustParsePrefix("fec0::/10"), "site-local IPv6 (fec0::/10)"},
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// Blocked reports whether webhookd refuses to connect to ip unless private networks are
// allowed, and why: loopback, private (RFC 1918, fc00::/7), link-local, multicast,
// unspecified, carrier-grade NAT, "this network", reserved ranges, and IPv6 forms that carry
// such an IPv4 address (IPv4-mapped, NAT64 64:ff9b::/96, 6to4 2002::/16), since the network
// may route them to it.
func Blocked(ip netip.Addr) (reason string, blocked bool) {
	if !ip.IsValid() {
		return "invalid", true
	}
	ip = ip.WithZone("").Unmap()
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
	if ip.Is6() {
		a := ip.As16()
		var embedded netip.Addr
		switch {
		case nat64.Contains(ip):
			embedded = netip.AddrFrom4([4]byte(a[12:16]))
		case sixToFour.Contains(ip):
			embedded = netip.AddrFrom4([4]byte(a[2:6]))
		}
		if embedded.IsValid() {
			if r, ok := Blocked(embedded); ok {
				return r + " (embedded in " + ip.String() + ")", true
			}
		}
	}
	return "", false
}

// guardControl is the net.Dialer Control hook: it runs on the address about to be dialled,
// after DNS resolution, so a name that resolves (or rebinds) to a private address is refused
// whatever it resolved to when the definition was applied.
func guardControl(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &BlockedError{Reason: "unparsable (" + address + ")"}
	}
	if reason, blocked := Blocked(ap.Addr()); blocked {
		return &BlockedError{Addr: ap.Addr().WithZone(""), Reason: reason}
	}
	return nil
}
