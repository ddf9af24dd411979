//go:build browser

// Helpers of the browser tests (browser_test.go): building and running the
// vigil binary and Debian's node exporter as processes on loopback ports,
// the textfile that gives the node exporter a hundred gauges, and driving
// Debian's chromium headless through chromedp while recording every
// console error, uncaught exception and error log entry of the page.

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
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

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

const (
	brChromiumBin     = "/usr/bin/chromium"
	brNodeExporterBin = "/usr/bin/prometheus-node-exporter"
)

// brRequire fails the test under CI (CI=true) and skips it elsewhere when
// a binary is missing, naming the Debian package that has it.
func brRequire(t *testing.T, bins map[string]string) {
	t.Helper()
	var missing []string
	for bin, pkg := range bins {
		if fi, err := os.Stat(bin); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			missing = append(missing, fmt.Sprintf("%s (Debian package %s)", bin, pkg))
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := "missing " + strings.Join(missing, ", ") + "; install with apt-get as root"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// brBuildVigil builds the vigil binary into dir from the module root, so
// the test drives the UI that is embedded in the binary.
func brBuildVigil(t *testing.T, dir string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build vigil: %v", err)
	}
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			t.Fatal("no go.mod above the test's directory")
		}
		root = parent
	}
	bin := filepath.Join(dir, "vigil")
	cmd := exec.Command(goBin, "build", "-o", bin, "./cmd/vigil")
	cmd.Dir = root
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/vigil: %v\n%s", err, out)
	}
	t.Logf("built %s in %v", bin, time.Since(start).Round(time.Millisecond))
	return bin
}

// brProc is a process of the test in its own process group.
type brProc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	waitErr error
}

func (p *brProc) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

func (p *brProc) log() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func (p *brProc) logTail() string {
	s := p.log()
	if len(s) > 6000 {
		s = s[len(s)-6000:]
	}
	return s
}

// brLaunch starts bin with its output in a log file in dir and ends its
// process group when the test ends (the parent death signal covers a
// test binary that is killed before its cleanup).
func brLaunch(t *testing.T, name, dir, bin string, args ...string) *brProc {
	t.Helper()
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("starting %s: %v", name, err)
	}
	p := &brProc{name: name, cmd: cmd, logPath: logf.Name(), exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logf.Close()
		close(p.exited)
	}()
	t.Cleanup(func() {
		if !p.hasExited() {
			pgid := cmd.Process.Pid
			_ = syscall.Kill(-pgid, syscall.SIGTERM)
			select {
			case <-p.exited:
			case <-time.After(10 * time.Second):
				_ = syscall.Kill(-pgid, syscall.SIGKILL)
				<-p.exited
			}
		}
		if t.Failed() {
			t.Logf("--- %s log (tail) ---\n%s", name, p.logTail())
		}
	})
	return p
}

// brFreePort returns a port that was free on 127.0.0.1 a moment ago; the
// starters retry when another process took it in between.
func brFreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

var brHTTP = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}

func brGet(u string) (int, string, error) {
	resp, err := brHTTP.Get(u)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// brStartNodeExporter starts the node exporter with a few collectors and
// its textfile collector reading textDir, and returns its address.
func brStartNodeExporter(t *testing.T, textDir string) string {
	t.Helper()
	for attempt := 1; ; attempt++ {
		addr := "127.0.0.1:" + strconv.Itoa(brFreePort(t))
		p := brLaunch(t, fmt.Sprintf("node-exporter-%d", attempt), t.TempDir(), brNodeExporterBin,
			"--web.listen-address="+addr,
			// A few collectors keep each scrape quick at a 1s interval
			// on a busy machine; loadavg serves node_load1, which the
			// completion test types.
			"--collector.disable-defaults",
			"--collector.cpu", "--collector.loadavg", "--collector.meminfo", "--collector.uname",
			"--collector.textfile", "--collector.textfile.directory="+textDir,
			"--log.level=warn")
		deadline := time.Now().Add(30 * time.Second)
		for {
			code, body, err := brGet("http://" + addr + "/metrics")
			if err == nil && code == http.StatusOK && strings.Contains(body, "vigil_browser_gauge") {
				return addr
			}
			if p.hasExited() {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node exporter at %s not serving the textfile gauges after 30s (last: %d %v)", addr, code, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if attempt < 3 && strings.Contains(p.log(), "address already in use") {
			continue
		}
		t.Fatalf("node exporter exited (%v):\n%s", p.waitErr, p.logTail())
	}
}

// brGaugeSeries is how many gauges the textfile holds: the graph timing
// draws all of them.
const brGaugeSeries = 100

// brWriteGauges writes the textfile of the gauges for time now. Each
// series is a slow sine with its own phase and offset, so a graph of them
// has distinct, moving lines. The file is renamed into place because the
// node exporter may read it at any moment.
func brWriteGauges(dir string, now time.Time) error {
	var b strings.Builder
	b.WriteString("# HELP vigil_browser_gauge A gauge per series for the browser test's graph timing.\n")
	b.WriteString("# TYPE vigil_browser_gauge gauge\n")
	sec := float64(now.UnixMilli()) / 1000
	for i := range brGaugeSeries {
		phase := 2 * math.Pi * float64(i) / brGaugeSeries
		v := float64(i) + 5*math.Sin(2*math.Pi*sec/40+phase)
		fmt.Fprintf(&b, "vigil_browser_gauge{series=\"%03d\"} %.4f\n", i, v)
	}
	tmp := filepath.Join(dir, ".gauges.prom.tmp")
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, "gauges.prom"))
}

