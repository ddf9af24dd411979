package discovery

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// fakeDiscoverer sends what the test pushes and records when it stops.
type fakeDiscoverer struct {
	key     string
	send    chan []*TargetGroup
	stopped chan struct{}
}

func (d *fakeDiscoverer) Run(ctx context.Context, up chan<- []*TargetGroup) {
	defer close(d.stopped)
	for {
		select {
		case <-ctx.Done():
			return
		case g := <-d.send:
			select {
			case up <- g:
			case <-ctx.Done():
				return
			}
		}
	}
}

// fakes records every discoverer built, by config key.
type fakes struct {
	mu    sync.Mutex
	built map[string][]*fakeDiscoverer
}

func (f *fakes) latest(t *testing.T, key string) *fakeDiscoverer {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	ds := f.built[key]
	if len(ds) == 0 {
		t.Fatalf("no discoverer built for %q", key)
	}
	return ds[len(ds)-1]
}

func (f *fakes) count(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.built[key])
}

type fakeConfig struct {
	Key   string
	Fail  bool
	fakes *fakes
}

func (fakeConfig) Name() string { return "fake" }

func (c fakeConfig) NewDiscoverer(DiscovererOptions) (Discoverer, error) {
	if c.Fail {
		return nil, errors.New("cannot build")
	}
	d := &fakeDiscoverer{key: c.Key, send: make(chan []*TargetGroup), stopped: make(chan struct{})}
	c.fakes.mu.Lock()
	c.fakes.built[c.Key] = append(c.fakes.built[c.Key], d)
	c.fakes.mu.Unlock()
	return d, nil
}

func group(source string, addrs ...string) *TargetGroup {
	g := &TargetGroup{Source: source}
	for _, a := range addrs {
		g.Targets = append(g.Targets, labels.FromStrings(AddressLabel, a))
	}
	return g
}

// addrs flattens a set's groups into "source:addr" strings.
func addrs(groups []*TargetGroup) []string {
	var out []string
	for _, g := range groups {
		for _, t := range g.Targets {
			out = append(out, g.Source+":"+t.Get(AddressLabel))
		}
	}
	return out
}

func receive(t *testing.T, m *Manager) map[string][]*TargetGroup {
	t.Helper()
	select {
	case tgs := <-m.SyncCh():
		return tgs
	case <-time.After(5 * time.Second):
		t.Fatal("no update from the manager")
		return nil
	}
}

func startManager(t *testing.T, delay time.Duration, reg prometheus.Registerer) *Manager {
	t.Helper()
	m := NewManager(ManagerOptions{Name: "scrape", UpdateDelay: delay, Registerer: reg})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return m
}

