package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/tsdb"
)

// TestBlockDurationFlagsHidden: like Prometheus, the block range flags
// are accepted but left out of --help.
func TestBlockDurationFlagsHidden(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"server", "--help"}, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("server --help: exit %d, stderr %q", code, errOut.String())
	}
	if strings.Contains(out.String(), "block-duration") {
		t.Errorf("server --help shows a hidden block duration flag:\n%s", out.String())
	}
	f := parseServerFlags(t)
	if time.Duration(f.minBlockDuration) != 2*time.Hour || f.maxBlockDuration != 0 {
		t.Errorf("defaults: min %s max %s, want 2h and unset", &f.minBlockDuration, &f.maxBlockDuration)
	}
	if got := f.all()["storage.tsdb.min-block-duration"]; got != "2h" {
		t.Errorf("status/flags shows min-block-duration %q, want 2h", got)
	}
}

func TestBlockDurationFlagsValidate(t *testing.T) {
	for _, tc := range []struct {
		args []string
		err  string // "" for valid
	}{
		{[]string{"--storage.tsdb.min-block-duration=5m"}, ""},
		{[]string{"--storage.tsdb.min-block-duration=2m", "--storage.tsdb.max-block-duration=6m"}, ""},
		{[]string{"--storage.tsdb.min-block-duration=2m", "--storage.tsdb.max-block-duration=2m"}, ""},
		{[]string{"--storage.tsdb.min-block-duration=0s"}, "--storage.tsdb.min-block-duration 0s must be greater than 0"},
		{[]string{"--storage.tsdb.min-block-duration=10m", "--storage.tsdb.max-block-duration=5m"},
			"--storage.tsdb.max-block-duration 5m must be at least --storage.tsdb.min-block-duration 10m"},
		{[]string{"--storage.tsdb.max-block-duration=1h"}, "--storage.tsdb.max-block-duration 1h must be at least --storage.tsdb.min-block-duration 2h"},
		{[]string{"--storage.tsdb.max-block-duration=31d"}, ""},
	} {
		err := parseServerFlags(t, tc.args...).validate()
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.args, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: error %v, want one containing %q", tc.args, err, tc.err)
		}
	}
}

// TestBlockDurationFlagsReachTSDB opens the DB as the server does and
// checks the block ranges compaction produces: level-1 blocks of the
// minimum range, merged in threes, never beyond the maximum.
func TestBlockDurationFlagsReachTSDB(t *testing.T) {
	for _, tc := range []struct {
		name      string
		args      []string
		wantSpans map[int]int64 // compaction level -> range in ms; nil: no blocks
	}{
		{"defaults", nil, nil},
		{"1m-3m", []string{"--storage.tsdb.min-block-duration=1m", "--storage.tsdb.max-block-duration=3m"},
			map[int]int64{1: 60_000, 2: 180_000}},
		{"1m-1m", []string{"--storage.tsdb.min-block-duration=1m", "--storage.tsdb.max-block-duration=1m"},
			map[int]int64{1: 60_000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--storage.tsdb.path=" + filepath.Join(t.TempDir(), "data")}, tc.args...)
			f := parseServerFlags(t, args...)
			if err := f.validate(); err != nil {
				t.Fatal(err)
			}
			s := &server{flags: f, logger: slog.New(slog.NewTextHandler(io.Discard, nil)), reg: prometheus.NewRegistry(),
				storage: &readyStorage{progress: &tsdb.ReplayProgress{}}}
			db, err := s.openDB()
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			ctx := context.Background()
			// 12 minutes of one sample per second for two series.
			for ts := int64(0); ts < 12*60_000; ts += 1000 {
				app := db.Appender(ctx)
				for _, name := range []string{"a", "b"} {
					if _, err := app.Append(0, labels.FromStrings("__name__", name), ts, float64(ts)); err != nil {
						t.Fatal(err)
					}
				}
				if err := app.Commit(); err != nil {
					t.Fatal(err)
				}
			}
			if err := db.Compact(ctx); err != nil {
				t.Fatal(err)
			}
			metas := db.Blocks()
			if tc.wantSpans == nil {
				if len(metas) != 0 {
					t.Fatalf("%d blocks from 12 minutes with a 2h block range", len(metas))
				}
				return
			}
			seen := map[int]int{}
			for _, m := range metas {
				want, ok := tc.wantSpans[m.Compaction.Level]
				if !ok {
					t.Fatalf("block %s at level %d, want levels %v", m.ULID, m.Compaction.Level, tc.wantSpans)
				}
				if span := m.MaxTime - m.MinTime; span != want {
					t.Errorf("level %d block spans %d ms, want %d", m.Compaction.Level, span, want)
				}
				seen[m.Compaction.Level]++
			}
			for lvl := range tc.wantSpans {
				if seen[lvl] == 0 {
					t.Errorf("no level-%d block among %d blocks", lvl, len(metas))
				}
			}
		})
	}
}
