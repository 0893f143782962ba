package delivery

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/webhookd/webhookd/config"
)

// RandomizationFactor is the jitter of Backoff: a delay is spread over ±20% of its interval,
// enough to break up a herd of deliveries failing together.
const RandomizationFactor = 0.2

// Backoff returns the delay before the next attempt of a delivery whose last attempt (number
// attempt, counting from 1) failed: InitialInterval × Multiplier^(attempt-1), spread by
// ±RandomizationFactor with rnd (a value in [0,1); nil: math/rand/v2), and capped at
// MaxInterval. A retryAfter longer than that delay wins, capped at MaxInterval too. The
// result is always within [0, MaxInterval].
//
// The schedule is that of cenkalti/backoff's ExponentialBackOff (a test checks it), computed
// in closed form rather than with it: ExponentialBackOff is stateful, so the n-th delay would
// mean replaying n-1 steps; it draws jitter from the global source, so no fixed rnd could be
// injected; and it caps the interval before jitter, so a delay could exceed MaxInterval.
//
// Fields of p that are out of range (durations <= 0, Multiplier < 1 or not finite) take
// the defaults of CONTRACT.md section 4, so a zero policy never retries in a tight loop.
func Backoff(p config.RetryPolicy, attempt int, retryAfter time.Duration, rnd func() float64) time.Duration {
	initial := p.InitialInterval.D()
	if initial <= 0 {
		initial = config.DefaultInitialInterval
	}
	maxInterval := p.MaxInterval.D()
	if maxInterval <= 0 {
		maxInterval = config.DefaultMaxInterval
	}
	mult := p.Multiplier
	if !(mult >= 1) || math.IsInf(mult, 0) {
		mult = config.DefaultMultiplier
	}
	attempt = max(attempt, 1)
	if rnd == nil {
		rnd = rand.Float64
	}

	interval := float64(initial) * math.Pow(mult, float64(attempt-1))
	r := rnd()
	if !(r >= 0 && r <= 1) { // NaN included
		r = 0.5
	}
	d := interval * (1 + RandomizationFactor*(2*r-1))
	delay := maxInterval
	if d < float64(maxInterval) { // false for +Inf
		delay = time.Duration(d)
	}
	if retryAfter > delay {
		delay = min(retryAfter, maxInterval)
	}
	return max(delay, 0)
}
