//go:build reliability

// Reliability tests of `vigil server` as a real process: kill -9 while it
// scrapes and answers queries, a damaged WAL tail, a full disk, and hostile
// load. They run with
//
//	go test -count=1 -tags reliability -run Reliability -v ./cmd/vigil/
//
// The vigil binary is built once per run (TestMain removes it). Every
// server listens on 127.0.0.1 port 0 (the address is read from its log),
// keeps its data in a temporary directory and scrapes targets this test
// process serves. Random choices come from a fixed seed (override with
// RELIABILITY_SEED) so that a failure can be replayed.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// relReadyBound is how long a (re)started server may take to answer
// /-/ready 200. The data of these tests replays in well under a second;
// the bound leaves room for a loaded machine.
const relReadyBound = 15 * time.Second

var relBin struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if relBin.dir != "" {
		os.RemoveAll(relBin.dir)
	}
	os.Exit(code)
}

// relBinary builds the vigil binary, once per test run, from the module
// root.
func relBinary(t *testing.T) string {
	t.Helper()
	relBin.once.Do(func() {
		root, err := os.Getwd()
		if err != nil {
			relBin.err = err
			return
		}
		for {
			if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
				break
			}
			parent := filepath.Dir(root)
			if parent == root {
				relBin.err = errors.New("no go.mod above the test's directory")
				return
			}
			root = parent
		}
		goBin, err := exec.LookPath("go")
		if err != nil {
			relBin.err = fmt.Errorf("the go command is needed to build vigil: %w", err)
			return
		}
		if relBin.dir, err = os.MkdirTemp("", "vigil-reliability-"); err != nil {
			relBin.err = err
			return
		}
		relBin.path = filepath.Join(relBin.dir, "vigil")
		cmd := exec.Command(goBin, "build", "-o", relBin.path, "./cmd/vigil")
		cmd.Dir = root
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			relBin.err = fmt.Errorf("go build ./cmd/vigil: %v\n%s", err, out)
			return
		}
		fmt.Fprintf(os.Stderr, "reliability: built %s in %v\n", relBin.path, time.Since(start).Round(time.Millisecond))
	})
	if relBin.err != nil {
		t.Fatal(relBin.err)
	}
	return relBin.path
}

// relSeed returns the seed of the test's random choices.
func relSeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(20240601)
	if s := os.Getenv("RELIABILITY_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("RELIABILITY_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("random seed %d (set RELIABILITY_SEED to change it)", seed)
	return seed
}

func relRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

// relHTTP is the client of the tests' requests; never through a proxy.
var relHTTP = &http.Client{
	Timeout:   30 * time.Second,
	Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 64},
}

// relStarted counts the processes each test started.
var relStarted sync.Map // *testing.T -> *atomic.Int64

// relVigil is one vigil process.
type relVigil struct {
	name    string
	pid     int
	base    string // http://127.0.0.1:port, once known
	logPath string
	started time.Time

	exited chan struct{} // closed once the process was reaped
	state  *os.ProcessState
	err    error
}

