package delivery_test

import (
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/webhookd/webhookd/delivery"
)

func TestParseAllowList(t *testing.T) {
	l, err := delivery.ParseAllowList([]string{
		"10.20.0.0/16", " fd00:1::/64 ", "", "Receiver.", "receiver", "10.20.1.5", "[fd00::5]",
		"::ffff:10.30.0.0/112", "169.254.169.254", "hooks.internal.example", "10.20.0.0/16",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.20.0.0/16", "fd00:1::/64", "receiver", "10.20.1.5/32", "fd00::5/128", "10.30.0.0/16",
		"169.254.169.254/32", "hooks.internal.example"}
	if got := l.Entries(); !slices.Equal(got, want) {
		t.Errorf("entries = %q, want %q", got, want)
	}
	if l.Len() != len(want) {
		t.Errorf("Len = %d", l.Len())
	}
	var none *delivery.AllowList
	if none.Len() != 0 || none.Entries() != nil {
		t.Error("a nil AllowList is not empty")
	}
}

func TestParseAllowEntry(t *testing.T) {
	tests := []struct {
		entry   string
		prefix  string // the CIDR it is, or ""
		host    string // the host name it is, or ""
		wantErr string // part of the error; "" = valid
	}{
		{entry: "10.20.0.0/16", prefix: "10.20.0.0/16"},
		{entry: "fd00:1::/64", prefix: "fd00:1::/64"},
		{entry: "10.20.1.5", prefix: "10.20.1.5/32"},
		{entry: "fd00:ec2::254", prefix: "fd00:ec2::254/128"},
		{entry: "[fd00:ec2::254]", prefix: "fd00:ec2::254/128"},
		{entry: "::ffff:10.1.2.3", prefix: "10.1.2.3/32"},
		{entry: "::ffff:10.0.0.0/104", prefix: "10.0.0.0/8"},
		{entry: "0.0.0.0/0", prefix: "0.0.0.0/0"},
		{entry: "receiver", host: "receiver"},
		{entry: "RECEIVER.example.", host: "receiver.example"},
		{entry: "my_service.internal", host: "my_service.internal"},
		{entry: "xn--bcher-kva.example", host: "xn--bcher-kva.example"},
		{entry: "10.20.1.0/16", wantErr: "did you mean 10.20.0.0/16"},
		{entry: "10.20.0.0/33", wantErr: "not a CIDR"},
		{entry: "10.20.0/16", wantErr: "not a CIDR"},
		{entry: "fe80::1%eth0", wantErr: "zone"},
		{entry: "https://receiver/hook", wantErr: "not a URL"},
		{entry: "receiver:8090", wantErr: "without a port"},
		{entry: "*.example.com", wantErr: "no wildcards"},
		{entry: "bücher.example", wantErr: "in ASCII"},
		{entry: "300.1.2.3", wantErr: "neither an IP address nor a host name"},
		{entry: "10.0.0", wantErr: "neither an IP address nor a host name"},
		{entry: "-bad.example", wantErr: "starts or ends with '-'"},
		{entry: "a..b", wantErr: "empty label"},
		{entry: "white space", wantErr: "not a letter"},
		{entry: strings.Repeat("a", 64) + ".example", wantErr: "longer than 63"},
		{entry: " ", wantErr: "empty"},
	}
	for _, tt := range tests {
		d, err := delivery.ParseAllowEntry(tt.entry)
		if tt.wantErr != "" {
			if err == nil || !errors.Is(err, delivery.ErrInvalidAllowEntry) || !strings.Contains(err.Error(), tt.wantErr) ||
				!strings.Contains(err.Error(), `"`+tt.entry+`"`) {
				t.Errorf("ParseAllowEntry(%q) = %+v, %v; want an error naming it with %q", tt.entry, d, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseAllowEntry(%q): %v", tt.entry, err)
			continue
		}
		if (tt.prefix != "" && d.Prefix.String() != tt.prefix) || d.Host != tt.host || (tt.prefix == "") == d.Prefix.IsValid() {
			t.Errorf("ParseAllowEntry(%q) = %+v, want prefix %q host %q", tt.entry, d, tt.prefix, tt.host)
		}
	}
	if _, err := delivery.ParseAllowList([]string{"10.0.0.0/8", "bad entry"}); err == nil || !strings.Contains(err.Error(), `"bad entry"`) {
		t.Errorf("ParseAllowList with a bad entry: %v", err)
	}
}

// FuzzParseAllowEntry: the parser never panics; an accepted entry is one canonical prefix or
// host name, which parses again to itself; a refused one wraps ErrInvalidAllowEntry and names
// the entry.
func FuzzParseAllowEntry(f *testing.F) {
	for _, s := range []string{"10.20.0.0/16", "fd00:1::/64", "receiver", "169.254.169.254", "[::1]", "::ffff:1.2.3.4/120",
		"a.b.c", "10.0.0.1/8", "x:1", "*.x", "fe80::1%lo"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, entry string) {
		d, err := delivery.ParseAllowEntry(entry)
		if err != nil {
			if !errors.Is(err, delivery.ErrInvalidAllowEntry) || !strings.Contains(err.Error(), strconv.Quote(entry)) {
				t.Fatalf("error %v for %q", err, entry)
			}
			return
		}
		canon := d.Host
		if d.Prefix.IsValid() {
			if d.Host != "" || d.Prefix.Masked() != d.Prefix || d.Prefix.Addr().Is4In6() || d.Prefix.Addr().Zone() != "" {
				t.Fatalf("ParseAllowEntry(%q) = %+v", entry, d)
			}
			canon = d.Prefix.String()
		} else if d.Host == "" || d.Host != strings.ToLower(d.Host) || strings.HasSuffix(d.Host, ".") {
			t.Fatalf("ParseAllowEntry(%q) = %+v", entry, d)
		} else if _, err := netip.ParseAddr(d.Host); err == nil {
			t.Fatalf("ParseAllowEntry(%q): address %q taken as a host name", entry, d.Host)
		}
		again, err := delivery.ParseAllowEntry(canon)
		if err != nil || again != d {
			t.Fatalf("ParseAllowEntry(%q) = %+v, but its canonical form %q gives %+v, %v", entry, d, canon, again, err)
		}
	})
}
