package delivery_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/delivery"
)

func fixed(r float64) func() float64 { return func() float64 { return r } }

func policy(initial, maxInterval time.Duration, mult float64) config.RetryPolicy {
	return config.RetryPolicy{MaxAttempts: 6, InitialInterval: config.Duration(initial), MaxInterval: config.Duration(maxInterval), Multiplier: mult}
}

func TestBackoff(t *testing.T) {
	def := policy(time.Second, 10*time.Minute, 2)
	tests := []struct {
		name       string
		p          config.RetryPolicy
		attempt    int
		retryAfter time.Duration
		rnd        float64
		want       time.Duration
	}{
		{"first retry", def, 1, 0, 0.5, time.Second},
		{"second", def, 2, 0, 0.5, 2 * time.Second},
		{"third", def, 3, 0, 0.5, 4 * time.Second},
		{"fifth", def, 5, 0, 0.5, 16 * time.Second},
		{"tenth", def, 10, 0, 0.5, 512 * time.Second},
		{"capped", def, 11, 0, 0.5, 10 * time.Minute},
		{"far past the cap", def, 1000, 0, 0.5, 10 * time.Minute},
		{"int max attempts", def, math.MaxInt, 0, 0.5, 10 * time.Minute},
		{"jitter low", def, 3, 0, 0, 3200 * time.Millisecond},
		{"jitter high", def, 3, 0, 1, 4800 * time.Millisecond},
		{"jitter quarter", def, 1, 0, 0.25, 900 * time.Millisecond},
		{"jitter low under the cap", def, 10, 0, 0, 409600 * time.Millisecond},
		{"jitter high capped", def, 10, 0, 1, 10 * time.Minute},
		// Past the cap the jitter still spreads a herd of deliveries that fail together.
		{"jitter low past the cap spreads below it", def, 11, 0, 0, 8 * time.Minute},
		{"retry-after longer wins", def, 1, 7 * time.Second, 0.5, 7 * time.Second},
		{"retry-after shorter loses", def, 5, 7 * time.Second, 0.5, 16 * time.Second},
		{"retry-after capped", def, 1, time.Hour, 0.5, 10 * time.Minute},
		{"retry-after zero", def, 2, 0, 0.5, 2 * time.Second},
		{"retry-after negative", def, 2, -time.Hour, 0.5, 2 * time.Second},
		{"attempt 0 is the first", def, 0, 0, 0.5, time.Second},
		{"negative attempt is the first", def, -3, 0, 0.5, time.Second},
		{"multiplier 1.5", policy(time.Second, time.Hour, 1.5), 3, 0, 0.5, 2250 * time.Millisecond},
		{"multiplier 1: constant", policy(5*time.Second, time.Hour, 1), 9, 0, 0.5, 5 * time.Second},
		{"max below initial", policy(time.Minute, 10*time.Second, 2), 1, 0, 0.5, 10 * time.Second},
		{"zero policy takes the defaults", config.RetryPolicy{}, 3, 0, 0.5, 4 * time.Second},
		{"multiplier below 1 takes the default", policy(time.Second, time.Hour, 0.5), 2, 0, 0.5, 2 * time.Second},
		{"multiplier NaN takes the default", policy(time.Second, time.Hour, math.NaN()), 2, 0, 0.5, 2 * time.Second},
		{"multiplier Inf takes the default", policy(time.Second, time.Hour, math.Inf(1)), 2, 0, 0.5, 2 * time.Second},
		{"huge multiplier", policy(time.Second, time.Hour, 1e300), 3, 0, 0.5, time.Hour},
		{"rnd NaN is the middle", def, 2, 0, math.NaN(), 2 * time.Second},
		{"rnd out of range is the middle", def, 2, 0, 7, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := delivery.Backoff(tt.p, tt.attempt, tt.retryAfter, fixed(tt.rnd)); got != tt.want {
				t.Fatalf("Backoff = %v, want %v", got, tt.want)
			}
		})
	}
}