// brKeepWritingGauges rewrites the textfile every 500ms until the test
// ends.
func brKeepWritingGauges(t *testing.T, dir string) {
	t.Helper()
	if err := brWriteGauges(dir, time.Now()); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				if err := brWriteGauges(dir, now); err != nil {
					t.Errorf("writing the gauges' textfile: %v", err)
					return
				}
			}
		}
	}()
	t.Cleanup(func() { close(done); <-stopped })
}

// brVigil is the running server.
type brVigil struct {
	proc *brProc
	base string // http://127.0.0.1:port plus the route prefix, if any
}

// brStartVigil starts the server on a port the kernel picks (read back
// from its JSON log) with a fresh data directory and waits until it is
// ready. A --web.route-prefix among extra becomes part of the base URL.
func brStartVigil(t *testing.T, bin, config string, extra ...string) *brVigil {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append([]string{
		"--web.listen-address=127.0.0.1:0",
		"--log.format=json",
		"--config.file=" + cfg,
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
	}, extra...)
	prefix := ""
	for _, a := range extra {
		if p, ok := strings.CutPrefix(a, "--web.route-prefix="); ok {
			prefix = strings.TrimRight(p, "/")
		}
	}
	v := &brVigil{proc: brLaunch(t, "vigil", dir, bin, args...)}
	deadline := time.Now().Add(30 * time.Second)
	for v.base == "" {
		sc := bufio.NewScanner(strings.NewReader(v.proc.log()))
		for sc.Scan() {
			var e struct {
				Msg     string `json:"msg"`
				Address string `json:"address"`
			}
			if json.Unmarshal(sc.Bytes(), &e) == nil && e.Msg == "Listening on" && e.Address != "" {
				v.base = "http://" + e.Address + prefix
			}
		}
		if v.base != "" {
			break
		}
		if v.proc.hasExited() {
			t.Fatalf("vigil exited before listening (%v):\n%s", v.proc.waitErr, v.proc.logTail())
		}
		if time.Now().After(deadline) {
			t.Fatalf("vigil did not log its listen address within 30s:\n%s", v.proc.logTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for {
		if code, _, err := brGet(v.base + "/-/ready"); err == nil && code == http.StatusOK {
			return v
		}
		if v.proc.hasExited() {
			t.Fatalf("vigil exited before it was ready (%v):\n%s", v.proc.waitErr, v.proc.logTail())
		}
		if time.Now().After(deadline) {
			t.Fatalf("vigil not ready within 30s:\n%s", v.proc.logTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// brSample is one series of an instant vector.
type brSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// query runs an instant query through the HTTP API.
func (v *brVigil) query(q string) ([]brSample, error) {
	code, body, err := brGet(v.base + "/api/v1/query?" + url.Values{"query": {q}}.Encode())
	if err != nil {
		return nil, err
	}
	var env struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string     `json:"resultType"`
			Result     []brSample `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		return nil, fmt.Errorf("HTTP %d, body %.200q: %w", code, body, err)
	}
	if env.Status != "success" {
		return nil, fmt.Errorf("query %q: %s", q, env.Error)
	}
	if env.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %q: result type %q, want vector", q, env.Data.ResultType)
	}
	return env.Data.Result, nil
}

// waitQuery polls an instant query until ok accepts its result.
func (v *brVigil) waitQuery(t *testing.T, q string, limit time.Duration, ok func([]brSample) bool) []brSample {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		res, err := v.query(q)
		if err == nil && ok(res) {
			return res
		}
		if time.Now().After(deadline) {
			t.Fatalf("query %q: no acceptable result within %v (last: %v, %v)", q, limit, res, err)
		}
		if v.proc.hasExited() {
			t.Fatalf("vigil exited (%v)", v.proc.waitErr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// brProblem is a console error, an uncaught exception or an error log
// entry of the page.
type brProblem struct {
	page string
	text string
}

// brBrowser is a headless chromium with one tab, and the page problems
// seen so far.
type brBrowser struct {
	ctx context.Context

	mu       sync.Mutex
	page     string // the page the test is on, to attribute problems
	problems []brProblem
}

// brStartBrowser launches chromium with a fresh profile and starts
// recording the tab's problems.
func brStartBrowser(t *testing.T) *brBrowser {
	t.Helper()
	// Not t.TempDir: chromium's helpers may still write into the profile
	// just after the browser exits, which would fail t.TempDir's removal.
	profile, err := os.MkdirTemp("", "vigil-browser-profile-")
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(t.TempDir(), "chromium.log")
	chromeLog, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(brChromiumBin),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("force-color-profile", "srgb"),
		// A headless tab counts as hidden; without these chromium
		// throttles its timers and frames, and input events wait for a
		// frame.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1400, 1000),
		chromedp.CombinedOutput(chromeLog),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	b := &brBrowser{ctx: ctx}
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
		chromeLog.Close()
		if t.Failed() {
			if out, err := os.ReadFile(logPath); err == nil && len(out) > 0 {
				if len(out) > 4000 {
					out = out[len(out)-4000:]
				}
				t.Logf("--- chromium output (tail) ---\n%s", out)
			}
		}
		for range 50 {
			if err := os.RemoveAll(profile); err == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	start := time.Now()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", brChromiumBin, err)
	}
	t.Logf("chromium started in %v", time.Since(start).Round(time.Millisecond))
	if err := chromedp.Listen(ctx, b.record); err != nil {
		t.Fatal(err)
	}
	return b
}

// newTab opens another tab of the same browser, with its own record of
// problems; it closes when the test ends.
func (b *brBrowser) newTab(t *testing.T) *brBrowser {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	t.Cleanup(cancel)
	nb := &brBrowser{ctx: ctx}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	if err := chromedp.Listen(ctx, nb.record); err != nil {
		t.Fatal(err)
	}
	return nb
}

// record runs on chromedp's event loop, so it only appends under a lock.
func (b *brBrowser) record(ev any) {
	var text string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeAssert {
			return
		}
		var args []string
		for _, a := range ev.Args {
			switch {
			case a.Description != "":
				args = append(args, a.Description)
			case len(a.Value) > 0:
				args = append(args, string(a.Value))
			default:
				args = append(args, string(a.Type))
			}
		}
		text = "console." + string(ev.Type) + ": " + strings.Join(args, " ")
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text = "uncaught exception: " + d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			text += " " + d.Exception.Description
		}
		text += fmt.Sprintf(" (%s:%d:%d)", d.URL, d.LineNumber, d.ColumnNumber)
	case *cdplog.EventEntryAdded:
		if ev.Entry.Level != cdplog.EntryLevelError {
			return
		}
		text = fmt.Sprintf("log entry (%s): %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
	default:
		return
	}
	b.mu.Lock()
	b.problems = append(b.problems, brProblem{page: b.page, text: text})
	b.mu.Unlock()
}

// setPage names the page that later problems belong to.
func (b *brBrowser) setPage(name string) {
	b.mu.Lock()
	b.page = name
	b.mu.Unlock()
}

// problemsOf returns the problems recorded while on page name.
func (b *brBrowser) problemsOf(name string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, p := range b.problems {
		if p.page == name {
			out = append(out, p.text)
		}
	}
	return out
}

// do runs actions with a time bound, so a selector that never matches
// fails the test instead of hanging it.
func (b *brBrowser) do(limit time.Duration, actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(b.ctx, limit)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

// brRun runs one action that returns a value, with a time bound.
func brRun[T any](b *brBrowser, limit time.Duration, a chromedp.Action[T]) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, limit)
	defer cancel()
	return chromedp.Run(ctx, a)
}

// brEval evaluates a JavaScript expression and decodes its value.
func brEval[T any](t *testing.T, b *brBrowser, expr string) T {
	t.Helper()
	v, err := brRun(b, 20*time.Second, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// waitJS polls a JavaScript predicate until it is truthy.
func (b *brBrowser) waitJS(limit time.Duration, expr string) error {
	_, err := brRun(b, limit+5*time.Second, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(limit), chromedp.WithPollingInterval(50*time.Millisecond)))
	if err != nil {
		return fmt.Errorf("waiting for %s: %w", expr, err)
	}
	return nil
}

// screenshot saves a PNG of the whole page.
func (b *brBrowser) screenshot(t *testing.T, dir, name string) {
	t.Helper()
	png, err := brRun(b, 30*time.Second, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// brScreensDir makes the directory of the screenshots. It is kept after the
// test so that a person can look at them.
func brScreensDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "vigil-browser-screens-")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}
