package main

import (
	"os"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	// A command name with spaces and a ')' must not shift the fields; utime 250, stime 130.
	stat := []byte("4242 (web hookd) x) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 130 0 0 20 0 12 0 9999 123456789 3000 18446744073709551615\n")
	got, err := parseStatCPU(stat)
	if err != nil {
		t.Fatal(err)
	}
	if want := 3800 * time.Millisecond; got != want {
		t.Errorf("parseStatCPU = %v, want %v", got, want)
	}
	for _, bad := range []string{"no parenthesis", "1 (x) S 1 2", "1 (x) S 1 2 3 4 5 6 7 8 9 10 ten 12"} {
		if _, err := parseStatCPU([]byte(bad)); err == nil {
			t.Errorf("parseStatCPU(%q): no error", bad)
		}
	}
}

func TestParseStatusKB(t *testing.T) {
	status := []byte("Name:\twebhookd\nVmPeak:\t  900000 kB\nVmHWM:\t  119808 kB\nVmRSS:\t  100000 kB\n")
	got, err := parseStatusKB(status, "VmHWM")
	if err != nil || got != 119808 {
		t.Errorf("parseStatusKB(VmHWM) = %d, %v; want 119808", got, err)
	}
	if _, err := parseStatusKB(status, "VmSwap"); err == nil {
		t.Error("parseStatusKB(VmSwap): no error for a missing line")
	}
	if _, err := parseStatusKB([]byte("VmHWM:\t12 pages\n"), "VmHWM"); err == nil {
		t.Error("parseStatusKB: no error for a unit other than kB")
	}
}

func TestReadProcStatsOfThisProcess(t *testing.T) {
	st, err := readProcStats(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.PeakRSS < 1<<20 {
		t.Errorf("peak RSS %d bytes, want at least 1 MiB for a Go test binary", st.PeakRSS)
	}
	if _, err := loadAverage(); err != nil {
		t.Error(err)
	}
}

func TestParseMachineBusy(t *testing.T) {
	// user 100, nice 10, system 50, idle 900, iowait 40, irq 5, softirq 5, steal 0, guest 7, guest_nice 0
	got, err := parseMachineBusy([]byte("cpu  100 10 50 900 40 5 5 0 7 0\ncpu0 50 5 25 450 20 2 3 0 0 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := 1700 * time.Millisecond; got != want {
		t.Errorf("parseMachineBusy = %v, want %v", got, want)
	}
	if _, err := parseMachineBusy([]byte("intr 1 2 3\n")); err == nil {
		t.Error("parseMachineBusy: no error for a first line that is not cpu")
	}
	if _, err := machineBusy(); err != nil {
		t.Error(err)
	}
}
