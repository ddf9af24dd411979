package storage_test

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/storage/storagetest"
)

func count(t *testing.T, q storage.Queryable) int {
	t.Helper()
	qr, err := q.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer qr.Close()
	ss := qr.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
	n := 0
	for ss.Next() {
		s, err := storage.ExpandSamples(ss.At().Iterator(nil))
		if err != nil {
			t.Fatal(err)
		}
		n += len(s)
	}
	return n
}

func TestFanout(t *testing.T) {
	p, s := storagetest.NewMemStorage(), storagetest.NewMemStorage()
	f := storage.NewFanoutAppendable(p, s)
	l := labels.FromStrings("__name__", "x")

	app := f.Appender(context.Background())
	if _, err := app.Append(0, l, 10, 1); err != nil {
		t.Fatal(err)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	if count(t, p) != 1 || count(t, s) != 1 {
		t.Fatal("sample not in both storages")
	}

	// A sample the primary rejects never reaches the secondary.
	app = f.Appender(context.Background())
	if _, err := app.Append(0, l, 5, 1); !errors.Is(err, storage.ErrOutOfOrderSample) {
		t.Fatalf("got %v", err)
	}
	if _, err := app.Append(0, l, 20, 1); err != nil {
		t.Fatal(err)
	}
	if err := app.Rollback(); err != nil {
		t.Fatal(err)
	}
	if count(t, p) != 1 || count(t, s) != 1 {
		t.Fatal("rollback did not reach both storages")
	}
}
