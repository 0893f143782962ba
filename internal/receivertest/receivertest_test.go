package receivertest_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/webhookd/webhookd/internal/receivertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func post(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestReceiver(t *testing.T) {
	t.Parallel()
	rc := receivertest.New(t, receivertest.Verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
	if code, body := post(t, rc.URL); code != http.StatusOK || body != `{"n":1}` {
		t.Errorf("first answer %d %s", code, body)
	}
	rc.SetStatus(http.StatusServiceUnavailable)
	if code, _ := post(t, rc.URL); code != http.StatusServiceUnavailable {
		t.Errorf("after SetStatus: %d", code)
	}
	got := rc.Requests()
	if len(got) != 2 || rc.Count() != 2 || string(got[0].Body) != `{"a":1}` || got[0].Err == nil {
		t.Errorf("requests = %+v (an unsigned request must fail the check)", got)
	}

	release := rc.Hold()
	done := make(chan int)
	go func() {
		resp, err := http.Post(rc.URL, "application/json", strings.NewReader(`{}`))
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	<-rc.Arrived
	<-rc.Arrived
	<-rc.Arrived // the third request is held
	select {
	case <-done:
		t.Fatal("a held request was answered")
	default:
	}
	release()
	release()
	if code := <-done; code != http.StatusServiceUnavailable {
		t.Errorf("released request: %d", code)
	}
}

func TestAnswer(t *testing.T) {
	t.Parallel()
	rc := receivertest.New(t, receivertest.Answer(func(n int, _ *http.Request) int { return 200 + n }))
	if code, _ := post(t, rc.URL); code != 201 {
		t.Errorf("answer = %d, want 201", code)
	}
}