func TestManagerDebounce(t *testing.T) {
	f := &fakes{built: map[string][]*fakeDiscoverer{}}
	m := startManager(t, 200*time.Millisecond, nil)
	m.ApplyConfig(map[string]Configs{"job": {fakeConfig{Key: "a", fakes: f}}})
	waitFor(t, func() bool { return f.count("a") == 1 })
	d := f.latest(t, "a")
	// A burst of updates within one delay reaches the consumer as one.
	start := time.Now()
	for i := range 5 {
		d.send <- []*TargetGroup{group("s", fmt.Sprintf("h%d:1", i))}
	}
	got := receive(t, m)
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Fatalf("update took %v", elapsed)
	}
	// The first tick may race the burst; wait until the last state shows.
	for fmt.Sprint(addrs(got["job"])) != "[s:h4:1]" {
		got = receive(t, m)
	}
	select {
	case extra := <-m.SyncCh():
		t.Fatalf("unexpected extra update %v", addrs(extra["job"]))
	case <-time.After(500 * time.Millisecond):
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestManagerApplyConfig(t *testing.T) {
	f := &fakes{built: map[string][]*fakeDiscoverer{}}
	reg := prometheus.NewRegistry()
	m := startManager(t, 20*time.Millisecond, reg)
	cfgA := fakeConfig{Key: "a", fakes: f}
	cfgB := fakeConfig{Key: "b", fakes: f}

	m.ApplyConfig(map[string]Configs{"one": {cfgA}})
	waitFor(t, func() bool { return f.count("a") == 1 })
	a := f.latest(t, "a")
	a.send <- []*TargetGroup{group("x", "h1:1"), group("y", "h2:1")}
	got := receive(t, m)
	for len(addrs(got["one"])) != 2 {
		got = receive(t, m)
	}

	// A second set with the same config shares the running discoverer and
	// gets its current targets at once; a new config starts a new one.
	m.ApplyConfig(map[string]Configs{"one": {cfgA}, "two": {cfgA, cfgB}})
	got = receive(t, m)
	if f.count("a") != 1 {
		t.Fatalf("identical config restarted: %d discoverers", f.count("a"))
	}
	if fmt.Sprint(addrs(got["two"])) != "[x:h1:1 y:h2:1]" {
		t.Fatalf("set two: %v", addrs(got["two"]))
	}
	waitFor(t, func() bool { return f.count("b") == 1 })
	f.latest(t, "b").send <- []*TargetGroup{group("z", "h3:1")}
	// An update of a shared discoverer reaches both sets; a removed group
	// (no targets) disappears.
	a.send <- []*TargetGroup{group("x")}
	got = receiveUntil(t, m, func(got map[string][]*TargetGroup) bool {
		return fmt.Sprint(addrs(got["two"])) == "[y:h2:1 z:h3:1]" && fmt.Sprint(addrs(got["one"])) == "[y:h2:1]"
	})
	if v := metricValue(t, m.metrics.discovered.WithLabelValues("scrape", "two")); v != 2 {
		t.Fatalf("prometheus_sd_discovered_targets{config=two} = %v", v)
	}

	// Dropping set one keeps the shared discoverer for set two; dropping
	// config b stops its discoverer.
	m.ApplyConfig(map[string]Configs{"two": {cfgA}})
	bDone := f.latest(t, "b").stopped
	select {
	case <-bDone:
	case <-time.After(5 * time.Second):
		t.Fatal("removed discoverer not stopped")
	}
	select {
	case <-a.stopped:
		t.Fatal("unchanged discoverer was stopped")
	default:
	}
	got = receiveUntil(t, m, func(got map[string][]*TargetGroup) bool {
		_, hasOne := got["one"]
		return !hasOne && fmt.Sprint(addrs(got["two"])) == "[y:h2:1]"
	})

	// A set whose configs all fail is still sent, empty, and counted.
	m.ApplyConfig(map[string]Configs{"two": {fakeConfig{Key: "bad", Fail: true, fakes: f}}})
	got = receiveUntil(t, m, func(got map[string][]*TargetGroup) bool {
		g, ok := got["two"]
		return ok && len(g) == 0
	})
	if v := metricValue(t, m.metrics.failedConfigs); v != 1 {
		t.Fatalf("prometheus_sd_failed_configs = %v", v)
	}
	select {
	case <-a.stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("discoverer a not stopped")
	}
}

func TestManagerConfigBeforeRunAndStatic(t *testing.T) {
	m := NewManager(ManagerOptions{Name: "notify", UpdateDelay: 10 * time.Millisecond})
	static := StaticConfig{group("0", "am1:9093"), group("1", "am2:9093")}
	m.ApplyConfig(map[string]Configs{"config-0": {static}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.Run(ctx)
	got := receive(t, m)
	if fmt.Sprint(addrs(got["config-0"])) != "[0:am1:9093 1:am2:9093]" {
		t.Fatalf("got %v", addrs(got["config-0"]))
	}
}

// A slow consumer must not lose the latest state: the manager retries on
// the next tick.
func TestManagerSlowConsumer(t *testing.T) {
	f := &fakes{built: map[string][]*fakeDiscoverer{}}
	m := startManager(t, 10*time.Millisecond, nil)
	m.ApplyConfig(map[string]Configs{"job": {fakeConfig{Key: "a", fakes: f}}})
	waitFor(t, func() bool { return f.count("a") == 1 })
	f.latest(t, "a").send <- []*TargetGroup{group("s", "h:1")}
	time.Sleep(100 * time.Millisecond) // several ticks with nobody reading
	got := receive(t, m)
	for len(addrs(got["job"])) != 1 {
		got = receive(t, m)
	}
	if v := metricValue(t, m.metrics.delayedUpdates); v == 0 {
		t.Fatal("delayed updates not counted")
	}
}

// metricValue reads a gauge or counter.
func metricValue(t *testing.T, c prometheus.Metric) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	}
	t.Fatal("not a gauge or counter")
	return 0
}

// receiveUntil blocks on the manager's channel, as a real consumer does,
// until cond holds for an update.
func receiveUntil(t *testing.T, m *Manager, cond func(map[string][]*TargetGroup) bool) map[string][]*TargetGroup {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case got := <-m.SyncCh():
			if cond(got) {
				return got
			}
		case <-deadline:
			t.Fatal("no matching update from the manager")
			return nil
		}
	}
}
