package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat: 100 on every Linux
// architecture Go supports.
const clockTicks = 100

// procStats are what the benchmark reports of a process.
type procStats struct {
	CPU     time.Duration // user and system time so far
	RSS     int64         // VmRSS, bytes
	PeakRSS int64         // VmHWM, bytes
}

// readProcStats reads /proc/<pid>/stat and /proc/<pid>/status.
func readProcStats(pid int) (procStats, error) {
	statPath := fmt.Sprintf("/proc/%d/stat", pid)
	stat, err := os.ReadFile(statPath)
	if err != nil {
		return procStats{}, fmt.Errorf("read %s: %w", statPath, err)
	}
	cpu, err := parseStatCPU(stat)
	if err != nil {
		return procStats{}, fmt.Errorf("parse %s: %w", statPath, err)
	}
	statusPath := fmt.Sprintf("/proc/%d/status", pid)
	status, err := os.ReadFile(statusPath)
	if err != nil {
		return procStats{}, fmt.Errorf("read %s: %w", statusPath, err)
	}
	hwm, err := parseStatusKB(status, "VmHWM")
	if err != nil {
		return procStats{}, fmt.Errorf("parse %s: %w", statusPath, err)
	}
	rss, err := parseStatusKB(status, "VmRSS")
	if err != nil {
		return procStats{}, fmt.Errorf("parse %s: %w", statusPath, err)
	}
	return procStats{CPU: cpu, RSS: rss * 1024, PeakRSS: hwm * 1024}, nil
}

// parseStatCPU returns utime+stime of a /proc/<pid>/stat line. The command name (field 2) is
// in parentheses and may itself hold spaces and parentheses, so fields are counted after the
// last ')'.
func parseStatCPU(stat []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("no ')' after the command name in %q", stat)
	}
	fields := strings.Fields(string(stat[i+1:]))
	// fields[0] is field 3 (state), so utime (field 14) and stime (field 15) are 11 and 12.
	if len(fields) < 13 {
		return 0, fmt.Errorf("%d fields after the command name, want at least 13", len(fields))
	}
	var ticks int64
	for _, f := range fields[11:13] {
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("utime or stime %q: %w", f, err)
		}
		ticks += v
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// parseStatusKB returns the value of a "Name:   123 kB" line of /proc/<pid>/status.
func parseStatusKB(status []byte, name string) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != name {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("%s: %q is not \"<n> kB\"", name, v)
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	return 0, fmt.Errorf("no %s line", name)
}

// loadAverage reads the 1, 5 and 15 minute load averages of /proc/loadavg.
func loadAverage() ([3]float64, error) {
	var la [3]float64
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return la, fmt.Errorf("read /proc/loadavg: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return la, fmt.Errorf("parse /proc/loadavg %q: want at least 3 fields", b)
	}
	for i := range la {
		if la[i], err = strconv.ParseFloat(f[i], 64); err != nil {
			return la, fmt.Errorf("parse /proc/loadavg %q: %w", b, err)
		}
	}
	return la, nil
}

// machineBusy is the CPU time all cores spent busy (not idle, not waiting for I/O) since boot,
// from the first line of /proc/stat.
func machineBusy() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, fmt.Errorf("read /proc/stat: %w", err)
	}
	busy, err := parseMachineBusy(b)
	if err != nil {
		return 0, fmt.Errorf("parse /proc/stat: %w", err)
	}
	return busy, nil
}

func parseMachineBusy(stat []byte) (time.Duration, error) {
	line, _, _ := bytes.Cut(stat, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 6 || f[0] != "cpu" {
		return 0, fmt.Errorf("first line %q is not the cpu total", line)
	}
	var ticks int64
	for i, v := range f[1:] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("cpu field %d %q: %w", i+1, v, err)
		}
		// user nice system idle iowait irq softirq steal guest guest_nice; guest time is
		// already in user and nice.
		switch i {
		case 3, 4, 8, 9: // idle, iowait, guest, guest_nice
		default:
			ticks += n
		}
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}
