//go:build interop

// Helpers of the server interop tests (interop_server_test.go): building
// the vigil binary, running it and the real components from Debian's
// packages as processes in their own process groups on free loopback
// ports, running promtool, and reading the HTTP API with net/http.

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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
	"syscall"
	"testing"
	"time"
)

// The real components, from Debian's packages
// (.ci/install-server-interop.sh installs them).
const (
	iopPrometheusBin   = "/usr/bin/prometheus"
	iopPromtoolBin     = "/usr/bin/promtool"
	iopNodeExporterBin = "/usr/bin/prometheus-node-exporter"
)

var iopPackages = map[string]string{
	iopPrometheusBin:   "prometheus",
	iopPromtoolBin:     "prometheus",
	iopNodeExporterBin: "prometheus-node-exporter",
}

// iopRequireBinaries fails the test under CI (CI=true) and skips it
// elsewhere when one of bins is not installed, naming the package.
func iopRequireBinaries(t *testing.T, bins ...string) {
	t.Helper()
	var missing []string
	for _, b := range bins {
		if fi, err := os.Stat(b); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			missing = append(missing, fmt.Sprintf("%s (Debian package %s)", b, iopPackages[b]))
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := "missing " + strings.Join(missing, ", ") + "; run .ci/install-server-interop.sh as root"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// iopBuildVigil builds the vigil binary into dir, from the module root.
func iopBuildVigil(t *testing.T, dir string) string {
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

// iopFreePorts returns n distinct TCP ports that were free on 127.0.0.1 a
// moment ago. Another process may take one before it is used; starters
// retry on "address already in use".
func iopFreePorts(t *testing.T, n int) []int {
	t.Helper()
	var (
		ports []int
		lns   []net.Listener
	)
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// iopProc is a component running in its own process group.
type iopProc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{} // closed once Wait returned
	waitErr error
}

func (p *iopProc) pid() int { return p.cmd.Process.Pid }

// logTail returns the end of the process' output, for failure messages.
func (p *iopProc) logTail() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return err.Error()
	}
	if len(b) > 6000 {
		b = b[len(b)-6000:]
	}
	return string(b)
}

func (p *iopProc) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// stop ends the process group: SIGTERM, then SIGKILL after a grace
// period. It reports a process that needed SIGKILL and anything left in
// the group after the leader exited.
func (p *iopProc) stop() error {
	pgid := p.pid() // the leader's pid is the group's id (Setpgid)
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	var errs []error
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.exited
		errs = append(errs, fmt.Errorf("%s (pid %d) ignored SIGTERM for 10s and was killed", p.name, pgid))
	}
	if err := syscall.Kill(-pgid, 0); !errors.Is(err, syscall.ESRCH) {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		errs = append(errs, fmt.Errorf("%s: processes of group %d were still running after the leader exited", p.name, pgid))
	}
	return errors.Join(errs...)
}

// iopLaunch starts bin with args in a new process group, its output in a
// log file in dir, and stops the group when the test ends.
func iopLaunch(t *testing.T, name, dir, bin string, args []string) *iopProc {
	t.Helper()
	logf, err := os.CreateTemp(dir, name+"-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = dir
	// Own process group, so the whole group can be signalled; the parent
	// death signal ends the component should the test binary be killed
	// before its cleanup runs.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("starting %s: %v", name, err)
	}
	p := &iopProc{name: name, cmd: cmd, logPath: logf.Name(), exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logf.Close()
		close(p.exited)
	}()
	t.Cleanup(func() {
		if p.hasExited() {
			if t.Failed() {
				t.Logf("--- %s log (tail; exited: %v) ---\n%s", name, p.waitErr, p.logTail())
			}
			return
		}
		if err := p.stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("--- %s log (tail) ---\n%s", name, p.logTail())
		}
	})
	return p
}

// iopStart starts a component on nports free ports (args gets them) and
// polls ready every 50ms until it returns nil. When the process exits or
// times out and its log says the address was taken, the start is retried
// with new ports, at most three times.
func iopStart(t *testing.T, name, bin string, nports int, args func(dir string, ports []int) []string, ready func(ports []int) error) (*iopProc, []int) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		ports := iopFreePorts(t, nports)
		dir := t.TempDir()
		p := iopLaunch(t, name, dir, bin, args(dir, ports))
		err := iopWaitReady(p, 30*time.Second, func() error { return ready(ports) })
		if err == nil {
			return p, ports
		}
		tail := p.logTail()
		stopErr := p.stop()
		if attempt < 3 && strings.Contains(strings.ToLower(tail), "address already in use") {
			t.Logf("%s: port taken, retrying (%v)", name, err)
			continue
		}
		t.Fatalf("%s did not become ready: %v (stop: %v)\n--- %s log ---\n%s", name, err, stopErr, name, tail)
	}
}

