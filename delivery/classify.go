package delivery

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// Outcome is what an attempt means for its delivery.
type Outcome uint8

// Outcomes. The zero Outcome is not one of them, so a forgotten assignment is never a success.
const (
	Success Outcome = iota + 1 // 2xx: done
	Retry                      // try again on the backoff schedule
	Reject                     // give up now
)

// String returns the outcome label of webhookd_delivery_attempts_total.
func (o Outcome) String() string {
	switch o {
	case Success:
		return "success"
	case Retry:
		return "retry"
	case Reject:
		return "rejected"
	default:
		return "unknown"
	}
}

// Error codes other than HTTP_<status>; see the package documentation.
const (
	CodeTimeout            = "TIMEOUT"
	CodeConnectionFailed   = "CONNECTION_FAILED"
	CodeDNSFailed          = "DNS_FAILED"
	CodeTLSFailed          = "TLS_FAILED"
	CodeDestinationBlocked = "DESTINATION_BLOCKED"
	CodeInvalidURL         = "INVALID_URL"
	CodeInvalidSecret      = "INVALID_SECRET"
	CodeInvalidRequest     = "INVALID_REQUEST"
	CodeCanceled           = "CANCELED"
)

// HTTPCodePrefix starts the code of a non-2xx answer, HTTP_<status>.
const HTTPCodePrefix = "HTTP_"

// Codes returns every error code other than HTTP_<status> that Send can give, as the package
// documentation lists them (the worker adds codes of its own, such as PAYLOAD_TOO_LARGE).
func Codes() []string {
	return []string{
		CodeTimeout, CodeConnectionFailed, CodeDNSFailed, CodeTLSFailed, CodeDestinationBlocked,
		CodeInvalidURL, CodeInvalidSecret, CodeInvalidRequest, CodeCanceled,
	}
}

// HTTPCode returns the error code of a status, e.g. HTTP_503.
func HTTPCode(status int) string { return HTTPCodePrefix + strconv.Itoa(status) }

// Classify is the one rule that turns an attempt's status, or the error that prevented one,
// into an outcome and an error code ("" for a success). err wins over status.
func Classify(status int, err error) (Outcome, string) {
	if err != nil {
		return classifyError(err)
	}
	switch {
	case status >= 200 && status <= 299:
		return Success, ""
	case status == http.StatusRequestTimeout, status == http.StatusTooEarly,
		status == http.StatusTooManyRequests, status >= 500 && status <= 599:
		return Retry, HTTPCode(status)
	default:
		return Reject, HTTPCode(status)
	}
}

// classifyError orders its checks from the most specific: a DNS lookup or TLS handshake that
// ran out of time is reported as DNS_FAILED or TLS_FAILED, which says where it failed.
func classifyError(err error) (Outcome, string) {
	var dnsErr *net.DNSError
	var reqErr *requestError
	switch {
	case errors.Is(err, context.Canceled):
		return Retry, CodeCanceled
	case errors.Is(err, ErrDestinationBlocked):
		return Reject, CodeDestinationBlocked
	case errors.As(err, &reqErr):
		return Reject, reqErr.code
	case errors.As(err, &dnsErr):
		return Retry, CodeDNSFailed
	case isTLSError(err):
		return Retry, CodeTLSFailed
	case isTimeout(err):
		return Retry, CodeTimeout
	default:
		return Retry, CodeConnectionFailed
	}
}

// isTimeout looks at every error in the chain: a wrapper such as *url.Error answers
// Timeout() only for its direct cause, which may be yet another wrapper.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	for err != nil {
		if t, ok := err.(interface{ Timeout() bool }); ok && t.Timeout() {
			return true
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if isTimeout(e) {
					return true
				}
			}
			return false
		default:
			return false
		}
	}
	return false
}

func isTLSError(err error) bool {
	var (
		unknownAuthority x509.UnknownAuthorityError
		invalidCert      x509.CertificateInvalidError
		hostname         x509.HostnameError
		systemRoots      x509.SystemRootsError
		verification     *tls.CertificateVerificationError
		recordHeader     tls.RecordHeaderError
		alert            tls.AlertError
		ech              *tls.ECHRejectionError
		op               *net.OpError
	)
	switch {
	case errors.As(err, &unknownAuthority), errors.As(err, &invalidCert), errors.As(err, &hostname),
		errors.As(err, &systemRoots), errors.As(err, &verification), errors.As(err, &recordHeader),
		errors.As(err, &alert), errors.As(err, &ech), errors.Is(err, http.ErrSchemeMismatch):
		return true
	case errors.As(err, &op) && op.Op == "remote error":
		// An alert from the peer ("remote error: tls: handshake failure"); its type is unexported.
		return true
	}
	// crypto/tls reports many local handshake failures as plain errors ("tls: no supported
	// versions"); the prefix is the only mark they carry.
	return strings.Contains(err.Error(), "tls: ")
}
