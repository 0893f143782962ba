package main_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/webhookd/webhookd/internal/testutil"
)

// The tests here run the real binary and look at what an operator sees: the exit code and the
// log. Their deadlines are generous (the machine may be loaded): they bound a wait, the
// behaviour is what is asserted.

// proc is a running webhookd whose log (stderr) the test reads.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	log    *testutil.LogBuffer
	exited chan struct{}
	err    error // set before exited is closed
}

func startProc(t *testing.T, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, cmd: exec.Command(buildBinary(t), args...), log: &testutil.LogBuffer{}, exited: make(chan struct{})}
	p.cmd.Stderr = p.log
	p.cmd.Stdout = p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("webhookd %s log:\n%s", strings.Join(args, " "), p.log.String())
		}
	})
	return p
}

// exitCode waits for the process to end within the given time and returns its exit code.
func (p *proc) exitCode(within time.Duration) int {
	p.t.Helper()
	select {
	case <-p.exited:
	case <-time.After(within):
		p.t.Fatalf("webhookd still running %s later; log:\n%s", within, p.log.String())
	}
	var ee *exec.ExitError
	if p.err != nil && !errors.As(p.err, &ee) {
		p.t.Fatalf("wait for webhookd: %v", p.err)
	}
	return p.cmd.ProcessState.ExitCode()
}

func (p *proc) waitLog(within time.Duration, substr string) {
	p.t.Helper()
	testutil.Eventually(p.t, within, fmt.Sprintf("the log to say %q", substr), func() bool {
		return strings.Contains(p.log.String(), substr)
	})
}

func (p *proc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

func (p *proc) signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
}

