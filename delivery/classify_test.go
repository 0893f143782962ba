package delivery_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"syscall"
	"testing"

	"github.com/webhookd/webhookd/delivery"
)

func TestClassifyStatus(t *testing.T) {
	tests := []struct {
		status  int
		outcome delivery.Outcome
		code    string
	}{
		{200, delivery.Success, ""},
		{201, delivery.Success, ""},
		{202, delivery.Success, ""},
		{204, delivery.Success, ""},
		{299, delivery.Success, ""},
		{100, delivery.Reject, "HTTP_100"},
		{101, delivery.Reject, "HTTP_101"},
		{300, delivery.Reject, "HTTP_300"},
		{301, delivery.Reject, "HTTP_301"},
		{302, delivery.Reject, "HTTP_302"},
		{304, delivery.Reject, "HTTP_304"},
		{307, delivery.Reject, "HTTP_307"},
		{308, delivery.Reject, "HTTP_308"},
		{400, delivery.Reject, "HTTP_400"},
		{401, delivery.Reject, "HTTP_401"},
		{403, delivery.Reject, "HTTP_403"},
		{404, delivery.Reject, "HTTP_404"},
		{405, delivery.Reject, "HTTP_405"},
		{408, delivery.Retry, "HTTP_408"},
		{409, delivery.Reject, "HTTP_409"},
		{410, delivery.Reject, "HTTP_410"},
		{413, delivery.Reject, "HTTP_413"},
		{422, delivery.Reject, "HTTP_422"},
		{425, delivery.Retry, "HTTP_425"},
		{429, delivery.Retry, "HTTP_429"},
		{499, delivery.Reject, "HTTP_499"},
		{500, delivery.Retry, "HTTP_500"},
		{501, delivery.Retry, "HTTP_501"},
		{502, delivery.Retry, "HTTP_502"},
		{503, delivery.Retry, "HTTP_503"},
		{504, delivery.Retry, "HTTP_504"},
		{599, delivery.Retry, "HTTP_599"},
		{600, delivery.Reject, "HTTP_600"},
		{999, delivery.Reject, "HTTP_999"},
		{0, delivery.Reject, "HTTP_0"},
	}
	for _, tt := range tests {
		o, code := delivery.Classify(tt.status, nil)
		if o != tt.outcome || code != tt.code {
			t.Errorf("Classify(%d) = %v %q, want %v %q", tt.status, o, code, tt.outcome, tt.code)
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassifyError(t *testing.T) {
	wrap := func(err error) error { return &url.Error{Op: "Post", URL: "https://h.example/x", Err: err} }
	dial := func(err error) error { return &net.OpError{Op: "dial", Net: "tcp", Err: err} }
	tests := []struct {
		name    string
		err     error
		outcome delivery.Outcome
		code    string
	}{
		{"deadline", wrap(context.DeadlineExceeded), delivery.Retry, "TIMEOUT"},
		{"net timeout", wrap(dial(timeoutErr{})), delivery.Retry, "TIMEOUT"},
		{"os deadline", wrap(fmt.Errorf("read: %w", os.ErrDeadlineExceeded)), delivery.Retry, "TIMEOUT"},
		{"canceled", wrap(context.Canceled), delivery.Retry, "CANCELED"},
		{"dns not found", wrap(dial(&net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true})), delivery.Retry, "DNS_FAILED"},
		{"dns timeout", wrap(dial(&net.DNSError{Err: "i/o timeout", Name: "x", IsTimeout: true})), delivery.Retry, "DNS_FAILED"},
		{"unknown authority", wrap(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), delivery.Retry, "TLS_FAILED"},
		{"hostname", wrap(x509.HostnameError{Host: "h"}), delivery.Retry, "TLS_FAILED"},
		{"expired", wrap(x509.CertificateInvalidError{Reason: x509.Expired}), delivery.Retry, "TLS_FAILED"},
		{"record header", wrap(tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}), delivery.Retry, "TLS_FAILED"},
		{"alert", wrap(tls.AlertError(40)), delivery.Retry, "TLS_FAILED"},
		{"remote alert", wrap(&net.OpError{Op: "remote error", Err: errors.New("tls: handshake failure")}), delivery.Retry, "TLS_FAILED"},
		{"plain tls error", wrap(errors.New("tls: no supported versions satisfy MinVersion and MaxVersion")), delivery.Retry, "TLS_FAILED"},
		{"blocked", wrap(dial(&delivery.BlockedError{Addr: netip.MustParseAddr("127.0.0.1"), Reason: "loopback"})), delivery.Reject, "DESTINATION_BLOCKED"},
		{"refused", wrap(dial(syscall.ECONNREFUSED)), delivery.Retry, "CONNECTION_FAILED"},
		{"reset", wrap(&net.OpError{Op: "read", Err: syscall.ECONNRESET}), delivery.Retry, "CONNECTION_FAILED"},
		{"eof", wrap(io.EOF), delivery.Retry, "CONNECTION_FAILED"},
		{"unexpected eof", wrap(io.ErrUnexpectedEOF), delivery.Retry, "CONNECTION_FAILED"},
		{"anything else", errors.New("malformed HTTP response"), delivery.Retry, "CONNECTION_FAILED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The status is ignored when there is an error.
			o, code := delivery.Classify(200, tt.err)
			if o != tt.outcome || code != tt.code {
				t.Fatalf("Classify(%v) = %v %q, want %v %q", tt.err, o, code, tt.outcome, tt.code)
			}
		})
	}
}

func TestOutcomeString(t *testing.T) {
	for o, want := range map[delivery.Outcome]string{
		delivery.Success: "success", delivery.Retry: "retry", delivery.Reject: "rejected", 0: "unknown", 99: "unknown",
	} {
		if got := o.String(); got != want {
			t.Errorf("Outcome(%d).String() = %q, want %q", o, got, want)
		}
	}
}

func TestCodes(t *testing.T) {
	codes := delivery.Codes()
	for _, want := range []string{"TIMEOUT", "CONNECTION_FAILED", "DNS_FAILED", "TLS_FAILED", "DESTINATION_BLOCKED"} {
		if !slices.Contains(codes, want) {
			t.Errorf("Codes() lacks %s", want)
		}
	}
	sorted := slices.Clone(codes)
	slices.Sort(sorted)
	if len(slices.Compact(sorted)) != len(codes) {
		t.Errorf("Codes() has duplicates: %v", codes)
	}
	codes[0] = "CHANGED"
	if delivery.Codes()[0] == "CHANGED" {
		t.Error("Codes() shares its slice")
	}
	if got := delivery.HTTPCode(503); got != "HTTP_503" {
		t.Errorf("HTTPCode(503) = %q", got)
	}
}

func BenchmarkClassify(b *testing.B) {
	refused := &url.Error{Op: "Post", URL: "http://h/", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}
	b.Run("status", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			delivery.Classify(200+i%400, nil)
		}
	})
	b.Run("error", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			delivery.Classify(0, refused)
		}
	})
}
