package main

import (
	"strings"
	"testing"
)

func TestSumCounter(t *testing.T) {
	exposition := `# HELP webhookd_requests_logged_total Webhook requests logged.
# TYPE webhookd_requests_logged_total counter
webhookd_requests_logged_total{state="rejected"} 2
webhookd_requests_logged_total{state="successful"} 19998
webhookd_requests_logged_total_extra{state="successful"} 1000
webhookd_requests_logged_totals 7
webhookd_events_total{result="matched"} 20000
`
	got, err := sumCounter(strings.NewReader(exposition), "webhookd_requests_logged_total", "")
	if err != nil || got != 20000 {
		t.Errorf("sumCounter = %v, %v; want 20000", got, err)
	}
	got, err = sumCounter(strings.NewReader("up 1 1700000000000\n"), "up", "")
	if err != nil || got != 1 {
		t.Errorf("sumCounter of an unlabelled sample with a timestamp = %v, %v; want 1", got, err)
	}
	got, err = sumCounter(strings.NewReader(exposition), "webhookd_requests_logged_total", `state="successful"`)
	if err != nil || got != 19998 {
		t.Errorf("sumCounter of the successful state = %v, %v; want 19998", got, err)
	}
	got, err = sumCounter(strings.NewReader(`m{a="x",state="successful"} 3`+"\n"+`m{state="successful_not"} 4`+"\n"), "m", `state="successful"`)
	if err != nil || got != 3 {
		t.Errorf("sumCounter of a label among others = %v, %v; want 3", got, err)
	}
	if _, err := sumCounter(strings.NewReader(`x{a="b"} many`+"\n"), "x", ""); err == nil {
		t.Error("sumCounter: no error for a value that is not a number")
	}
}

func TestConfigYAMLUsesDefaults(t *testing.T) {
	y := configYAML("http://127.0.0.1:1/hooks/webhookd", "whsec_x")
	for _, setting := range []string{"max_in_flight", "logging", "retry", "timeout", "rate_limit"} {
		if strings.Contains(y, setting) {
			t.Errorf("config sets %s; the benchmark measures the defaults:\n%s", setting, y)
		}
	}
}
