package delivery

import (
	"net/netip"
	"strings"
	"testing"
)

// TestGuardCheck decides one dial for every range and form: IPv4, IPv6, IPv4-mapped, NAT64,
// 6to4, exact host names, CIDRs, and metadata addresses named or not.
func TestGuardCheck(t *testing.T) {
	type verdict int
	const (
		allowed verdict = iota
		blocked
		metadata // blocked as a metadata address
	)
	tests := []struct {
		ip      string
		host    string   // the URL's host name; "" when the URL named the address
		allow   []string // --allow-destination
		private bool     // --allow-private-networks
		want    verdict
	}{
		// Public addresses pass with nothing allowed.
		{ip: "8.8.8.8", want: allowed},
		{ip: "93.184.215.14", host: "example.com", want: allowed},
		{ip: "2001:4860:4860::8888", want: allowed},

		// IPv4 ranges, each blocked alone and opened by a CIDR that holds it.
		{ip: "10.20.1.5", want: blocked},
		{ip: "10.20.1.5", allow: []string{"10.20.0.0/16"}, want: allowed},
		{ip: "10.21.0.1", allow: []string{"10.20.0.0/16"}, want: blocked},
		{ip: "10.20.1.5", allow: []string{"10.20.1.5"}, want: allowed},
		{ip: "10.20.1.6", allow: []string{"10.20.1.5"}, want: blocked},
		{ip: "127.0.0.1", want: blocked},
		{ip: "127.0.0.1", allow: []string{"127.0.0.0/8"}, want: allowed},
		{ip: "172.16.0.1", want: blocked},
		{ip: "192.168.1.1", want: blocked},
		{ip: "169.254.1.1", want: blocked},
		{ip: "169.254.1.1", allow: []string{"169.254.0.0/16"}, want: allowed},
		{ip: "100.64.1.1", want: blocked},
		{ip: "100.64.1.1", allow: []string{"100.64.0.0/10"}, want: allowed},
		{ip: "0.0.0.0", want: blocked},
		{ip: "0.1.2.3", want: blocked},
		{ip: "192.0.0.8", want: blocked},
		{ip: "192.0.2.1", want: blocked},      // TEST-NET-1
		{ip: "198.51.100.7", want: blocked},   // TEST-NET-2
		{ip: "203.0.113.9", want: blocked},    // TEST-NET-3
		{ip: "192.88.99.1", want: blocked},    // 6to4 relay anycast
		{ip: "198.18.0.1", want: blocked},     // benchmarking
		{ip: "198.19.255.255", want: blocked}, // benchmarking
		{ip: "224.0.0.1", want: blocked},
		{ip: "240.0.0.1", want: blocked},
		{ip: "255.255.255.255", want: blocked},
		{ip: "203.0.113.9", allow: []string{"203.0.113.0/24"}, want: allowed},
		{ip: "192.0.2.1", allow: []string{"192.0.2.0/24"}, want: allowed},
		// Neighbours of the blocked ranges pass.
		{ip: "192.0.3.1", want: allowed},
		{ip: "198.51.101.1", want: allowed},
		{ip: "203.0.114.1", want: allowed},
		{ip: "192.88.100.1", want: allowed},
		{ip: "100.128.0.0", want: allowed},

		// IPv6 ranges.
		{ip: "::1", want: blocked},
		{ip: "::1", allow: []string{"::1"}, want: allowed},
		{ip: "::", want: blocked},
		{ip: "fd00:1::5", want: blocked},
		{ip: "fd00:1::5", allow: []string{"fd00:1::/64"}, want: allowed},
		{ip: "fd00:2::5", allow: []string{"fd00:1::/64"}, want: blocked},
		{ip: "fe80::1", want: blocked},
		{ip: "fe80::1%eth0", allow: []string{"fe80::/10"}, want: allowed},
		{ip: "fec0::1", want: blocked},
		{ip: "ff02::1", want: blocked},
		{ip: "::127.0.0.1", want: blocked},      // IPv4-compatible
		{ip: "2001::1", want: blocked},          // Teredo, in 2001::/23
		{ip: "2001:2::1", want: blocked},        // benchmarking, in 2001::/23
		{ip: "2001:1ff:ffff::1", want: blocked}, // the end of 2001::/23
		{ip: "2001:200::1", want: allowed},      // past 2001::/23
		{ip: "2001:db8::1", want: blocked},      // documentation
		{ip: "2001:db8::1", allow: []string{"2001:db8::/32"}, want: allowed},
		{ip: "3fff::1", want: blocked},      // documentation (2024)
		{ip: "5f00::1", want: blocked},      // SRv6 SIDs
		{ip: "100::1", want: blocked},       // discard
		{ip: "100:0:0:1::1", want: blocked}, // dummy
		{ip: "64:ff9b:1::1", want: blocked}, // local-use NAT64
		{ip: "64:ff9b:1::1", allow: []string{"64:ff9b:1::/48"}, want: allowed},

		// IPv4-mapped: the IPv4 address it is, allow-list included.
		{ip: "::ffff:10.20.1.5", want: blocked},
		{ip: "::ffff:10.20.1.5", allow: []string{"10.20.0.0/16"}, want: allowed},
		{ip: "::ffff:10.20.1.5", allow: []string{"::ffff:10.20.0.0/112"}, want: allowed},
		{ip: "::ffff:8.8.8.8", want: allowed},
		{ip: "::ffff:192.0.2.1", want: blocked},
		{ip: "::ffff:127.0.0.1", want: blocked},

		// NAT64 (64:ff9b::/96), 6to4 (2002::/16) and IPv4-translated: decided as the IPv4
		// address they carry, unless the IPv6 form itself is allowed.
		{ip: "64:ff9b::808:808", want: allowed},
		{ip: "64:ff9b::a14:105", want: blocked}, // 10.20.1.5
		{ip: "64:ff9b::a14:105", allow: []string{"10.20.0.0/16"}, want: allowed},
		{ip: "64:ff9b::a14:105", allow: []string{"64:ff9b::/96"}, want: allowed},
		{ip: "64:ff9b::7f00:1", want: blocked},   // 127.0.0.1
		{ip: "64:ff9b::c000:201", want: blocked}, // 192.0.2.1
		{ip: "2002:a14:105::1", want: blocked},
		{ip: "2002:a14:105::1", allow: []string{"10.20.0.0/16"}, want: allowed},
		{ip: "2002:808:808::1", want: allowed},
		{ip: "::ffff:0:a14:105", want: blocked},

		// Exact host names: every address the name resolves to, metadata excepted.
		{ip: "172.18.0.5", host: "receiver", allow: []string{"receiver"}, want: allowed},
		{ip: "127.0.0.1", host: "receiver", allow: []string{"Receiver."}, want: allowed},
		{ip: "::1", host: "receiver", allow: []string{"receiver"}, want: allowed},
		{ip: "172.18.0.5", host: "other", allow: []string{"receiver"}, want: blocked},
		{ip: "172.18.0.5", host: "sub.receiver", allow: []string{"receiver"}, want: blocked},
		{ip: "172.18.0.5", allow: []string{"receiver"}, want: blocked},

		// Cloud metadata: only an entry that is the address itself opens it.
		{ip: "169.254.169.254", want: metadata},
		{ip: "169.254.169.254", allow: []string{"169.254.0.0/16"}, want: metadata},
		{ip: "169.254.169.254", allow: []string{"0.0.0.0/0"}, want: metadata},
		{ip: "169.254.169.254", private: true, want: metadata},
		{ip: "169.254.169.254", host: "metadata.google.internal", allow: []string{"metadata.google.internal"}, want: metadata},
		{ip: "169.254.169.254", allow: []string{"169.254.169.254"}, want: allowed},
		{ip: "169.254.169.254", allow: []string{"169.254.169.254/32"}, want: allowed},
		{ip: "::ffff:169.254.169.254", want: metadata},
		{ip: "::ffff:169.254.169.254", allow: []string{"169.254.169.254"}, want: allowed},
		{ip: "64:ff9b::a9fe:a9fe", want: metadata},
		{ip: "64:ff9b::a9fe:a9fe", allow: []string{"64:ff9b::/96"}, want: metadata},
		{ip: "64:ff9b::a9fe:a9fe", allow: []string{"169.254.169.254"}, want: allowed},
		{ip: "2002:a9fe:a9fe::1", private: true, want: metadata},
		{ip: "169.254.170.2", allow: []string{"169.254.0.0/16"}, want: metadata},
		{ip: "169.254.170.23", want: metadata},
		{ip: "169.254.0.23", want: metadata},
		{ip: "169.254.42.42", want: metadata},
		{ip: "100.100.100.200", want: metadata},
		{ip: "100.100.100.200", allow: []string{"100.64.0.0/10"}, want: metadata},
		{ip: "100.100.100.200", allow: []string{"100.100.100.200"}, want: allowed},
		{ip: "192.0.0.192", allow: []string{"192.0.0.0/24"}, want: metadata},
		{ip: "168.63.129.16", want: metadata}, // public, yet Azure's host agent
		{ip: "168.63.129.17", want: allowed},
		{ip: "fd00:ec2::254", want: metadata},
		{ip: "fd00:ec2::254", allow: []string{"fd00::/8"}, want: metadata},
		{ip: "fd00:ec2::254", private: true, want: metadata},
		{ip: "fd00:ec2::254", allow: []string{"fd00:ec2::254"}, want: allowed},
		{ip: "fd00:ec2::23", want: metadata},
		{ip: "fd20:ce::254", want: metadata},
		{ip: "fd00:c1::a9fe:a9fe", want: metadata},
		{ip: "fd00:42::42", want: metadata},
		{ip: "fe80::a9fe:a9fe", allow: []string{"fe80::/10"}, want: metadata},
		{ip: "fe80::a9fe:a9fe%eth0", want: metadata},

		// --allow-private-networks opens every blocked range, metadata excepted.
		{ip: "10.0.0.1", private: true, want: allowed},
		{ip: "127.0.0.1", private: true, want: allowed},
		{ip: "240.0.0.1", private: true, want: allowed},
		{ip: "::ffff:10.0.0.1", private: true, want: allowed},
		{ip: "64:ff9b::a00:1", private: true, want: allowed},
	}
	for _, tt := range tests {
		name := tt.ip
		if tt.host != "" {
			name += " host=" + tt.host
		}
		if len(tt.allow) > 0 {
			name += " allow=" + strings.Join(tt.allow, ",")
		}
		if tt.private {
			name += " private"
		}
		t.Run(name, func(t *testing.T) {
			allow, err := ParseAllowList(tt.allow)
			if err != nil {
				t.Fatal(err)
			}
			g := &guard{allow: allow, private: tt.private}
			be := g.check(tt.host, netip.MustParseAddr(tt.ip))
			got := allowed
			if be != nil {
				got = blocked
				if be.Metadata {
					got = metadata
				}
			}
			if got != tt.want {
				t.Fatalf("check = %v (%v), want %v", got, be, tt.want)
			}
			if be == nil {
				return
			}
			// The description names the address and says how to allow it.
			addr := netip.MustParseAddr(tt.ip).WithZone("").Unmap().String()
			msg := be.Error() + "; " + be.HowToAllow()
			if !strings.Contains(be.Error(), addr) || be.Reason == "" || !strings.Contains(be.HowToAllow(), "--allow-destination ") {
				t.Errorf("description %q", msg)
			}
			if tt.host != "" && !be.Metadata && !strings.Contains(msg, "--allow-destination "+tt.host) {
				t.Errorf("description %q does not offer the host name", msg)
			}
			if be.Metadata && !strings.Contains(msg, "the address itself") {
				t.Errorf("description %q does not say only the address opens it", msg)
			}
		})
	}
}

func TestHostOfAddr(t *testing.T) {
	for addr, want := range map[string]string{
		"receiver:8090":          "receiver",
		"Receiver.Example.:443":  "receiver.example",
		"10.0.0.1:80":            "",
		"[fd00::1]:80":           "",
		"[fe80::1%eth0]:80":      "",
		"hooks.example.com:8443": "hooks.example.com",
	} {
		if got := hostOfAddr(addr); got != want {
			t.Errorf("hostOfAddr(%q) = %q, want %q", addr, got, want)
		}
	}
}
