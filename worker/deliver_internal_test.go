package worker

import (
	"testing"

	"github.com/webhookd/webhookd/config"
)

func TestRateLimitersFollowTheConfiguration(t *testing.T) {
	t.Parallel()
	d := &deliverer{}
	a := &config.Definition{ID: "a", RateLimit: 5}
	b := &config.Definition{ID: "b", RateLimit: 2}
	if d.limiterFor(&config.Definition{ID: "none"}) != nil {
		t.Error("a definition without rate_limit got a limiter")
	}
	la := d.limiterFor(a)
	if la == nil || d.limiterFor(a) != la {
		t.Fatal("the limiter of a definition is not kept between attempts")
	}
	d.limiterFor(b)
	if changed := d.limiterFor(&config.Definition{ID: "a", RateLimit: 9}); changed == la || changed.Limit() != 9 {
		t.Error("a changed rate_limit kept the old limiter")
	}
	d.prune(&Snapshot{Definitions: map[string]*config.Definition{"b": b}})
	if _, ok := d.limiters["a"]; ok || len(d.limiters) != 1 {
		t.Errorf("limiters after prune = %v, want only b", d.limiters)
	}
}