// relStart launches the binary with args (plus a port-0 listen address and
// JSON logs) and waits until its log names the listen address. It does
// not wait for readiness.
func relStart(t *testing.T, bin, logDir, name string, args ...string) *relVigil {
	t.Helper()
	v := &relVigil{name: name, logPath: filepath.Join(logDir, name+".log"), exited: make(chan struct{})}
	logf, err := os.Create(v.logPath)
	if err != nil {
		t.Fatal(err)
	}
	args = append([]string{"--web.listen-address=127.0.0.1:0", "--log.format=json"}, args...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = logDir
	// Pdeathsig fires when the thread that started the child ends, so the
	// child is started and reaped on one locked thread: the server dies
	// with the test binary even if the test never gets to its cleanup.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	startErr := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: the thread ends with this goroutine, after the
		// child was reaped.
		err := cmd.Start()
		startErr <- err
		if err != nil {
			return
		}
		werr := cmd.Wait()
		logf.Close()
		v.state, v.err = cmd.ProcessState, werr
		close(v.exited)
	}()
	if err := <-startErr; err != nil {
		logf.Close()
		t.Fatalf("starting %s: %v", name, err)
	}
	v.pid = cmd.Process.Pid
	v.started = time.Now()
	n, _ := relStarted.LoadOrStore(t, new(atomic.Int64))
	seq := n.(*atomic.Int64).Add(1)
	t.Cleanup(func() {
		if !v.hasExited() {
			_ = syscall.Kill(v.pid, syscall.SIGKILL)
			<-v.exited
		}
		// On failure, show the logs of the last two processes (a test
		// may start twenty).
		if t.Failed() && seq >= n.(*atomic.Int64).Load()-1 {
			t.Logf("--- %s log (tail) ---\n%s", v.name, v.logTail(8000))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for v.base == "" {
		for _, e := range v.logEntries() {
			if e.Msg == "Listening on" {
				if a, _ := e.Attrs["address"].(string); a != "" {
					v.base = "http://" + a
				}
			}
		}
		if v.base != "" {
			break
		}
		if v.hasExited() {
			t.Fatalf("%s exited before listening (%v):\n%s", name, v.err, v.logTail(4000))
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not log its listen address within 30s:\n%s", name, v.logTail(4000))
		}
		time.Sleep(10 * time.Millisecond)
	}
	return v
}

func (v *relVigil) hasExited() bool {
	select {
	case <-v.exited:
		return true
	default:
		return false
	}
}

// waitReady polls /-/ready and returns how long after the launch the
// server became ready; it fails the test beyond relReadyBound.
func (v *relVigil) waitReady(t *testing.T) time.Duration {
	t.Helper()
	for {
		if code, _, err := relGet(v.base + "/-/ready"); err == nil && code == http.StatusOK {
			return time.Since(v.started)
		}
		if v.hasExited() {
			t.Fatalf("%s exited before it was ready (%v)", v.name, v.err)
		}
		if d := time.Since(v.started); d > relReadyBound {
			t.Fatalf("%s not ready %v after its start (bound %v)", v.name, d.Round(time.Millisecond), relReadyBound)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill9 sends SIGKILL and waits until the process is reaped.
func (v *relVigil) kill9(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(v.pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %s: %v", v.name, err)
	}
	select {
	case <-v.exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s (pid %d) still running 20s after SIGKILL", v.name, v.pid)
	}
	if ws, ok := v.state.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("%s ended by %v before the SIGKILL took effect:\n%s", v.name, v.state, v.logTail(4000))
	}
}

// stop sends SIGTERM and requires a clean exit (code 0) within limit.
func (v *relVigil) stop(t *testing.T, limit time.Duration) {
	t.Helper()
	if err := syscall.Kill(v.pid, syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM %s: %v", v.name, err)
	}
	select {
	case <-v.exited:
	case <-time.After(limit):
		t.Fatalf("%s did not exit within %v of SIGTERM", v.name, limit)
	}
	if v.state.ExitCode() != 0 {
		t.Fatalf("%s exited with %v after SIGTERM:\n%s", v.name, v.state, v.logTail(4000))
	}
}

func (v *relVigil) logText() string {
	b, _ := os.ReadFile(v.logPath)
	return string(b)
}

func (v *relVigil) logTail(n int) string {
	s := v.logText()
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return s
}

// relLogEntry is one JSON log line.
type relLogEntry struct {
	Level string
	Msg   string
	Attrs map[string]any
	Line  string
}

// logEntries parses the JSON lines of the log; other lines (a panic's
// trace, say) come back with only Line set.
func (v *relVigil) logEntries() []relLogEntry {
	var out []relLogEntry
	sc := bufio.NewScanner(strings.NewReader(v.logText()))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		e := relLogEntry{Line: line}
		var m map[string]any
		d := json.NewDecoder(strings.NewReader(line))
		d.UseNumber()
		if d.Decode(&m) == nil {
			e.Level, _ = m["level"].(string)
			e.Msg, _ = m["msg"].(string)
			e.Attrs = m
		}
		out = append(out, e)
	}
	return out
}

// relCheckNoPanic fails the test if the log shows a Go panic or fatal
// runtime error.
func relCheckNoPanic(t *testing.T, v *relVigil) {
	t.Helper()
	for _, e := range v.logEntries() {
		if strings.HasPrefix(e.Line, "panic:") || strings.HasPrefix(e.Line, "fatal error:") {
			t.Errorf("%s log has %q", v.name, e.Line)
		}
	}
}

// relRSS returns the resident set size of pid from /proc.
func relRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				return kb << 10, err
			}
		}
	}
	return 0, errors.New("no VmRSS line")
}