// The schedule is cenkalti/backoff's ExponentialBackOff without its randomisation.
func TestBackoffMatchesExponentialBackOff(t *testing.T) {
	for _, p := range []config.RetryPolicy{
		policy(time.Second, 10*time.Minute, 2),
		policy(500*time.Millisecond, time.Minute, 1.5),
		policy(3*time.Second, time.Hour, 3),
		policy(time.Second, time.Second, 2),
		policy(250*time.Millisecond, 24*time.Hour, 1.1),
	} {
		b := &backoff.ExponentialBackOff{
			InitialInterval: p.InitialInterval.D(),
			Multiplier:      p.Multiplier,
			MaxInterval:     p.MaxInterval.D(),
			Stop:            backoff.Stop,
			Clock:           backoff.SystemClock,
		}
		b.Reset()
		for attempt := 1; attempt <= 40; attempt++ {
			want := b.NextBackOff()
			got := delivery.Backoff(p, attempt, 0, fixed(0.5))
			// The library truncates to whole nanoseconds at each step, the closed form once.
			if diff := got - want; diff < -time.Microsecond || diff > time.Microsecond {
				t.Fatalf("%+v attempt %d: Backoff = %v, ExponentialBackOff = %v", p, attempt, got, want)
			}
		}
	}
}

func TestBackoffProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		p := policy(
			time.Duration(rng.Int64N(int64(time.Hour)))-time.Minute,
			time.Duration(rng.Int64N(int64(48*time.Hour)))-time.Minute,
			rng.Float64()*5-0.5,
		)
		attempt := rng.IntN(200) - 5
		// Two draws (staticcheck's SA4000 reads one expression twice as a mistake).
		ra, rb := rng.Int64(), rng.Int64()
		retryAfter := time.Duration(ra) - time.Duration(rb)
		r := rng.Float64()
		got := delivery.Backoff(p, attempt, retryAfter, fixed(r))
		maxInterval := p.MaxInterval.D()
		if maxInterval <= 0 {
			maxInterval = config.DefaultMaxInterval
		}
		if got < 0 || got > maxInterval {
			t.Fatalf("Backoff(%+v, %d, %v, %v) = %v, outside [0, %v]", p, attempt, retryAfter, r, got, maxInterval)
		}
		// With the same draw, a later attempt never waits less.
		if next := delivery.Backoff(p, attempt+1, retryAfter, fixed(r)); next < got {
			t.Fatalf("Backoff(%+v) decreases from attempt %d (%v) to %d (%v)", p, attempt, got, attempt+1, next)
		}
	}
}

func TestBackoffDefaultRandom(t *testing.T) {
	p := policy(time.Second, 10*time.Minute, 2)
	for range 1000 {
		if d := delivery.Backoff(p, 1, 0, nil); d < 800*time.Millisecond || d > 1200*time.Millisecond {
			t.Fatalf("Backoff with the default source = %v, want 0.8s to 1.2s", d)
		}
	}
}

func FuzzBackoff(f *testing.F) {
	f.Add(int64(time.Second), int64(10*time.Minute), 2.0, 3, int64(0), 0.5)
	f.Add(int64(0), int64(0), 0.0, 0, int64(-1), -1.0)
	f.Add(int64(math.MaxInt64), int64(math.MaxInt64), math.MaxFloat64, math.MaxInt, int64(math.MaxInt64), 1.0)
	f.Fuzz(func(t *testing.T, initial, maxInterval int64, mult float64, attempt int, retryAfter int64, r float64) {
		p := policy(time.Duration(initial), time.Duration(maxInterval), mult)
		got := delivery.Backoff(p, attempt, time.Duration(retryAfter), fixed(r))
		limit := time.Duration(maxInterval)
		if limit <= 0 {
			limit = config.DefaultMaxInterval
		}
		if got < 0 || got > limit {
			t.Fatalf("Backoff = %v, outside [0, %v]", got, limit)
		}
	})
}