func iopWaitReady(p *iopProc, limit time.Duration, ready func() error) error {
	deadline := time.Now().Add(limit)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		if p.hasExited() {
			return fmt.Errorf("exited (%v) before it was ready: %v", p.waitErr, err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %v", limit, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// iopHTTP is the client of every request the tests make. It never uses a
// proxy: everything runs on the loopback interface.
var iopHTTP = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}

// iopHTTPReady returns a check that GETs u and wants 200 and a body
// containing want.
func iopHTTPReady(u, want string) func() error {
	return func() error {
		code, body, err := iopDo(http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("%s: status %d", u, code)
		}
		if !strings.Contains(body, want) {
			return fmt.Errorf("%s: body lacks %q", u, want)
		}
		return nil
	}
}

// iopDo sends one request; form, when not nil, is sent as an
// application/x-www-form-urlencoded body.
func iopDo(method, u string, form url.Values) (int, string, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return 0, "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := iopHTTP.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	return resp.StatusCode, string(b), err
}

// iopEnvelope is the HTTP API's response envelope.
type iopEnvelope struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Warnings  []string        `json:"warnings"`
}

// iopAPI calls an API endpoint (path under the server's base URL, with
// the query string for GET) and decodes the envelope. It fails the test
// unless the answer is 200 with Content-Type application/json and status
// "success", and decodes data into out when out is not nil.
func iopAPI(t *testing.T, method, base, path string, form url.Values, out any) iopEnvelope {
	t.Helper()
	env, code, ctype, raw, err := iopAPIRaw(method, base, path, form)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if code != http.StatusOK || env.Status != "success" || !strings.HasPrefix(ctype, "application/json") {
		t.Fatalf("%s %s (form %v): HTTP %d, Content-Type %q, body %s", method, path, form, code, ctype, iopClip(raw))
	}
	if out != nil {
		if err := json.Unmarshal(env.Data, out); err != nil {
			t.Fatalf("%s %s: decoding data into %T: %v\n%s", method, path, out, err, iopClip(raw))
		}
	}
	return env
}

// iopAPIRaw is iopAPI without the checks.
func iopAPIRaw(method, base, path string, form url.Values) (env iopEnvelope, code int, ctype, raw string, err error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, base+path, body)
	if err != nil {
		return env, 0, "", "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := iopHTTP.Do(req)
	if err != nil {
		return env, 0, "", "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return env, resp.StatusCode, "", "", err
	}
	ctype = resp.Header.Get("Content-Type")
	if resp.StatusCode/100 == 2 || resp.StatusCode == 400 || resp.StatusCode == 422 {
		if err := json.Unmarshal(b, &env); err != nil {
			return env, resp.StatusCode, ctype, string(b), fmt.Errorf("HTTP %d, body is not an API envelope: %v: %s", resp.StatusCode, err, iopClip(string(b)))
		}
	}
	return env, resp.StatusCode, ctype, string(b), nil
}

func iopClip(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "…"
	}
	return s
}

// iopSample is one [t, "v"] pair of the API, decoded strictly: t must be
// a JSON number and v a JSON string.
type iopSample struct {
	T float64
	V float64
}

func (s *iopSample) UnmarshalJSON(b []byte) error {
	var pair []json.RawMessage
	if err := json.Unmarshal(b, &pair); err != nil {
		return err
	}
	if len(pair) != 2 {
		return fmt.Errorf("sample %s: want [t, \"v\"]", b)
	}
	if err := json.Unmarshal(pair[0], &s.T); err != nil {
		return fmt.Errorf("sample %s: timestamp is not a JSON number: %v", b, err)
	}
	var v string
	if err := json.Unmarshal(pair[1], &v); err != nil {
		return fmt.Errorf("sample %s: value is not a JSON string: %v", b, err)
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return fmt.Errorf("sample %s: %v", b, err)
	}
	s.V = f
	return nil
}

// iopMs is a sample's timestamp in milliseconds.
func (s iopSample) ms() int64 { return int64(math.Round(s.T * 1000)) }

type iopVectorElem struct {
	Metric map[string]string `json:"metric"`
	Value  iopSample         `json:"value"`
}

type iopMatrixElem struct {
	Metric map[string]string `json:"metric"`
	Values []iopSample       `json:"values"`
}

type iopQueryData struct {
	ResultType string          `json:"resultType"`
	Result     json.RawMessage `json:"result"`
}