func relGet(u string) (int, string, error) {
	resp, err := relHTTP.Get(u)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// relMetric reads an unlabelled sample of the server's /metrics.
func relMetric(base, name string) (float64, error) {
	code, body, err := relGet(base + "/metrics")
	if err != nil {
		return 0, err
	}
	if code != http.StatusOK {
		return 0, fmt.Errorf("/metrics: HTTP %d", code)
	}
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("metric %s not in /metrics", name)
}

// relMetricLines returns the /metrics lines of a metric family (for logs).
func relMetricLines(base, name string) []string {
	_, body, err := relGet(base + "/metrics")
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
			out = append(out, line)
		}
	}
	return out
}

// relAPIResponse is the API's envelope.
type relAPIResponse struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
}

// relAPI issues a GET to an API path and decodes the envelope; it returns
// the HTTP status as well.
func relAPI(client *http.Client, base, path string, params url.Values) (int, relAPIResponse, error) {
	var env relAPIResponse
	resp, err := client.Get(base + path + "?" + params.Encode())
	if err != nil {
		return 0, env, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, env, err
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return resp.StatusCode, env, fmt.Errorf("HTTP %d, body %.200q: %w", resp.StatusCode, b, err)
	}
	return resp.StatusCode, env, nil
}

// relSample is one sample as the API returns it: time in ms, value as text.
type relSample struct {
	T int64
	V string
}

// relMatrix maps a series' labels (relKey) to its samples in API order.
type relMatrix map[string][]relSample

func relKey(m map[string]string) string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", k, m[k])
	}
	b.WriteByte('}')
	return b.String()
}

