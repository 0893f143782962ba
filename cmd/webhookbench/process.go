package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// child is a process the benchmark started. It is stopped with stop, and, should the
// benchmark itself die, by the kernel (Pdeathsig).
type child struct {
	name    string
	cmd     *exec.Cmd
	logPath string    // its standard error (and output, unless taken), for the error of a failed run
	started time.Time // just before it was started
	done    chan struct{}
	err     error // of Wait, once done is closed
}

// startChild starts path with args. Its standard error goes to logPath; stdout, when not nil,
// receives its standard output (else it goes to logPath too). onParentDeath is the signal the
// kernel sends it if the benchmark dies without stopping it.
func startChild(name, path string, args, env []string, logPath string, stdin io.Reader, stdout io.Writer, onParentDeath syscall.Signal) (*child, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("start %s: create log %s: %w", name, logPath, err)
	}
	cmd := exec.Command(path, args...)
	cmd.Env = env
	cmd.Stdin = stdin
	cmd.Stderr = logf
	cmd.Stdout = logf
	if stdout != nil {
		cmd.Stdout = stdout
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: onParentDeath}
	started := time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s (%s): %w", name, path, err)
	}
	c := &child{name: name, cmd: cmd, logPath: logPath, started: started, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		logf.Close()
		close(c.done)
	}()
	return c, nil
}

// pid is the child's process id.
func (c *child) pid() int { return c.cmd.Process.Pid }

// exited is an error if the child has stopped, naming how and quoting its log.
func (c *child) exited() error {
	select {
	case <-c.done:
		return fmt.Errorf("%s exited (%v); last lines of %s:\n%s", c.name, c.err, c.logPath, tail(c.logPath, 15))
	default:
		return nil
	}
}

// stop sends SIGTERM, waits up to grace for the child to exit, then kills it. It returns an
// error when the child did not exit cleanly on its own.
func (c *child) stop(grace time.Duration) error {
	select {
	case <-c.done:
		return c.exitErr()
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-c.done:
		return c.exitErr()
	case <-t.C:
		_ = c.cmd.Process.Kill()
		<-c.done
		return fmt.Errorf("stop %s: still running %s after SIGTERM, killed", c.name, grace)
	}
}

func (c *child) exitErr() error {
	if c.err != nil {
		return fmt.Errorf("stop %s: %w", c.name, c.err)
	}
	return nil
}

// tail returns the last n lines of a file, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	lines := strings.Split(string(bytes.TrimRight(b, "\n")), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// childEnv is the benchmark's environment without WEBHOOKD_* variables, so that webhookd runs
// with its defaults whatever the caller's shell has set.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WEBHOOKD_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// pipe is os.Pipe with an error that says what it was for.
func pipe() (*os.File, *os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("create a pipe for the receiver: %w", err)
	}
	return r, w, nil
}
