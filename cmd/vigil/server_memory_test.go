package main

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestDetectMemLimit(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	saved := memLimitFiles
	t.Cleanup(func() { memLimitFiles = saved })
	meminfo := write("meminfo", "MemTotal:       24684084 kB\nMemFree:        1 kB\n")
	missing := filepath.Join(dir, "missing")

	for _, c := range []struct {
		name           string
		v2, v1, info   string
		want           int64
		wantFrom, fail string
	}{
		{name: "cgroup v2 limit", v2: write("v2", "1073741824\n"), v1: missing, info: meminfo, want: 1 << 30, wantFrom: "v2"},
		{name: "cgroup v2 without limit", v2: write("v2max", "max\n"), v1: missing, info: meminfo, want: 24684084 << 10, wantFrom: "meminfo"},
		{name: "cgroup v1 limit", v2: missing, v1: write("v1", "536870912\n"), info: meminfo, want: 512 << 20, wantFrom: "v1"},
		{name: "cgroup v1 without limit", v2: missing, v1: write("v1huge", "9223372036854771712\n"), info: meminfo, want: 24684084 << 10, wantFrom: "meminfo"},
		{name: "no cgroup", v2: missing, v1: missing, info: meminfo, want: 24684084 << 10, wantFrom: "meminfo"},
		{name: "garbage limit", v2: write("bad", "lots\n"), v1: missing, info: meminfo, fail: "reading the memory limit in"},
		{name: "garbage meminfo", v2: missing, v1: missing, info: write("badinfo", "MemTotal: 12 MB\n"), fail: "unexpected MemTotal line"},
		{name: "nothing", v2: missing, v1: missing, info: missing, fail: "no cgroup memory limit"},
	} {
		memLimitFiles.cgroupV2, memLimitFiles.cgroupV1, memLimitFiles.meminfo = c.v2, c.v1, c.info
		got, from, err := detectMemLimit()
		if c.fail != "" {
			if err == nil || !strings.Contains(err.Error(), c.fail) {
				t.Errorf("%s: err = %v, want one containing %q", c.name, err, c.fail)
			}
			continue
		}
		if err != nil || got != c.want || filepath.Base(from) != c.wantFrom {
			t.Errorf("%s: %d from %s (err %v), want %d from %s", c.name, got, from, err, c.want, c.wantFrom)
		}
	}
}

func TestAutoMemLimitAndGoGC(t *testing.T) {
	saved := memLimitFiles
	oldLimit := debug.SetMemoryLimit(-1)
	oldGC := debug.SetGCPercent(100)
	t.Cleanup(func() {
		memLimitFiles = saved
		debug.SetMemoryLimit(oldLimit)
		debug.SetGCPercent(oldGC)
	})
	dir := t.TempDir()
	memLimitFiles.cgroupV2 = filepath.Join(dir, "memory.max")
	if err := os.WriteFile(memLimitFiles.cgroupV2, []byte("1000000000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	t.Setenv("GOMEMLIMIT", "")
	setAutoMemLimit(0.5, logger)
	if got := debug.SetMemoryLimit(-1); got != 500000000 {
		t.Errorf("GOMEMLIMIT = %d, want half the cgroup's limit", got)
	}
	// An explicit GOMEMLIMIT is left alone.
	debug.SetMemoryLimit(123 << 20)
	t.Setenv("GOMEMLIMIT", "123MiB")
	setAutoMemLimit(0.5, logger)
	if got := debug.SetMemoryLimit(-1); got != 123<<20 {
		t.Errorf("GOMEMLIMIT = %d, want the environment's", got)
	}

	applyGoGC(75, logger)
	if got := debug.SetGCPercent(75); got != 75 {
		t.Errorf("GOGC = %d, want 75", got)
	}
}

func TestAutoMemLimitRatioFlag(t *testing.T) {
	for _, r := range []float64{0, -0.5, 1.5} {
		f := &serverFlags{queryMaxConcurrency: 1, autoGoMemLimitRatio: r}
		if err := f.validate(); err == nil || !strings.Contains(err.Error(), "--auto-gomemlimit.ratio") {
			t.Errorf("ratio %v: err = %v", r, err)
		}
	}
	f := &serverFlags{queryMaxConcurrency: 1, autoGoMemLimitRatio: 1}
	if err := f.validate(); err != nil {
		t.Errorf("ratio 1: %v", err)
	}
}
