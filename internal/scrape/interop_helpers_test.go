//go:build interop

package scrape

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/internal/discovery"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/metadata"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb"
)

// interopEnv is a manager scraping into a real TSDB in a temporary
// directory, fed target sets through Run as discovery would.
type interopEnv struct {
	t       *testing.T
	db      *tsdb.DB
	m       *Manager
	targets chan map[string][]*discovery.TargetGroup
}

func newInteropEnv(t *testing.T, opts Options) *interopEnv {
	t.Helper()
	db, err := tsdb.Open(t.TempDir(), tsdb.Options{WALSegmentSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("closing the TSDB: %v", err)
		}
	})
	if opts.Logger == nil {
		// Warnings and errors (a target that cannot be created, say) end
		// up in the test's log.
		opts.Logger = slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if opts.DiscoveryReloadInterval == 0 {
		opts.DiscoveryReloadInterval = 50 * time.Millisecond
	}
	m := newTestManager(t, db, opts) // stopped before the DB closes
	e := &interopEnv{t: t, db: db, m: m, targets: make(chan map[string][]*discovery.TargetGroup)}
	runDone := make(chan error, 1)
	go func() { runDone <- m.Run(e.targets) }()
	t.Cleanup(func() {
		m.Stop()
		if err := <-runDone; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return e
}

// testLogWriter sends each write to the test's log. The manager using it
// is stopped before the test ends.
type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// apply loads the YAML configuration and hands the manager one static
// target group per job, as discovery would: jobs maps a job name to its
// addresses.
func (e *interopEnv) apply(yaml string, jobs map[string][]string) {
	e.t.Helper()
	if err := e.m.ApplyConfig(loadConfig(e.t, yaml)); err != nil {
		e.t.Fatalf("ApplyConfig: %v", err)
	}
	sets := map[string][]*discovery.TargetGroup{}
	for job, addrs := range jobs {
		sets[job] = []*discovery.TargetGroup{group("interop/"+job, addrs...)}
	}
	select {
	case e.targets <- sets:
	case <-time.After(10 * time.Second):
		e.t.Fatal("the manager did not take the target sets")
	}
}

// target returns the job's active target, nil while there is none.
func (e *interopEnv) target(job string) *Target {
	ts := e.m.ActiveTargets()[job]
	if len(ts) == 0 {
		return nil
	}
	return ts[0]
}

// series returns the samples of every series matching the matchers, keyed
// by label set.
func (e *interopEnv) series(t *testing.T, ms ...*labels.Matcher) map[string]iopSeries {
	t.Helper()
	q, err := e.db.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	set := q.Select(context.Background(), true, nil, ms...)
	res := map[string]iopSeries{}
	var it storage.Iterator
	for set.Next() {
		s := set.At()
		it = s.Iterator(it)
		smps, err := storage.ExpandSamples(it)
		if err != nil {
			t.Fatal(err)
		}
		res[s.Labels().String()] = iopSeries{lset: s.Labels(), samples: smps}
	}
	if err := set.Err(); err != nil {
		t.Fatal(err)
	}
	return res
}

type iopSeries struct {
	lset    labels.Labels
	samples []storage.Sample
}

func (s iopSeries) last() storage.Sample { return s.samples[len(s.samples)-1] }

// metric returns the series of one metric name of one job.
func (e *interopEnv) metric(t *testing.T, job, name string, more ...*labels.Matcher) map[string]iopSeries {
	t.Helper()
	ms := append([]*labels.Matcher{
		labels.MustNewMatcher(labels.MatchEqual, labels.MetricName, name),
		labels.MustNewMatcher(labels.MatchEqual, "job", job),
	}, more...)
	return e.series(t, ms...)
}

// single returns the one series of a metric of a job, ok false unless
// there is exactly one with samples.
func (e *interopEnv) single(t *testing.T, job, name string, more ...*labels.Matcher) (iopSeries, bool) {
	t.Helper()
	m := e.metric(t, job, name, more...)
	if len(m) != 1 {
		return iopSeries{}, false
	}
	for _, s := range m {
		return s, len(s.samples) > 0
	}
	panic("unreachable")
}

// lastValue returns the newest sample value of the job's single series of
// name, and a description for failure messages.
func (e *interopEnv) lastValue(t *testing.T, job, name string, more ...*labels.Matcher) (float64, bool, string) {
	t.Helper()
	s, ok := e.single(t, job, name, more...)
	if !ok {
		return 0, false, fmt.Sprintf("%s{job=%q}: %d series", name, job, len(e.metric(t, job, name, more...)))
	}
	v := s.last().F
	return v, true, fmt.Sprintf("%s = %v (%d samples)", s.lset, v, len(s.samples))
}

// eventually polls cond every 50ms until it holds, failing the test with
// cond's last description after limit.
func eventually(t *testing.T, limit time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v still waiting for %s: %s", limit, what, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitHealth waits until the job's target reports health with at least n
// samples of up, the newest being wantUp, and returns the target.
func (e *interopEnv) waitHealth(t *testing.T, job string, health TargetHealth, wantUp float64, n int, limit time.Duration) *Target {
	t.Helper()
	var tg *Target
	eventually(t, limit, fmt.Sprintf("job %s to be %s with up=%v", job, health, wantUp), func() (bool, string) {
		tg = e.target(job)
		if tg == nil {
			return false, "no active target"
		}
		s, ok := e.single(t, job, "up")
		if !ok {
			return false, fmt.Sprintf("health %s, last error %v, no up series", tg.Health(), tg.LastError())
		}
		state := fmt.Sprintf("health %s, last error %v, up=%v after %d scrapes", tg.Health(), tg.LastError(), s.last().F, len(s.samples))
		return tg.Health() == health && s.last().F == wantUp && len(s.samples) >= n, state
	})
	return tg
}

// wantMetadata checks the families' types in the target's metadata.
func wantMetadata(t *testing.T, tg *Target, want map[string]metadata.Type) {
	t.Helper()
	for family, typ := range want {
		md, ok := tg.GetMetadata(family)
		switch {
		case !ok:
			t.Errorf("%s: no metadata for %s (%d families known)", tg.ScrapePool(), family, tg.LengthMetadata())
		case md.Type != typ:
			t.Errorf("%s: %s has type %q, want %q", tg.ScrapePool(), family, md.Type, typ)
		case md.Help == "":
			t.Errorf("%s: %s has no help text", tg.ScrapePool(), family)
		}
	}
}

// familyNames lists the families in a target's metadata, sorted.
func familyNames(tg *Target) []string {
	var names []string
	for _, md := range tg.ListMetadata() {
		names = append(names, md.MetricFamily)
	}
	sort.Strings(names)
	return names
}

// wantErrorContaining checks a target's last error.
func wantErrorContaining(t *testing.T, tg *Target, parts ...string) {
	t.Helper()
	err := tg.LastError()
	if err == nil {
		t.Errorf("%s: no last error, want one containing %q", tg.ScrapePool(), parts)
		return
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: last error %q lacks %q", tg.ScrapePool(), err, p)
		}
	}
}

// writeOtherCA writes a CA certificate that signed none of the fixtures,
// for the wrong-CA case.
func writeOtherCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Vigil interop unrelated CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "other-ca.cer")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// stallWatch notices when the test process itself is not run on time: a
// goroutine sleeps 20ms again and again and records every wake-up that
// came much later. On a machine shared with other work, a scrape that
// started late while this goroutine was late too says nothing about the
// scrape manager; one that started late while it was on time does.
type stallWatch struct {
	mu     sync.Mutex
	stalls []stall
	stop   chan struct{}
	done   chan struct{}
}

type stall struct {
	at   time.Time // when the late wake-up came
	late time.Duration
}

const (
	stallTick      = 20 * time.Millisecond
	stallThreshold = 30 * time.Millisecond
)

func startStallWatch(t *testing.T) *stallWatch {
	w := &stallWatch{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		last := time.Now()
		for {
			select {
			case <-w.stop:
				return
			case <-time.After(stallTick):
			}
			now := time.Now()
			if late := now.Sub(last) - stallTick; late >= stallThreshold {
				w.mu.Lock()
				w.stalls = append(w.stalls, stall{at: now, late: late})
				w.mu.Unlock()
			}
			last = now
		}
	}()
	t.Cleanup(func() {
		close(w.stop)
		<-w.done
	})
	return w
}

// total returns how long the test process stalled within [from, to]:
// the lateness of the wake-ups whose stall overlapped it.
func (w *stallWatch) total(from, to time.Time) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	var res time.Duration
	for _, s := range w.stalls {
		if !s.at.Before(from) && !s.at.Add(-s.late).After(to) {
			res += s.late
		}
	}
	return res
}
