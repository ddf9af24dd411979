package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// Garbage collector settings. The heap of a server like this one is
// mostly long-lived (series, postings, the scrape caches), so with Go's
// default GOGC=100 the process sits at up to twice its live heap between
// collections. The configuration's runtime.gogc (75 unless the GOGC
// environment variable says otherwise, as in Prometheus) trades a little
// collection CPU for less headroom, and --auto-gomemlimit makes the
// collector work harder before the process reaches its container's memory
// limit instead of being killed at it.

// applyGoGC sets the collector's target from the configuration in force.
// Reloads apply it again, so it can be changed without a restart.
func applyGoGC(gogc int, logger *slog.Logger) {
	old := debug.SetGCPercent(gogc)
	if old != gogc {
		logger.Info("Updated GOGC", "old", old, "new", gogc)
	}
}

// memLimitFiles are where the memory limit of the process' cgroup is
// read, cgroup v2 first. Tests point them elsewhere.
var memLimitFiles = struct {
	cgroupV2, cgroupV1, meminfo string
}{
	cgroupV2: "/sys/fs/cgroup/memory.max",
	cgroupV1: "/sys/fs/cgroup/memory/memory.limit_in_bytes",
	meminfo:  "/proc/meminfo",
}

// errNoMemLimit means no limit could be read from any source.
var errNoMemLimit = errors.New("no cgroup memory limit and no MemTotal in /proc/meminfo")

// detectMemLimit returns the memory the process may use: its cgroup's
// limit when there is one, else the machine's memory, and where it was
// read.
func detectMemLimit() (int64, string, error) {
	for _, f := range []string{memLimitFiles.cgroupV2, memLimitFiles.cgroupV1} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		s := strings.TrimSpace(string(b))
		if s == "max" {
			continue // cgroup without a limit
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, f, fmt.Errorf("reading the memory limit in %s: %w", f, err)
		}
		// cgroup v1 reports "no limit" as a huge page-aligned number.
		if n > 0 && n < math.MaxInt64/2 {
			return n, f, nil
		}
	}
	b, err := os.ReadFile(memLimitFiles.meminfo)
	if err != nil {
		return 0, "", errNoMemLimit
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, memLimitFiles.meminfo, fmt.Errorf("unexpected MemTotal line in %s: %q", memLimitFiles.meminfo, sc.Text())
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil || kb <= 0 {
			return 0, memLimitFiles.meminfo, fmt.Errorf("unexpected MemTotal in %s: %q", memLimitFiles.meminfo, fields[0])
		}
		return kb << 10, memLimitFiles.meminfo, nil
	}
	return 0, "", errNoMemLimit
}

// setAutoMemLimit sets the runtime's soft memory limit to ratio times the
// detected limit. An explicit GOMEMLIMIT in the environment wins.
func setAutoMemLimit(ratio float64, logger *slog.Logger) {
	if env := os.Getenv("GOMEMLIMIT"); env != "" {
		logger.Info("GOMEMLIMIT is set in the environment; --auto-gomemlimit leaves it alone", "GOMEMLIMIT", env)
		return
	}
	limit, from, err := detectMemLimit()
	if err != nil {
		logger.Warn("Could not set GOMEMLIMIT automatically", "err", err)
		return
	}
	set := int64(float64(limit) * ratio)
	debug.SetMemoryLimit(set)
	logger.Info("Set GOMEMLIMIT from the memory limit", "source", from, "limit_bytes", limit, "ratio", ratio, "GOMEMLIMIT_bytes", set)
}