// iopVector runs an instant query (GET) and returns the vector.
func iopVector(t *testing.T, base, query string, at time.Time) []iopVectorElem {
	t.Helper()
	form := url.Values{"query": {query}}
	if !at.IsZero() {
		form.Set("time", iopUnix(at))
	}
	var d iopQueryData
	iopAPI(t, http.MethodGet, base, "/api/v1/query?"+form.Encode(), nil, &d)
	if d.ResultType != "vector" {
		t.Fatalf("query %q: resultType %q, want vector", query, d.ResultType)
	}
	var v []iopVectorElem
	if err := json.Unmarshal(d.Result, &v); err != nil {
		t.Fatalf("query %q: %v", query, err)
	}
	return v
}

// iopMatrix runs an instant query for a range selector (GET) and returns
// the raw samples.
func iopMatrix(t *testing.T, base, query string, at time.Time) []iopMatrixElem {
	t.Helper()
	form := url.Values{"query": {query}, "time": {iopUnix(at)}}
	var d iopQueryData
	iopAPI(t, http.MethodGet, base, "/api/v1/query?"+form.Encode(), nil, &d)
	if d.ResultType != "matrix" {
		t.Fatalf("query %q: resultType %q, want matrix", query, d.ResultType)
	}
	var m []iopMatrixElem
	if err := json.Unmarshal(d.Result, &m); err != nil {
		t.Fatalf("query %q: %v", query, err)
	}
	return m
}

// iopUnix formats t as Unix seconds with milliseconds, as clients send it.
func iopUnix(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}

// iopEventually polls cond every 200ms until it holds or limit passes,
// then fails with cond's last description.
func iopEventually(t *testing.T, limit time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ok, desc := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v: %s", what, limit, desc)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// iopTarget is an active target of /api/v1/targets.
type iopTarget struct {
	Labels     map[string]string `json:"labels"`
	ScrapePool string            `json:"scrapePool"`
	ScrapeURL  string            `json:"scrapeUrl"`
	LastError  string            `json:"lastError"`
	LastScrape time.Time         `json:"lastScrape"`
	Health     string            `json:"health"`
}

func iopTargets(t *testing.T, base string) []iopTarget {
	t.Helper()
	var d struct {
		ActiveTargets []iopTarget `json:"activeTargets"`
	}
	iopAPI(t, http.MethodGet, base, "/api/v1/targets", nil, &d)
	return d.ActiveTargets
}

// iopWaitTargetsUp waits until /api/v1/targets lists exactly one active
// target per job in want (job to scrape address), each healthy.
func iopWaitTargetsUp(t *testing.T, base string, want map[string]string, limit time.Duration) []iopTarget {
	t.Helper()
	var got []iopTarget
	iopEventually(t, limit, "targets up at "+base, func() (bool, string) {
		got = iopTargets(t, base)
		var problems []string
		seen := map[string]int{}
		for _, tg := range got {
			seen[tg.ScrapePool]++
			addr, ok := want[tg.ScrapePool]
			switch {
			case !ok:
				problems = append(problems, "unexpected pool "+tg.ScrapePool)
			case tg.Labels["job"] != tg.ScrapePool || tg.Labels["instance"] != addr:
				problems = append(problems, fmt.Sprintf("%s: labels %v, want job=%s instance=%s", tg.ScrapePool, tg.Labels, tg.ScrapePool, addr))
			case tg.Health != "up" || tg.LastError != "":
				problems = append(problems, fmt.Sprintf("%s: health %q, lastError %q", tg.ScrapePool, tg.Health, tg.LastError))
			}
		}
		for job := range want {
			if seen[job] != 1 {
				problems = append(problems, fmt.Sprintf("%d targets of job %s", seen[job], job))
			}
		}
		return len(problems) == 0, strings.Join(problems, "; ")
	})
	return got
}

// iopMetricsValue reads one unlabelled sample from a /metrics page.
func iopMetricsValue(t *testing.T, base, name string) (float64, bool) {
	t.Helper()
	code, body, err := iopDo(http.MethodGet, base+"/metrics", nil)
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET %s/metrics: %d %v", base, code, err)
	}
	for line := range strings.SplitSeq(body, "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return f, err == nil
		}
	}
	return 0, false
}

// iopPromtool runs promtool with args and returns its exit code and its
// combined output.
func iopPromtool(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, iopPromtoolBin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("promtool %q did not finish in 30s: %s", args, out.String())
	}
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("promtool %q: %v", args, err)
		}
		return ee.ExitCode(), out.String()
	}
	return 0, out.String()
}
