package storage_test

import (
	"testing"

	"github.com/webhookd/webhookd/storage"
)

func TestNumbers(t *testing.T) {
	for _, tc := range []struct {
		seq  int64
		want string
	}{
		{0, "WR-0000000000"},
		{1234, "WR-0000001234"},
		{9999999999, "WR-9999999999"},
		{10000000000, "WR-10000000000"},
	} {
		if got := storage.FormatNumber(tc.seq); got != tc.want {
			t.Errorf("FormatNumber(%d) = %s, want %s", tc.seq, got, tc.want)
		}
		if seq, err := storage.ParseNumber(tc.want); err != nil || seq != tc.seq {
			t.Errorf("ParseNumber(%s) = %d, %v", tc.want, seq, err)
		}
	}
	for _, bad := range []string{"", "WR-", "WR-123", "wr-0000000001", "WR-00000000x1", "WR--000000001", "0000001234"} {
		if _, err := storage.ParseNumber(bad); err == nil {
			t.Errorf("ParseNumber(%q) accepted", bad)
		}
	}
}

func FuzzParseNumber(f *testing.F) {
	f.Add("WR-0000001234")
	f.Add("WR-+000001234")
	f.Fuzz(func(t *testing.T, s string) {
		seq, err := storage.ParseNumber(s)
		if err != nil {
			return
		}
		if seq < 0 {
			t.Fatalf("negative sequence %d from %q", seq, s)
		}
		if again, err := storage.ParseNumber(storage.FormatNumber(seq)); err != nil || again != seq {
			t.Fatalf("round trip of %q: %d, %v", s, again, err)
		}
	})
}

func TestUTF8Cleaning(t *testing.T) {
	bad := "ok\xffé\xc3"
	if got := storage.ValidUTF8(bad); got != "ok\uFFFDé\uFFFD" {
		t.Errorf("ValidUTF8 = %q", got)
	}
	if got := storage.CapBody("aé", 2); got != "a" {
		t.Errorf("CapBody cut inside a character: %q", got)
	}
	h := map[string]string{"X": "v\xff"}
	if got := storage.CleanHeaders(h); got["X"] != "v\uFFFD" || h["X"] != "v\xff" {
		t.Errorf("CleanHeaders = %q (input changed: %q)", got["X"], h["X"])
	}
}

func TestPrepareRequest(t *testing.T) {
	valid := func() *storage.WebhookRequest {
		return &storage.WebhookRequest{Number: "WR-0000000007", WebhookID: "msg_1"}
	}
	for name, mod := range map[string]func(r *storage.WebhookRequest){
		"bad number":    func(r *storage.WebhookRequest) { r.Number = "WR-12" },
		"non-canonical": func(r *storage.WebhookRequest) { r.Number = "WR-00000000007" },
		"seq disagrees": func(r *storage.WebhookRequest) { r.Seq = 8 },
		"no webhook_id": func(r *storage.WebhookRequest) { r.WebhookID = "" },
	} {
		r := valid()
		mod(r)
		if _, err := storage.PrepareRequest(r); err == nil {
			t.Errorf("%s: PrepareRequest accepted %+v", name, r)
		}
	}
	if _, err := storage.PrepareRequest(nil); err == nil {
		t.Error("PrepareRequest(nil) accepted")
	}
	r := valid()
	r.ErrorDescription = "bad \xc3"
	r.Response = &storage.ResponseInfo{Body: "\xff", Headers: map[string]string{"X": "\xfe"}}
	got, err := storage.PrepareRequest(r)
	if err != nil {
		t.Fatalf("PrepareRequest: %v", err)
	}
	if got.Seq != 7 || got.ErrorDescription != "bad \uFFFD" || got.Response.Body != "\uFFFD" || got.Response.Headers["X"] != "\uFFFD" {
		t.Errorf("PrepareRequest = %+v, response %+v", got, got.Response)
	}
	if r.Seq != 0 || r.Response.Body != "\xff" {
		t.Errorf("PrepareRequest changed its input: %+v, response %+v", r, r.Response)
	}
}

func TestClampLimit(t *testing.T) {
	for _, tc := range []struct{ n, want int }{{-1, 50}, {0, 50}, {1, 1}, {1000, 1000}, {1001, 1000}} {
		if got := storage.ClampLimit(tc.n); got != tc.want {
			t.Errorf("ClampLimit(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
}
