package delivery

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/cenkalti/backoff/v4"

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
// The interval comes from cenkalti/backoff's ExponentialBackOff, replayed attempt steps with no
// randomisation (at most 100 steps, max_attempts' bound, so the replay is cheap); the jitter is
// applied here with rnd rather than by the library, whose jitter draws from the global source
// (no fixed rnd could be injected in tests) and is applied before its cap (a delay could
// exceed MaxInterval).
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

	eb := &backoff.ExponentialBackOff{
		InitialInterval:     initial,
		RandomizationFactor: 0,
		Multiplier:          mult,
		MaxInterval:         maxInterval,
		MaxElapsedTime:      0, // never stop: max_attempts decides
		Stop:                backoff.Stop,
		Clock:               backoff.SystemClock,
	}
	eb.Reset()
	var step time.Duration
	for range min(attempt, maxAttemptsBound) {
		step = eb.NextBackOff()
	}
	interval := float64(step)
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

// maxAttemptsBound is the largest max_attempts the configuration accepts; past it the interval
// is long capped anyway.
const maxAttemptsBound = 100
