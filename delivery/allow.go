package delivery

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// ErrInvalidAllowEntry is wrapped by every error about an --allow-destination entry; the error
// names the entry.
var ErrInvalidAllowEntry = errors.New("invalid --allow-destination entry")

// AllowList is what deliveries may reach although the destination guard would refuse it
// (--allow-destination): CIDRs and single addresses, and exact host names. The zero value and
// nil allow nothing. It is immutable once parsed, safe for concurrent use.
type AllowList struct {
	prefixes []netip.Prefix
	hosts    map[string]bool
	entries  []string // canonical forms, in the order given
}

// ParseAllowList parses --allow-destination entries: each a CIDR (10.20.0.0/16, fd00:1::/64),
// an IP address (a CIDR of that one address), or an exact host name (receiver,
// hooks.internal.example; any case, a final dot ignored). Surrounding spaces are ignored, and
// so are empty entries (WEBHOOKD_ALLOW_DESTINATION="a,,b"). The error of the first bad entry
// wraps ErrInvalidAllowEntry and names it.
func ParseAllowList(entries []string) (*AllowList, error) {
	l := &AllowList{hosts: map[string]bool{}}
	for _, raw := range entries {
		entry := strings.TrimSpace(raw)
		if entry == "" {
			continue
		}
		d, err := ParseAllowEntry(entry)
		if err != nil {
			return nil, err
		}
		if d.Host != "" {
			if !l.hosts[d.Host] {
				l.hosts[d.Host] = true
				l.entries = append(l.entries, d.Host)
			}
			continue
		}
		if !slices.Contains(l.prefixes, d.Prefix) {
			l.prefixes = append(l.prefixes, d.Prefix)
			l.entries = append(l.entries, d.Prefix.String())
		}
	}
	return l, nil
}

// AllowEntry is one parsed --allow-destination entry: a Prefix or a Host.
type AllowEntry struct {
	Prefix netip.Prefix // valid for an address or a CIDR; a single address has all its bits
	Host   string       // lower case, without a final dot
}

// ParseAllowEntry parses one --allow-destination entry (see ParseAllowList). A CIDR with bits set
// past its length (10.20.1.0/16) is refused rather than widened, since it is likely a typo;
// IPv4-mapped IPv6 forms (::ffff:10.0.0.0/104) are taken as the IPv4 they map.
func ParseAllowEntry(entry string) (AllowEntry, error) {
	bad := func(format string, args ...any) (AllowEntry, error) {
		return AllowEntry{}, fmt.Errorf("%w %q: %s", ErrInvalidAllowEntry, entry, fmt.Sprintf(format, args...))
	}
	s := strings.TrimSpace(entry)
	switch {
	case s == "":
		return bad("empty")
	case strings.Contains(s, "://"):
		return bad("want a CIDR, an IP address or a host name, not a URL")
	case strings.Contains(s, "%"):
		return bad("an address with a zone cannot be allowed; allow the address or a CIDR")
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return AllowEntry{}, fmt.Errorf("%w %q: not a CIDR: %w", ErrInvalidAllowEntry, entry, err)
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		if m := p.Masked(); m != p {
			return bad("bits are set past the prefix length; did you mean %s?", m)
		}
		return AllowEntry{Prefix: p}, nil
	}
	bare := s
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		bare = s[1 : len(s)-1]
	}
	if a, err := netip.ParseAddr(bare); err == nil {
		a = a.Unmap()
		return AllowEntry{Prefix: netip.PrefixFrom(a, a.BitLen())}, nil
	}
	host := strings.TrimSuffix(strings.ToLower(s), ".")
	if why := checkHostName(host); why != "" {
		return bad("%s", why)
	}
	return AllowEntry{Host: host}, nil
}

// checkHostName says why h (lower case, no final dot) is not a host name that can be allowed
// exactly, or "".
func checkHostName(h string) string {
	if len(h) > 253 {
		return "a host name has at most 253 characters"
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		switch {
		case l == "":
			return "not a host name: an empty label"
		case len(l) > 63:
			return "not a host name: a label longer than 63 characters"
		case l[0] == '-' || l[len(l)-1] == '-':
			return "not a host name: a label starts or ends with '-'"
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			switch {
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			case c == '*':
				return "only exact host names can be allowed, no wildcards"
			case c == ':':
				return "want a CIDR, an IP address or a host name, without a port"
			case c >= 0x80:
				return "write an international host name in ASCII (xn--…), as it is resolved"
			default:
				return fmt.Sprintf("not a host name: %q is not a letter, digit, '-' or '_'", c)
			}
		}
	}
	if last := labels[len(labels)-1]; strings.Trim(last, "0123456789") == "" {
		return "neither an IP address nor a host name (a host name's last label is not all digits)"
	}
	return ""
}

// Entries returns the allow-list's entries in canonical form, in the order given, without
// repeats.
func (l *AllowList) Entries() []string {
	if l == nil {
		return nil
	}
	return slices.Clone(l.entries)
}

// Len is the number of entries.
func (l *AllowList) Len() int {
	if l == nil {
		return 0
	}
	return len(l.entries)
}

func (l *AllowList) contains(ip netip.Addr) bool {
	if l == nil {
		return false
	}
	for _, p := range l.prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// names reports whether ip is itself an entry: a single address, not merely inside a CIDR.
func (l *AllowList) names(ip netip.Addr) bool {
	if l == nil {
		return false
	}
	for _, p := range l.prefixes {
		if p.IsSingleIP() && p.Addr() == ip {
			return true
		}
	}
	return false
}

func (l *AllowList) hasHost(h string) bool {
	return l != nil && l.hosts[h]
}
