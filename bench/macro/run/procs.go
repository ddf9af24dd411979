package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a child process the runner started and must stop.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
	err  error // set when done is closed
}

// procs is every child started, in start order. stopAll stops them in
// reverse order, by PID.
var (
	procsMu sync.Mutex
	procs   []*proc
)

// startProc starts bin with args, output to logPath. The child is put in
// its own process group (a Ctrl-C on the terminal reaches only the runner,
// which then stops the children in order) and gets SIGKILL should the
// runner die without cleaning up (Pdeathsig).
func startProc(name, logPath, bin string, args ...string) (*proc, error) {
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: lf, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		lf.Close()
		close(p.done)
	}()
	procsMu.Lock()
	procs = append(procs, p)
	procsMu.Unlock()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the PID, waits up to grace, then sends SIGKILL and
// waits for the exit (Wait reaps it, so no zombie is left).
func (p *proc) stop(grace time.Duration) {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return
	case <-time.After(grace):
	}
	fmt.Fprintf(os.Stderr, "run: %s (pid %d) ignored SIGTERM for %v; sending SIGKILL\n", p.name, p.pid(), grace)
	_ = p.cmd.Process.Kill()
	<-p.done
}

// stopAll stops every child in reverse start order and reports any that
// is still there afterwards.
func stopAll() {
	procsMu.Lock()
	ps := append([]*proc(nil), procs...)
	procs = nil
	procsMu.Unlock()
	for i := len(ps) - 1; i >= 0; i-- {
		ps[i].stop(20 * time.Second)
	}
	for _, p := range ps {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", p.pid())); err == nil {
			// The PID may have been reused by an unrelated process; only
			// report, never signal a PID we no longer own.
			if st, _ := readStat(p.pid()); st.comm != "" && strings.Contains(p.cmd.Path, st.comm) {
				fmt.Fprintf(os.Stderr, "run: warning: %s (pid %d) is still running\n", p.name, p.pid())
			}
		}
	}
}

// clkTck is USER_HZ, the unit of utime and stime in /proc/<pid>/stat.
var clkTck = func() float64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if v, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64); err == nil && v > 0 {
			return v
		}
	}
	return 100
}()

type procStat struct {
	comm    string
	cpuSec  float64 // utime+stime
	threads int
}

// readStat reads /proc/<pid>/stat: utime and stime (fields 14 and 15) and
// the thread count (field 20). comm may contain spaces and parentheses, so
// fields are counted from the last ')'.
func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return procStat{}, errors.New("malformed stat")
	}
	f := strings.Fields(string(b[end+1:]))
	// f[0] is field 3 (state); field n is f[n-3].
	if len(f) < 18 {
		return procStat{}, errors.New("short stat")
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	th, _ := strconv.Atoi(f[17])
	return procStat{comm: string(b[open+1 : end]), cpuSec: (ut + st) / clkTck, threads: th}, nil
}

// readMem returns VmRSS and VmHWM in bytes from /proc/<pid>/status.
func readMem(pid int) (rss, hwm int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		var dst *int64
		switch {
		case strings.HasPrefix(line, "VmRSS:"):
			dst = &rss
		case strings.HasPrefix(line, "VmHWM:"):
			dst = &hwm
		default:
			continue
		}
		fs := strings.Fields(line)
		if len(fs) >= 2 {
			kb, _ := strconv.ParseInt(fs[1], 10, 64)
			*dst = kb * 1024
		}
	}
	return rss, hwm, sc.Err()
}

// DiskUsage is the size of a data directory's regular files.
type DiskUsage struct {
	// Allocated is what du reports: 512-byte blocks actually allocated.
	Allocated int64 `json:"allocated_bytes"`
	// Apparent is the sum of file sizes.
	Apparent int64 `json:"apparent_bytes"`
	// ByTop splits Allocated by the first path element (wal, chunks_head,
	// data, indexdb, ...).
	ByTop map[string]int64 `json:"allocated_by_top_dir"`
}

func diskUsage(dir string) (DiskUsage, error) {
	u := DiskUsage{ByTop: map[string]int64{}}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while walking (merges, WAL truncation)
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		st, ok := info.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		top, _, _ := strings.Cut(rel, string(filepath.Separator))
		u.Allocated += st.Blocks * 512
		u.Apparent += info.Size()
		u.ByTop[top] += st.Blocks * 512
		return nil
	})
	return u, err
}
