package storagetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/internal/model/exemplar"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/metadata"
	"github.com/vigil-monitoring/vigil/internal/model/value"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

func testCommitVisibility(t *testing.T, f Factory) {
	a, q := f(t)
	l := labels.FromStrings("__name__", "up", "job", "a")
	app := a.Appender(context.Background())
	ref, err := app.Append(0, l, 1000, 1)
	if err != nil {
		t.Fatal(err)
	}
	if ref == 0 {
		t.Fatal("Append returned ref 0 for a new series; callers could never cache it")
	}
	if got := all(t, q); len(got) != 0 {
		t.Fatalf("uncommitted sample visible: %v", got)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	got := all(t, q)
	if len(got) != 1 || !labels.Equal(got[0].lset, l) || !sameSamples(got[0].samples, []storage.Sample{{T: 1000, F: 1}}) {
		t.Fatalf("after commit got %v", got)
	}
}

func testRollback(t *testing.T, f Factory) {
	a, q := f(t)
	l := labels.FromStrings("__name__", "up")
	commit(t, a, l, floats(10)...)

	app := a.Appender(context.Background())
	if _, err := app.Append(0, l, 20, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Append(0, labels.FromStrings("__name__", "other"), 20, 2); err != nil {
		t.Fatal(err)
	}
	if err := app.Rollback(); err != nil {
		t.Fatal(err)
	}
	got := all(t, q)
	if len(got) != 1 || !sameSamples(got[0].samples, floats(10)) {
		t.Fatalf("after rollback got %v", got)
	}
	// The rolled-back sample must not count as the series' newest.
	commit(t, a, l, storage.Sample{T: 15, F: 1.5})
	got = all(t, q)
	if len(got) != 1 || !sameSamples(got[0].samples, []storage.Sample{{T: 10, F: 1}, {T: 15, F: 1.5}}) {
		t.Fatalf("append after rollback got %v", got)
	}
}

func testRefCaching(t *testing.T, f Factory) {
	a, q := f(t)
	l := labels.FromStrings("__name__", "m", "i", "1")
	ref := commit(t, a, l, floats(10)...)

	app := a.Appender(context.Background())
	ref2, err := app.Append(ref, l, 20, 2)
	if err != nil {
		t.Fatal(err)
	}
	if ref2 != ref {
		t.Fatalf("cached ref %d came back as %d", ref, ref2)
	}
	// A ref this storage never issued must fall back to the labels. The
	// value is far beyond what a test creates.
	other := labels.FromStrings("__name__", "m", "i", "2")
	if _, err := app.Append(storage.SeriesRef(1<<62+12345), other, 20, 7); err != nil {
		t.Fatal(err)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	got := all(t, q)
	if len(got) != 2 || !sameSamples(got[0].samples, []storage.Sample{{T: 10, F: 1}, {T: 20, F: 2}}) ||
		!labels.Equal(got[1].lset, other) || !sameSamples(got[1].samples, []storage.Sample{{T: 20, F: 7}}) {
		t.Fatalf("got %v", got)
	}
}

func testEmptyLabels(t *testing.T, f Factory) {
	a, q := f(t)
	app := a.Appender(context.Background())
	if _, err := app.Append(0, labels.EmptyLabels(), 1, 1); err == nil {
		t.Fatal("appending to the empty label set must fail")
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := selectAll(t, q, math.MinInt64, math.MaxInt64, true, labels.MustNewMatcher(labels.MatchRegexp, "x", ".*")); len(got) != 0 {
		t.Fatalf("got %v", got)
	}
}

func testOutOfOrder(t *testing.T, f Factory) {
	a, q := f(t)
	l := labels.FromStrings("__name__", "m")
	commit(t, a, l, floats(100)...)

	app := a.Appender(context.Background())
	if _, err := app.Append(0, l, 50, 1); !errors.Is(err, storage.ErrOutOfOrderSample) {
		t.Fatalf("older than committed: got %v, want ErrOutOfOrderSample", err)
	}
	if _, err := app.Append(0, l, 200, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Append(0, l, 150, 1); !errors.Is(err, storage.ErrOutOfOrderSample) {
		t.Fatalf("older than pending in same batch: got %v, want ErrOutOfOrderSample", err)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	got := all(t, q)
	if len(got) != 1 || !sameSamples(got[0].samples, []storage.Sample{{T: 100, F: 10}, {T: 200, F: 1}}) {
		t.Fatalf("got %v", got)
	}
}

func testDuplicates(t *testing.T, f Factory) {
	a, q := f(t)
	l := labels.FromStrings("__name__", "m")
	nan := math.Float64frombits(value.NormalNaNBits)
	commit(t, a, l, storage.Sample{T: 10, F: 1}, storage.Sample{T: 20, F: nan})

	h := testHistogram(1)
	hl := labels.FromStrings("__name__", "h")
	commit(t, a, hl, storage.Sample{T: 10, H: h})

	app := a.Appender(context.Background())
	// Exactly the same newest sample again is accepted and stored once.
	if _, err := app.Append(0, l, 10, 1); !errors.Is(err, storage.ErrOutOfOrderSample) {
		t.Fatalf("older sample, even if identical: got %v, want ErrOutOfOrderSample", err)
	}
	if _, err := app.Append(0, l, 20, nan); err != nil {
		t.Fatalf("identical NaN repeat: %v", err)
	}
	if _, err := app.Append(0, l, 20, 2); !errors.Is(err, storage.ErrDuplicateSampleForTimestamp) {
		t.Fatalf("different value, same time: got %v", err)
	}
	if _, err := app.Append(0, l, 20, value.StaleNaN); !errors.Is(err, storage.ErrDuplicateSampleForTimestamp) {
		t.Fatalf("stale marker over a NaN at the same time: got %v", err)
	}
	if _, err := app.AppendHistogram(0, hl, 10, testHistogram(1), nil); err != nil {
		t.Fatalf("identical histogram repeat: %v", err)
	}
	if _, err := app.AppendHistogram(0, hl, 10, testHistogram(2), nil); !errors.Is(err, storage.ErrDuplicateSampleForTimestamp) {
		t.Fatalf("different histogram, same time: got %v", err)
	}
	if _, err := app.Append(0, hl, 10, 5); !errors.Is(err, storage.ErrDuplicateSampleForTimestamp) {
		t.Fatalf("float over a histogram at the same time: got %v", err)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	got := all(t, q)
	if len(got) != 2 || !sameSamples(got[0].samples, []storage.Sample{{T: 10, H: h}}) ||
		!sameSamples(got[1].samples, []storage.Sample{{T: 10, F: 1}, {T: 20, F: nan}}) {
		t.Fatalf("got %v", got)
	}
}

func testCTZeroSample(t *testing.T, f Factory) {
	a, q := f(t)
	l := labels.FromStrings("__name__", "c_total")
	commit(t, a, l, storage.Sample{T: 100, F: 5})

	app := a.Appender(context.Background())
	if _, err := app.AppendCTZeroSample(0, l, 300, 300); !errors.Is(err, storage.ErrOutOfOrderCT) {
		t.Fatalf("ct == t: got %v", err)
	}
	if _, err := app.AppendCTZeroSample(0, l, 300, 100); !errors.Is(err, storage.ErrOutOfOrderCT) {
		t.Fatalf("ct at the last sample: got %v", err)
	}
	if _, err := app.AppendCTZeroSample(0, l, 300, 150); err != nil {
		t.Fatalf("valid ct: %v", err)
	}
	if _, err := app.Append(0, l, 300, 7); err != nil {
		t.Fatal(err)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	got := all(t, q)
	want := []storage.Sample{{T: 100, F: 5}, {T: 150, F: 0}, {T: 300, F: 7}}
	if len(got) != 1 || !sameSamples(got[0].samples, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func testMetadataAndExemplars(t *testing.T, f Factory) {
	a, q := f(t)
	l := labels.FromStrings("__name__", "req_total")
	app := a.Appender(context.Background())
	ref, err := app.Append(0, l, 10, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.UpdateMetadata(ref, l, metadata.Metadata{Type: metadata.TypeCounter, Help: "Requests."}); err != nil {
		t.Fatalf("UpdateMetadata: %v", err)
	}
	e := exemplar.Exemplar{Labels: labels.FromStrings("trace_id", "abc"), Value: 1, Ts: 10, HasTs: true}
	if _, err := app.AppendExemplar(ref, l, e); err != nil && !errors.Is(err, storage.ErrExemplarsDisabled) {
		t.Fatalf("AppendExemplar: %v", err)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := all(t, q); len(got) != 1 || !sameSamples(got[0].samples, []storage.Sample{{T: 10, F: 1}}) {
		t.Fatalf("exemplar or metadata disturbed samples: %v", got)
	}
}

// testConcurrent runs appenders (one per goroutine, as the contract says)
// next to queriers; under -race it also checks the locking.
func testConcurrent(t *testing.T, f Factory) {
	a, q := f(t)
	const (
		writers   = 4
		perWriter = 25
		batches   = 40
	)
	var wg sync.WaitGroup
	errc := make(chan error, writers+1)
	for w := range writers {
		wg.Go(func() {
			refs := make([]storage.SeriesRef, perWriter)
			for b := range batches {
				app := a.Appender(context.Background())
				for i := range perWriter {
					// Every writer also shares one series, appended at
					// distinct times per writer so nothing collides.
					l := labels.FromStrings("__name__", "conc", "w", fmt.Sprint(w), "i", fmt.Sprint(i))
					var err error
					refs[i], err = app.Append(refs[i], l, int64(b*1000), float64(b))
					if err != nil {
						errc <- err
						return
					}
				}
				if err := app.Commit(); err != nil {
					errc <- err
					return
				}
			}
		})
	}
	done := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			for _, s := range selectAll(t, q, math.MinInt64, math.MaxInt64, false, labels.MustNewMatcher(labels.MatchEqual, "__name__", "conc")) {
				for i := 1; i < len(s.samples); i++ {
					if s.samples[i].T <= s.samples[i-1].T {
						errc <- fmt.Errorf("series %s not in time order", s.lset)
						return
					}
				}
			}
		}
	})
	// Wait for the writers by polling the result: the reader loops until
	// told to stop.
	deadline := time.Now().Add(time.Minute)
	for {
		if time.Now().After(deadline) {
			close(done)
			wg.Wait()
			t.Fatal("committed samples did not all become visible within a minute")
		}
		got := selectAll(t, q, math.MinInt64, math.MaxInt64, false, labels.MustNewMatcher(labels.MatchEqual, "__name__", "conc"))
		n := 0
		for _, s := range got {
			n += len(s.samples)
		}
		if n == writers*perWriter*batches {
			break
		}
		select {
		case err := <-errc:
			close(done)
			wg.Wait()
			t.Fatal(err)
		default:
		}
	}
	close(done)
	wg.Wait()
	select {
	case err := <-errc:
		t.Fatal(err)
	default:
	}
	got := selectAll(t, q, math.MinInt64, math.MaxInt64, true, labels.MustNewMatcher(labels.MatchEqual, "__name__", "conc"))
	if len(got) != writers*perWriter {
		t.Fatalf("got %d series, want %d", len(got), writers*perWriter)
	}
}