// relParseMatrix decodes a matrix (or vector) result.
func relParseMatrix(data json.RawMessage) (relMatrix, error) {
	var d struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Values [][2]json.Number  `json:"values"`
			Value  *[2]json.Number   `json:"value"`
		} `json:"result"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&d); err != nil {
		return nil, err
	}
	if d.ResultType != "matrix" && d.ResultType != "vector" {
		return nil, fmt.Errorf("result type %q", d.ResultType)
	}
	out := relMatrix{}
	for _, r := range d.Result {
		vals := r.Values
		if r.Value != nil {
			vals = append(vals, *r.Value)
		}
		k := relKey(r.Metric)
		for _, p := range vals {
			f, err := p[0].Float64()
			if err != nil {
				return nil, err
			}
			out[k] = append(out[k], relSample{T: int64(math.Round(f * 1000)), V: p[1].String()})
		}
	}
	return out, nil
}

// relQuery runs an instant query at time at and returns its matrix or
// vector result.
func relQuery(base, query string, at time.Time) (relMatrix, error) {
	code, env, err := relAPI(relHTTP, base, "/api/v1/query", url.Values{"query": {query}, "time": {relUnix(at)}})
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK || env.Status != "success" {
		return nil, fmt.Errorf("query %s: HTTP %d %s: %s", query, code, env.ErrorType, env.Error)
	}
	return relParseMatrix(env.Data)
}

// relQueryRange runs a range query.
func relQueryRange(base, query string, start, end time.Time, step time.Duration) (relMatrix, error) {
	code, env, err := relAPI(relHTTP, base, "/api/v1/query_range", url.Values{
		"query": {query}, "start": {relUnix(start)}, "end": {relUnix(end)}, "step": {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)},
	})
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK || env.Status != "success" {
		return nil, fmt.Errorf("query_range %s: HTTP %d %s: %s", query, code, env.ErrorType, env.Error)
	}
	return relParseMatrix(env.Data)
}

func relUnix(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}

// relSampleSet is a set of samples by series and time.
type relSampleSet map[string]map[int64]string

func (s relSampleSet) add(m relMatrix) {
	for k, samples := range m {
		if s[k] == nil {
			s[k] = map[int64]string{}
		}
		for _, p := range samples {
			s[k][p.T] = p.V
		}
	}
}

func (s relSampleSet) count() int {
	n := 0
	for _, m := range s {
		n += len(m)
	}
	return n
}

// relCheckContains lists (at most max) samples of want that got lacks or
// has with another value.
func relCheckContains(want relSampleSet, got relMatrix, max int) []string {
	gotSet := relSampleSet{}
	gotSet.add(got)
	var problems []string
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ts := make([]int64, 0, len(want[k]))
		for t := range want[k] {
			ts = append(ts, t)
		}
		slices.Sort(ts)
		for _, t := range ts {
			v, ok := gotSet[k][t]
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("%s @%d (value %s) missing", k, t, want[k][t]))
			case v != want[k][t]:
				problems = append(problems, fmt.Sprintf("%s @%d: value %s, earlier %s", k, t, v, want[k][t]))
			}
			if len(problems) >= max {
				return problems
			}
		}
	}
	return problems
}

// relCheckOrdered lists series whose samples repeat a timestamp or are not
// in time order.
func relCheckOrdered(m relMatrix) []string {
	var problems []string
	for k, samples := range m {
		for i := 1; i < len(samples); i++ {
			if samples[i].T <= samples[i-1].T {
				problems = append(problems, fmt.Sprintf("%s: sample %d at %d follows one at %d (duplicate or out of order)", k, i, samples[i].T, samples[i-1].T))
				break
			}
		}
	}
	sort.Strings(problems)
	return problems
}

// relSeqTarget is a scrape target that numbers its scrapes: rel_seq is the
// number of this scrape, rel_gauge{i} is that number times i+1 (so every
// sample names the scrape it came from), and churn series rel_churn get new
// label values with every scrape, with long values that do not compress,
// so that each scrape writes a WAL series record spanning pages.
type relSeqTarget struct {
	srv    *httptest.Server
	addr   string
	gauges int
	churn  int
	seq    atomic.Int64
}

func relNewSeqTarget(t *testing.T, gauges, churn int) *relSeqTarget {
	t.Helper()
	rt := &relSeqTarget{gauges: gauges, churn: churn}
	rt.srv = httptest.NewServer(rt)
	t.Cleanup(rt.srv.Close)
	rt.addr = strings.TrimPrefix(rt.srv.URL, "http://")
	return rt
}

func (rt *relSeqTarget) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := rt.seq.Add(1)
	var b bytes.Buffer
	fmt.Fprintf(&b, "# TYPE rel_seq counter\nrel_seq %d\n# TYPE rel_gauge gauge\n", n)
	for i := range rt.gauges {
		fmt.Fprintf(&b, "rel_gauge{i=\"%d\"} %d\n", i, n*int64(i+1))
	}
	if rt.churn > 0 {
		b.WriteString("# TYPE rel_churn gauge\n")
		rng := rand.New(rand.NewPCG(uint64(n), 7))
		for k := range rt.churn {
			fmt.Fprintf(&b, "rel_churn{gen=\"%d\",k=\"%d\",pad=\"", n, k)
			for range 10 {
				fmt.Fprintf(&b, "%016x", rng.Uint64())
			}
			fmt.Fprintf(&b, "\"} %d\n", k)
		}
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	_, _ = w.Write(b.Bytes())
}

// relStableQuery selects the series of a relSeqTarget that never churn.
const relStableQuery = `{__name__=~"rel_seq|rel_gauge"}`

// relCheckScrapes checks that the stable series of a relSeqTarget hold
// whole scrapes: at every timestamp of rel_seq each rel_gauge{i} has the
// value rel_seq*(i+1) and vice versa, and rel_seq grows with time (each
// scrape has a new number; the target counts across server restarts).
func relCheckScrapes(m relMatrix, gauges int) []string {
	var problems []string
	var seq []relSample
	byGauge := map[int]map[int64]string{}
	for k, samples := range m {
		switch {
		case strings.HasPrefix(k, `{__name__="rel_seq"`):
			seq = samples
		case strings.HasPrefix(k, `{__name__="rel_gauge"`):
			i := strings.Index(k, `,i="`) + len(`,i="`)
			n, err := strconv.Atoi(k[i : i+max(strings.IndexByte(k[i:], '"'), 0)])
			if err != nil {
				problems = append(problems, "bad gauge key "+k)
				continue
			}
			byGauge[n] = map[int64]string{}
			for _, p := range samples {
				byGauge[n][p.T] = p.V
			}
		}
	}
	seqAt := map[int64]int64{}
	prev := int64(-1)
	for _, p := range seq {
		n, err := strconv.ParseInt(p.V, 10, 64)
		if err != nil {
			problems = append(problems, fmt.Sprintf("rel_seq @%d has value %s", p.T, p.V))
			continue
		}
		if n <= prev {
			problems = append(problems, fmt.Sprintf("rel_seq @%d = %d does not grow (previous %d)", p.T, n, prev))
		}
		prev = n
		seqAt[p.T] = n
	}
	for i := range gauges {
		g := byGauge[i]
		for t, n := range seqAt {
			if want := strconv.FormatInt(n*int64(i+1), 10); g[t] != want {
				problems = append(problems, fmt.Sprintf("rel_gauge{i=%q} @%d = %q, want %s (scrape %d)", strconv.Itoa(i), t, g[t], want, n))
			}
		}
		for t, v := range g {
			if _, ok := seqAt[t]; !ok {
				problems = append(problems, fmt.Sprintf("rel_gauge{i=%q} @%d = %s without rel_seq at that time", strconv.Itoa(i), t, v))
			}
		}
		if len(problems) > 20 {
			break
		}
	}
	sort.Strings(problems)
	return problems
}

// relConfig is a configuration of scrape jobs with a 200ms default
// interval.
func relConfig(jobs ...string) string {
	return "global:\n  scrape_interval: 200ms\n  scrape_timeout: 200ms\nscrape_configs:\n" + strings.Join(jobs, "")
}

// relJob is one job with static targets; extra is indented YAML of further
// job fields.
func relJob(name, interval, timeout, extra string, targets ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  - job_name: %s\n    scrape_interval: %s\n    scrape_timeout: %s\n", name, interval, timeout)
	b.WriteString(extra)
	b.WriteString("    static_configs:\n      - targets:\n")
	for _, tg := range targets {
		fmt.Fprintf(&b, "          - %q\n", tg)
	}
	return b.String()
}

func relWriteFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// relWait polls cond every 25ms until it reports true; beyond limit it
// fails the test with cond's last detail. It fails early when v exits.
func relWait(t *testing.T, v *relVigil, limit time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if v != nil && v.hasExited() {
			t.Fatalf("%s exited (%v) while waiting for %s (%s)", v.name, v.err, what, detail)
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s: %s", limit, what, detail)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// relMaxT is the newest sample time in m (math.MinInt64 when empty).
func relMaxT(m relMatrix, keyPrefix string) int64 {
	maxT := int64(math.MinInt64)
	for k, samples := range m {
		if !strings.HasPrefix(k, keyPrefix) {
			continue
		}
		for _, p := range samples {
			maxT = max(maxT, p.T)
		}
	}
	return maxT
}

// relCount is the number of samples in m.
func relCount(m relMatrix) int {
	n := 0
	for _, s := range m {
		n += len(s)
	}
	return n
}
