package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/webhookd/webhookd/webhook"
)

func TestEventIDAndPhase(t *testing.T) {
	id := eventIDFor("steady2", 41)
	if id != "wb-steady2-0000041" || phaseOf(id) != "steady2" {
		t.Errorf("eventIDFor = %q, phaseOf = %q", id, phaseOf(id))
	}
	for _, other := range []string{"", "burst", "evt-1", "wb-nodash"} {
		if p := phaseOf(other); p != "" {
			t.Errorf("phaseOf(%q) = %q, want empty", other, p)
		}
	}
	body := []byte(`{"type":"customer.updated","data":{"event_id":"wb-burst-0000007","entity":"customer"}}`)
	if got := eventID(body); got != "wb-burst-0000007" {
		t.Errorf("eventID = %q", got)
	}
	if got := eventID([]byte(`{"data":{}}`)); got != "" {
		t.Errorf("eventID without one = %q", got)
	}
}

func TestRecorder(t *testing.T) {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	key, err := webhook.DecodeSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newRecorder(secret, 10))
	defer srv.Close()
	deliver := func(id string, sign bool) {
		t.Helper()
		body := []byte(`{"type":"customer.updated","data":{"event_id":"` + id + `"}}`)
		req, _ := http.NewRequest(http.MethodPost, srv.URL+hookPath, bytes.NewReader(body))
		now := time.Now()
		req.Header.Set(webhook.HeaderID, "msg_"+id)
		req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
		if sign {
			req.Header.Set(webhook.HeaderSignature, webhook.Sign(key, "msg_"+id, now, body))
		} else {
			req.Header.Set(webhook.HeaderSignature, "v1,bm90IGEgc2lnbmF0dXJl")
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("delivery of %s: %s", id, resp.Status)
		}
	}
	get := func(path string, v any) {
		t.Helper()
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}

	deliver("wb-burst-0000000", true)
	deliver("wb-burst-0000001", true)
	deliver("wb-burst-0000001", true) // at least once: a second delivery of the same event
	deliver("wb-steady1-0000000", false)
	resp, err := srv.Client().Post(srv.URL+baselinePath, "application/json", bytes.NewReader([]byte(`{}`)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	var c phaseCounts
	get("/bench/phase?name=burst", &c)
	if c.Received != 2 || c.Duplicates != 1 || c.Bytes == 0 {
		t.Errorf("burst counts %+v, want 2 received, 1 duplicate", c)
	}
	var a arrivalList
	get("/bench/arrivals?name=burst", &a)
	if len(a.IDs) != 2 || len(a.UnixNano) != 2 || a.IDs[0] != "wb-burst-0000000" || a.UnixNano[0] <= 0 {
		t.Errorf("burst arrivals %+v", a)
	}
	var v verification
	get("/bench/verify?name=burst", &v)
	if v.Checked != 2 || v.Failed != 0 {
		t.Errorf("burst signatures %+v, want 2 checked, none failed", v)
	}
	get("/bench/verify?name=steady1", &v)
	if v.Checked != 1 || v.Failed != 1 || v.FirstError == "" {
		t.Errorf("steady1 signatures %+v, want the bad one failed", v)
	}
	var b baselineCount
	get("/bench/baseline", &b)
	if b.Received != 1 {
		t.Errorf("baseline received %d, want 1", b.Received)
	}
}

func TestRecorderFailingAndHanging(t *testing.T) {
	rec := newRecorder("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 10)
	srv := httptest.NewServer(rec)
	defer srv.Close()
	body := []byte(`{"data":{"event_id":"wb-isolation-failing-0000000"}}`)
	resp, err := srv.Client().Post(srv.URL+failingPath, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("%s answered %s, want 503", failingPath, resp.Status)
	}

	// A held request ends when its client gives up...
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+hangingPath, bytes.NewReader(body))
	if resp, err := srv.Client().Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("%s answered %s, want no answer", hangingPath, resp.Status)
	} else if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%s: %v, want the client's deadline", hangingPath, err)
	}
	// ... or when the receiver stops.
	answered := make(chan error, 1)
	go func() {
		resp, err := srv.Client().Post(srv.URL+hangingPath, "application/json", bytes.NewReader(body))
		if err == nil {
			resp.Body.Close()
		}
		answered <- err
	}()
	poll := time.NewTicker(5 * time.Millisecond)
	defer poll.Stop()
	deadline := time.After(10 * time.Second)
	for rec.hanging.Load() < 2 {
		select {
		case <-poll.C:
		case <-deadline:
			t.Fatal("the second request was not held within 10s")
		}
	}
	rec.close()
	if err := <-answered; err != nil {
		t.Errorf("a held request after close: %v", err)
	}

	var a attemptCounts
	r, err := srv.Client().Get(srv.URL + "/bench/attempts")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	if err := json.NewDecoder(r.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	if a.Failing != 1 || a.Hanging != 2 {
		t.Errorf("attempts %+v, want 1 failing, 2 hanging", a)
	}
	var c phaseCounts
	r2, err := srv.Client().Get(srv.URL + "/bench/phase?name=isolation-failing")
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Body.Close()
	if err := json.NewDecoder(r2.Body).Decode(&c); err != nil || c.Received != 0 {
		t.Errorf("failing and hanging requests are recorded as deliveries: %+v, %v", c, err)
	}
}
