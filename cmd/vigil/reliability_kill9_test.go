//go:build reliability

package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestReliabilityKill9 kills vigil with SIGKILL twenty times at random
// moments while it scrapes a target (every 200ms, with series churn that
// makes WAL records span pages) and while a goroutine runs queries, and
// restarts it on the same data directory each time. Most kills come while
// the server scrapes (a random delay after this incarnation's first
// scrape); every third comes at a random moment of the start (WAL replay,
// before or just after ready). After each restart that reaches ready:
//
//   - it became ready within relReadyBound;
//   - every sample any query returned before any kill is still returned,
//     with the same value (raw samples of the stable series at a fixed
//     evaluation time), and no series repeats a timestamp;
//   - every scrape is whole: at each timestamp rel_seq and all rel_gauge
//     series are present with values of the same scrape;
//   - a range query over the past (steps up to the newest sample a query
//     had seen) returns exactly what it returned before the kill.
func TestReliabilityKill9(t *testing.T) {
	bin := relBinary(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	const (
		kills  = 20
		gauges = 20
		step   = 100 * time.Millisecond
	)
	tgt := relNewSeqTarget(t, gauges, 150)
	cfg := filepath.Join(dir, "vigil.yml")
	relWriteFile(t, cfg, relConfig(relJob("rel", "200ms", "200ms", "", tgt.addr)))
	rng := relRand(relSeed(t))

	testStart := time.Now()
	// Raw samples are read at a fixed time two hours ahead with a 3h
	// range: everything the test writes, always the same query.
	evalAt := testStart.Add(2 * time.Hour)
	rawQuery := relStableQuery + "[3h]"
	const rangeQuery = "sum(rel_gauge)"

	// rangeSnap is a range query result and the newest sample time a query
	// had seen before it ran: steps up to safe cannot change any more.
	type rangeSnap struct {
		res  relMatrix
		safe int64
	}
	type snapshot struct {
		raw relMatrix
		rng rangeSnap
	}
	// The querier runs raw and range queries against whichever
	// incarnation is current, for the whole test.
	var (
		curBase  atomic.Pointer[string]
		latest   atomic.Pointer[snapshot]
		nQueries atomic.Int64
		stopQ    = make(chan struct{})
		doneQ    = make(chan struct{})
	)
	go func() {
		defer close(doneQ)
		for {
			select {
			case <-stopQ:
				return
			default:
			}
			b := curBase.Load()
			if b == nil {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			raw, err := relQuery(*b, "rel_seq[3h]", evalAt)
			if err != nil {
				time.Sleep(20 * time.Millisecond) // down or not ready yet
				continue
			}
			safe := relMaxT(raw, "")
			res, err := relQueryRange(*b, rangeQuery, testStart, time.Now(), step)
			if err != nil {
				continue
			}
			latest.Store(&snapshot{raw: raw, rng: rangeSnap{res: res, safe: safe}})
			nQueries.Add(1)
			time.Sleep(10 * time.Millisecond) // leave the two cores to the server now and then
		}
	}()
	stopQuerier := func() {
		select {
		case <-stopQ:
		default:
			close(stopQ)
			<-doneQ
		}
	}
	t.Cleanup(stopQuerier)

	expected := relSampleSet{} // every sample any query returned so far
	var rangeSnaps []rangeSnap
	var (
		maxReady                    time.Duration
		scrapingKills, startupKills int
		repairs                     float64
		verified                    int
	)

	verify := func(v *relVigil, what string) {
		t.Helper()
		got, err := relQuery(v.base, rawQuery, evalAt)
		if err != nil {
			t.Fatalf("%s: raw query after ready: %v", what, err)
		}
		var problems []string
		problems = append(problems, relCheckOrdered(got)...)
		problems = append(problems, relCheckContains(expected, got, 20)...)
		problems = append(problems, relCheckScrapes(got, gauges)...)
		snaps := rangeSnaps
		if len(snaps) > 1 && what != "final" {
			snaps = snaps[len(snaps)-1:]
		}
		for _, rs := range snaps {
			now, err := relQueryRange(v.base, rangeQuery, testStart, time.Now(), step)
			if err != nil {
				t.Fatalf("%s: range query after ready: %v", what, err)
			}
			problems = append(problems, relCompareRange(rs.res, now, rs.safe)...)
		}
		if len(problems) > 0 {
			if len(problems) > 30 {
				problems = problems[:30]
			}
			t.Fatalf("%s: data lost or damaged after kill -9 (%d samples expected):\n  %s", what, expected.count(), strings.Join(problems, "\n  "))
		}
		verified++
		if c, err := relMetric(v.base, "prometheus_tsdb_wal_corruptions_total"); err == nil {
			repairs += c
		}
	}

	for i := range kills {
		v := relStart(t, bin, dir, fmt.Sprintf("vigil-%02d", i), "--config.file="+cfg, "--storage.tsdb.path="+data)
		curBase.Store(&v.base)
		if i%3 == 2 {
			// A kill at a random moment of the start: WAL replay, the
			// wait for readiness, or the first seconds of serving.
			delay := time.Duration(rng.Int64N(int64(1500 * time.Millisecond)))
			time.Sleep(time.Until(v.started.Add(delay)))
			if got, err := relQuery(v.base, rawQuery, evalAt); err == nil {
				expected.add(got)
			}
			v.kill9(t)
			startupKills++
			t.Logf("kill %2d: %v after the start (starting up)", i+1, time.Since(v.started).Round(time.Millisecond))
			continue
		}
		ready := v.waitReady(t)
		maxReady = max(maxReady, ready)
		verify(v, fmt.Sprintf("restart %d", i))
		// Wait for this incarnation to scrape, then kill it at a random
		// moment while it scrapes and the querier queries.
		relWait(t, v, 30*time.Second, "a scrape by this incarnation", func() (bool, string) {
			got, err := relQuery(v.base, "rel_seq[3h]", evalAt)
			if err != nil {
				return false, err.Error()
			}
			return relMaxT(got, "") >= v.started.UnixMilli(), "no sample newer than the start"
		})
		delay := time.Duration(rng.Int64N(int64(800 * time.Millisecond)))
		time.Sleep(delay)
		own, err := relQuery(v.base, rawQuery, evalAt)
		if err != nil {
			t.Fatalf("raw query before kill %d: %v", i+1, err)
		}
		snap := latest.Load()
		v.kill9(t)
		scrapingKills++
		expected.add(own)
		if snap != nil {
			expected.add(snap.raw)
			rangeSnaps = append(rangeSnaps, snap.rng)
		}
		t.Logf("kill %2d: %v after the start (ready after %v, scraping for %v); %d samples expected",
			i+1, time.Since(v.started).Round(time.Millisecond), ready.Round(time.Millisecond), delay.Round(time.Millisecond), expected.count())
	}

	v := relStart(t, bin, dir, "vigil-final", "--config.file="+cfg, "--storage.tsdb.path="+data)
	curBase.Store(&v.base)
	maxReady = max(maxReady, v.waitReady(t))
	stopQuerier()
	verify(v, "final")
	relCheckNoPanic(t, v)
	v.stop(t, 30*time.Second)

	if n := nQueries.Load(); n < kills {
		t.Errorf("the querier completed only %d query rounds during the test", n)
	}
	if expected.count() < 20*(gauges+1) {
		t.Errorf("only %d samples were seen before kills; the test did not exercise much", expected.count())
	}
	t.Logf("%d kills (%d while scraping, %d while starting), %d verified restarts, %d samples checked, %d range snapshots, %d querier rounds, slowest ready %v, WAL repairs reported %v",
		kills, scrapingKills, startupKills, verified, expected.count(), len(rangeSnaps), nQueries.Load(), maxReady.Round(time.Millisecond), repairs)
}

// relCompareRange compares two results of one range query at the steps up
// to safe (ms): they must be equal there.
func relCompareRange(before, after relMatrix, safe int64) []string {
	var problems []string
	for k, as := range after {
		bs := map[int64]bool{}
		for _, p := range before[k] {
			bs[p.T] = true
		}
		for _, p := range as {
			if p.T <= safe && !bs[p.T] {
				problems = append(problems, fmt.Sprintf("range query %s at step %d: %q after the kill, nothing before it", k, p.T, p.V))
				break
			}
		}
	}
	for k, bs := range before {
		as := map[int64]string{}
		for _, p := range after[k] {
			as[p.T] = p.V
		}
		for _, p := range bs {
			if p.T > safe {
				break
			}
			if v, ok := as[p.T]; !ok || v != p.V {
				problems = append(problems, fmt.Sprintf("range query %s at step %d: %q before the kill, %q (present %v) after", k, p.T, p.V, v, ok))
				if len(problems) > 10 {
					return problems
				}
			}
		}
	}
	return problems
}