// lines returns the non-empty lines of the log.
func (p *proc) lines() []string {
	var out []string
	for _, l := range strings.Split(p.log.String(), "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// standaloneArgs runs webhookd standalone on dataDir with free ports, without the web console
// (its default port would be shared by the tests' processes); extra may turn it on.
func standaloneArgs(t *testing.T, dataDir string, extra ...string) (args []string, natsAddr, httpAddr string) {
	natsAddr, httpAddr = freeAddr(t), freeAddr(t)
	return append([]string{"--log-format", "text", "--data-dir", dataDir, "--embedded-nats-listen", natsAddr,
		"--http-addr", httpAddr, "--console-addr="}, extra...), natsAddr, httpAddr
}

func skipShort(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
}

// TestSecondProcessOnADataDirIsRefused: two webhookd on one data directory would corrupt the
// embedded JetStream store. The second exits at once, naming the directory and the first's pid;
// the first goes on undisturbed.
func TestSecondProcessOnADataDirIsRefused(t *testing.T) {
	skipShort(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	args, _, httpAddr := standaloneArgs(t, dataDir)
	first := startProc(t, args...)
	waitReady(t, httpAddr)

	args2, _, _ := standaloneArgs(t, dataDir)
	second := startProc(t, args2...)
	if code := second.exitCode(10 * time.Second); code != 1 {
		t.Fatalf("second webhookd exited with %d, want 1", code)
	}
	out := second.log.String()
	for _, want := range []string{"--data-dir", dataDir, "in use by process " + strconv.Itoa(first.cmd.Process.Pid)} {
		if !strings.Contains(out, want) {
			t.Errorf("second webhookd's message does not say %q:\n%s", want, out)
		}
	}
	if n := len(second.lines()); n != 1 {
		t.Errorf("second webhookd printed %d lines, want the one that says why:\n%s", n, out)
	}
	if !first.running() {
		t.Fatal("the first webhookd stopped")
	}
	waitReady(t, httpAddr)

	// The lock dies with its holder: after a kill -9 the directory is free again.
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-first.exited
	args3, _, httpAddr3 := standaloneArgs(t, dataDir)
	startProc(t, args3...)
	waitReady(t, httpAddr3)
}

// TestStartUpMistakesEndInOneLine: each mistake ends the process at once with one line that
// says what is wrong, and nothing is left on disk.
func TestStartUpMistakesEndInOneLine(t *testing.T) {
	skipShort(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	badConfig := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(badConfig, []byte("webhook_definitions:\n  - id: Not-An-Id\n    url: ftp://x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badKeys := filepath.Join(t.TempDir(), "secrets.key")
	if err := os.WriteFile(badKeys, []byte("# keys\nk1 not-base64!\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		flags func(natsAddr, httpAddr string) []string
		code  int
		says  []string
		// noDataDir: the mistake is found before anything is written.
		noDataDir bool
	}{
		{
			name:  "embedded NATS port taken",
			flags: func(_, _ string) []string { return []string{"--embedded-nats-listen", taken.Addr().String()} },
			code:  1, says: []string{"--embedded-nats-listen", taken.Addr().String(), "address already in use"},
		},
		{
			name:  "HTTP port taken",
			flags: func(_, _ string) []string { return []string{"--http-addr", taken.Addr().String()} },
			code:  1, says: []string{"--http-addr", taken.Addr().String(), "address already in use"}, noDataDir: true,
		},
		{
			name:  "console port taken",
			flags: func(_, _ string) []string { return []string{"--console-addr", taken.Addr().String()} },
			code:  1, says: []string{"--console-addr", taken.Addr().String(), "address already in use"}, noDataDir: true,
		},
		{
			name:  "console users file missing",
			flags: func(_, _ string) []string { return []string{"--console-users", "/nonexistent/users"} },
			code:  2, says: []string{"--console-users", "/nonexistent/users", "webhookd --help"}, noDataDir: true,
		},
		{
			name:  "config file missing",
			flags: func(_, _ string) []string { return []string{"--config", "/nonexistent/webhookd.yaml"} },
			code:  2, says: []string{"--config", "/nonexistent/webhookd.yaml", "webhookd --help"}, noDataDir: true,
		},
		{
			name:  "config file invalid",
			flags: func(_, _ string) []string { return []string{"--config", badConfig} },
			code:  1, says: []string{"--config", badConfig, "Not-An-Id"}, noDataDir: true,
		},
		{
			name:  "inbox prefix with a wildcard",
			flags: func(_, _ string) []string { return []string{"--nats-inbox-prefix", "_INBOX.*"} },
			code:  1, says: []string{"--nats-inbox-prefix", "_INBOX.*"}, noDataDir: true,
		},
		{
			name:  "MongoDB without a secrets key file",
			flags: func(_, _ string) []string { return []string{"--mongo-uri", "mongodb://127.0.0.1:1/"} },
			code:  1, says: []string{"--secrets-key-file is required with --mongo-uri", "webhookctl secret keygen"}, noDataDir: true,
		},
		{
			name:  "secrets key file invalid",
			flags: func(_, _ string) []string { return []string{"--secrets-key-file", badKeys} },
			code:  1, says: []string{"--secrets-key-file", badKeys + " line 2", "not standard padded base64"}, noDataDir: true,
		},
		{
			name: "allow-destination entry invalid",
			flags: func(_, _ string) []string {
				return []string{"--allow-destination", "10.0.0.0/8", "--allow-destination", "10.20.1.0/16"}
			},
			code: 2, says: []string{"--allow-destination", `"10.20.1.0/16"`, "did you mean 10.20.0.0/16", "webhookd --help"}, noDataDir: true,
		},
		{
			name:  "embedded NATS open to the network without users",
			flags: func(_, _ string) []string { return []string{"--embedded-nats-listen", "0.0.0.0:4222"} },
			code:  1, says: []string{"--embedded-nats-listen 0.0.0.0:4222", "without authentication", "--embedded-nats-config"}, noDataDir: true,
		},
		{
			name:  "unknown flag",
			flags: func(_, _ string) []string { return []string{"--no-such-flag"} },
			code:  2, says: []string{"--no-such-flag", "webhookd --help"}, noDataDir: true,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dataDir := filepath.Join(t.TempDir(), "data")
			args, natsAddr, httpAddr := standaloneArgs(t, dataDir)
			p := startProc(t, append(args, c.flags(natsAddr, httpAddr)...)...)
			if code := p.exitCode(10 * time.Second); code != c.code {
				t.Fatalf("exit code %d, want %d; log:\n%s", code, c.code, p.log.String())
			}
			out := p.log.String()
			for _, want := range c.says {
				if !strings.Contains(out, want) {
					t.Errorf("output does not say %q:\n%s", want, out)
				}
			}
			// One line says it; a usage error adds a hint where to read more.
			want := 1
			if c.code == 2 {
				want = 2
			}
			if n := len(p.lines()); n != want {
				t.Errorf("%d lines printed, want %d:\n%s", n, want, out)
			}
			if _, err := os.Stat(dataDir); c.noDataDir && !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the data directory was created (stat: %v)", err)
			}
			if _, err := os.Stat(filepath.Join(dataDir, "nats")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the embedded NATS server wrote its files (stat: %v)", err)
			}
		})
	}
}

// TestSignalDuringStartUpStops: webhookd waiting for a NATS server that does not answer stops
// on SIGTERM at once, and says so.
func TestSignalDuringStartUpStops(t *testing.T) {
	skipShort(t)
	// Accepts connections and never speaks: the NATS handshake waits for its INFO.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	httpAddr := freeAddr(t)
	p := startProc(t, "--log-format", "text", "--nats-url", "nats://"+silent.Addr().String(),
		"--data-dir", filepath.Join(t.TempDir(), "data"), "--http-addr", httpAddr, "--console-addr=")
	// /healthz answers while webhookd connects.
	testutil.Eventually(t, 30*time.Second, "/healthz", func() bool {
		resp, err := http.Get("http://" + httpAddr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	p.signal(syscall.SIGTERM)
	if code := p.exitCode(5 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM during start-up, want 0", code)
	}
	p.waitLog(time.Second, "stopped during start-up")
}

// TestShutdownSaysWhatItWaitsForAndASecondSignalHurriesIt: with a delivery in flight, the
// first SIGINT says what the shutdown waits for; the second ends the process within seconds,
// handing the delivery back; the next start delivers it at once and logs it once.
func TestShutdownSaysWhatItWaitsForAndASecondSignalHurriesIt(t *testing.T) {
	skipShort(t)
	dir := t.TempDir()
	var (
		mu      sync.Mutex
		hold    = true
		arrived = make(chan string, 100)
		release = make(chan struct{})
	)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- r.Header.Get("webhook-id"):
		default:
		}
		mu.Lock()
		h := hold
		mu.Unlock()
		if h {
			// The receiver hangs until webhookd gives up on it.
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}
	}))
	// After the processes are killed (cleanups run last-in first-out).
	t.Cleanup(func() { close(release); rc.Close() })
	cfg := writeConfig(t, dir, rc.URL, "    timeout: 5m")
	args, natsAddr, httpAddr := standaloneArgs(t, filepath.Join(dir, "data"), "--config", cfg, "--allow-private-networks")
	p := startProc(t, args...)
	waitReady(t, httpAddr)

	nc, err := nats.Connect("nats://"+natsAddr, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := js.Publish(ctx, "crm.events.customer.updated", []byte(`{"id":"e-held","entity":"customer","entity_id":"C-1","action":"updated","occurred_at":"2026-11-27T10:00:00Z","data":{}}`), jetstream.WithMsgID("e-held")); err != nil {
		t.Fatal(err)
	}
	var webhookID string
	select {
	case webhookID = <-arrived:
	case <-ctx.Done():
		t.Fatal("the delivery never arrived")
	}

	p.signal(syscall.SIGINT)
	p.waitLog(20*time.Second, "for 1 in-flight deliveries")
	if !p.running() {
		t.Fatal("webhookd did not wait for its in-flight delivery")
	}
	p.signal(syscall.SIGINT)
	if code := p.exitCode(10 * time.Second); code != 128+int(syscall.SIGINT) {
		t.Fatalf("exit code %d after a second SIGINT, want %d", code, 128+int(syscall.SIGINT))
	}

	// Handed back, not lost: the next start delivers it again, with the same webhook-id.
	mu.Lock()
	hold = false
	mu.Unlock()
	args2, _, httpAddr2 := standaloneArgs(t, filepath.Join(dir, "data"), "--config", cfg, "--allow-private-networks")
	p2 := startProc(t, args2...)
	waitReady(t, httpAddr2)
	select {
	case again := <-arrived:
		if again != webhookID {
			t.Errorf("redelivered with webhook-id %q, want %q", again, webhookID)
		}
	case <-ctx.Done():
		t.Fatal("the handed-back delivery was not delivered after the restart")
	}
	p2.signal(syscall.SIGTERM)
	if code := p2.exitCode(40 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
}

// TestStartWithoutDefinitionsSaysHowToAddThem: a first start with nothing configured tells
// the operator what to do next.
func TestStartWithoutDefinitionsSaysHowToAddThem(t *testing.T) {
	skipShort(t)
	args, _, httpAddr := standaloneArgs(t, filepath.Join(t.TempDir(), "data"))
	p := startProc(t, args...)
	waitReady(t, httpAddr)
	p.waitLog(5*time.Second, "webhookctl apply")
	p.waitLog(5*time.Second, "--config")
	p.signal(syscall.SIGTERM)
	if code := p.exitCode(40 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
}

// TestStandaloneConsoleAdmin: standalone without --console-users, the first start creates the
// console's user admin, writes its password to a file only its owner reads and logs where,
// never the password; the password signs in, and the next start keeps it.
func TestStandaloneConsoleAdmin(t *testing.T) {
	skipShort(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	consoleAddr := freeAddr(t)
	args, _, httpAddr := standaloneArgs(t, dataDir, "--console-addr", consoleAddr)
	p := startProc(t, args...)
	waitReady(t, httpAddr)
	path := filepath.Join(dataDir, "console-admin-password")
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v, mode %v, want 0600", path, err, fi.Mode())
	}
	b, _ := os.ReadFile(path)
	password := strings.TrimSpace(string(b))
	p.waitLog(5*time.Second, "console="+consoleAddr)
	if out := p.log.String(); !strings.Contains(out, path) || strings.Contains(out, password) {
		t.Fatalf("the log does not name %s, or shows the password:\n%s", path, out)
	}

	signIn := func(user, pw string) int {
		form := url.Values{"user": {user}, "password": {pw}}
		req, _ := http.NewRequest(http.MethodPost, "http://"+consoleAddr+"/sign-in", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := signIn("admin", password); code != http.StatusSeeOther {
		t.Errorf("admin with the generated password: status %d, want 303", code)
	}
	if code := signIn("admin", "guess"); code != http.StatusUnauthorized {
		t.Errorf("admin with a wrong password: status %d, want 401", code)
	}
	p.signal(syscall.SIGTERM)
	if code := p.exitCode(40 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}

	args2, _, httpAddr2 := standaloneArgs(t, dataDir, "--console-addr", consoleAddr)
	p2 := startProc(t, args2...)
	waitReady(t, httpAddr2)
	if b2, _ := os.ReadFile(path); string(b2) != string(b) {
		t.Error("the second start changed the password")
	}
	if code := signIn("admin", password); code != http.StatusSeeOther {
		t.Errorf("admin after a restart: status %d, want 303", code)
	}
	p2.signal(syscall.SIGTERM)
	if code := p2.exitCode(40 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
}
