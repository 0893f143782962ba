package delivery

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxRetryAfter is the largest Retry-After a time.Duration holds in whole seconds; larger
// values saturate, and Backoff caps them at max_interval anyway.
const maxRetryAfter = time.Duration(math.MaxInt64/int64(time.Second)) * time.Second

// ParseRetryAfter reads a Retry-After value (RFC 9110 section 10.2.3): delay-seconds or an
// HTTP date, which counts from now. A date in the past is 0. ok is false when v is empty or
// neither form, including negative and fractional seconds.
func ParseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if strings.TrimLeft(v, "0123456789") == "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n > uint64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true // only range errors remain: all digits
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}
