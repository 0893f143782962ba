package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	testKey    = []byte("0123456789abcdef0123456789abcdef")
	testSecret = "whsec_" + base64.StdEncoding.EncodeToString(testKey)
	testNow    = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
)

func sign(key []byte, id string, ts int64, body string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "." + body))
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func TestHook(t *testing.T) {
	const body = `{"type":"customer.updated"}`
	good := sign(testKey, "msg_1", testNow.Unix(), body)
	tests := []struct {
		name    string
		secrets []string
		path    string
		id      string
		ts      int64
		sig     string
		rand    float64
		want    int
	}{
		{name: "valid signature", secrets: []string{testSecret}, path: "/hooks/erp", id: "msg_1", ts: testNow.Unix(), sig: good, want: 200},
		{name: "rotation: second signature matches", secrets: []string{testSecret}, path: "/hooks/erp", id: "msg_1", ts: testNow.Unix(), sig: "v1,AAAA " + good, want: 200},
		{name: "second secret matches", secrets: []string{"whsec_" + base64.StdEncoding.EncodeToString([]byte("another-key-of-24-bytes!")), testSecret}, path: "/hooks/erp", id: "msg_1", ts: testNow.Unix(), sig: good, want: 200},
		{name: "wrong signature", secrets: []string{testSecret}, path: "/hooks/erp", id: "msg_1", ts: testNow.Unix(), sig: sign([]byte("other"), "msg_1", testNow.Unix(), body), want: 401},
		{name: "signature of another id", secrets: []string{testSecret}, path: "/hooks/erp", id: "msg_2", ts: testNow.Unix(), sig: good, want: 401},
		{name: "stale timestamp", secrets: []string{testSecret}, path: "/hooks/erp", id: "msg_1", ts: testNow.Add(-10 * time.Minute).Unix(), sig: sign(testKey, "msg_1", testNow.Add(-10*time.Minute).Unix(), body), want: 401},
		{name: "missing headers", secrets: []string{testSecret}, path: "/hooks/erp", want: 401},
		{name: "no secrets: not checked", path: "/hooks/erp", want: 200},
		{name: "fixed status", path: "/hooks/erp?status=422", want: 422},
		{name: "bad status", path: "/hooks/erp?status=99", want: 400},
		{name: "fail drawn", path: "/hooks/erp?fail=0.3", rand: 0.1, want: 503},
		{name: "fail not drawn", path: "/hooks/erp?fail=0.3", rand: 0.9, want: 200},
		{name: "bad fail", path: "/hooks/erp?fail=NaN", want: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := newHandler(slog.New(slog.DiscardHandler), tt.secrets,
				func() time.Time { return testNow }, func() float64 { return tt.rand })
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodPost, tt.path, strings.NewReader(body))
			if tt.id != "" {
				req.Header.Set("webhook-id", tt.id)
				req.Header.Set("webhook-timestamp", strconv.FormatInt(tt.ts, 10))
				req.Header.Set("webhook-signature", tt.sig)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d (body %q)", rec.Code, tt.want, rec.Body.String())
			}
		})
	}
}

func TestNewHandlerRejectsBadSecrets(t *testing.T) {
	for _, s := range []string{"secret", "whsec_%%%"} {
		if _, err := newHandler(slog.New(slog.DiscardHandler), []string{s}, time.Now, func() float64 { return 0 }); err == nil {
			t.Errorf("secret %q accepted", s)
		}
	}
}

func TestServeStopsWithContext(t *testing.T) {
	h, err := newHandler(slog.New(slog.DiscardHandler), nil, time.Now, func() float64 { return 0 })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	go func() { done <- serve(ctx, ln, h, slog.New(slog.DiscardHandler)) }()

	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("receiver did not answer /healthz: %v", err)
		}
		select {
		case err := <-done:
			t.Fatalf("serve returned early: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestSplitSecrets(t *testing.T) {
	got := splitSecrets(" whsec_a, ,whsec_b,")
	if len(got) != 2 || got[0] != "whsec_a" || got[1] != "whsec_b" {
		t.Fatalf("splitSecrets = %q", got)
	}
}

func TestSecretsFromConfig(t *testing.T) {
	got, err := secretsFromConfig("../config/webhookd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 {
		t.Fatal("the sample config has no secret keys")
	}
	if _, err := newHandler(slog.New(slog.DiscardHandler), got, time.Now, func() float64 { return 0 }); err != nil {
		t.Fatalf("sample secrets: %v", err)
	}
	if _, err := secretsFromConfig("does-not-exist.yaml"); err == nil {
		t.Fatal("missing file accepted")
	}
}
