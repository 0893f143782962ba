package delivery_test

import (
	"net/netip"
	"testing"

	"github.com/webhookd/webhookd/delivery"
)

func TestBlocked(t *testing.T) {
	tests := []struct {
		ip      string
		blocked bool
	}{
		// IPv4
		{"127.0.0.1", true},
		{"127.255.255.254", true},
		{"10.0.0.1", true},
		{"10.255.255.255", true},
		{"172.16.0.1", true},
		{"172.31.255.255", true},
		{"172.15.255.255", false},
		{"172.32.0.0", false},
		{"192.168.1.1", true},
		{"169.254.169.254", true}, // cloud metadata
		{"169.254.0.1", true},
		{"100.64.0.1", true},
		{"100.127.255.255", true},
		{"100.128.0.0", false},
		{"100.63.255.255", false},
		{"0.0.0.0", true},
		{"0.1.2.3", true},
		{"224.0.0.1", true},
		{"239.255.255.250", true},
		{"255.255.255.255", true},
		{"240.0.0.1", true},
		{"192.0.0.8", true},
		{"198.18.0.1", true},
		{"192.0.2.1", true},
		{"198.51.100.1", true},
		{"203.0.113.1", true},
		{"192.88.99.1", true},
		{"168.63.129.16", true},   // Azure WireServer: public, yet a metadata endpoint
		{"100.100.100.200", true}, // Alibaba Cloud metadata
		{"8.8.8.8", false},
		{"1.1.1.1", false},
		{"93.184.215.14", false},
		{"11.0.0.1", false},
		{"192.169.0.1", false},
		// IPv6
		{"::1", true},
		{"::", true},
		{"::ffff:127.0.0.1", true},
		{"::ffff:10.1.2.3", true},
		{"::ffff:169.254.169.254", true},
		{"::ffff:8.8.8.8", false},
		{"::127.0.0.1", true}, // IPv4-compatible
		{"fe80::1", true},
		{"fe80::1%eth0", true},
		{"fc00::1", true},
		{"fd12:3456:789a::1", true},
		{"fec0::1", true},
		{"ff02::1", true},
		{"ff05::2", true},
		{"64:ff9b::7f00:1", true},    // NAT64 of 127.0.0.1
		{"64:ff9b::a9fe:a9fe", true}, // NAT64 of 169.254.169.254
		{"64:ff9b::808:808", false},  // NAT64 of 8.8.8.8
		{"64:ff9b:1::1", true},
		{"2002:7f00:1::1", true},   // 6to4 of 127.0.0.1
		{"2002:808:808::1", false}, // 6to4 of 8.8.8.8
		{"100::1", true},
		{"2001::1", true},
		{"2001:db8::1", true},
		{"3fff::1", true},
		{"5f00::1", true},
		{"fd00:ec2::254", true},
		{"::ffff:192.0.2.1", true},
		{"64:ff9b::c000:201", true}, // NAT64 of 192.0.2.1
		{"::ffff:0:a00:1", true},    // IPv4-translated 10.0.0.1
		{"2001:4860:4860::8888", false},
		{"2606:4700:4700::1111", false},
	}
	for _, tt := range tests {
		ip := netip.MustParseAddr(tt.ip)
		reason, blocked := delivery.Blocked(ip)
		if blocked != tt.blocked {
			t.Errorf("Blocked(%s) = %v (%q), want %v", tt.ip, blocked, reason, tt.blocked)
		}
		if blocked && reason == "" {
			t.Errorf("Blocked(%s) gives no reason", tt.ip)
		}
	}
	if _, blocked := delivery.Blocked(netip.Addr{}); !blocked {
		t.Error("the zero Addr is not blocked")
	}
}
