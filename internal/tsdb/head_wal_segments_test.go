package tsdb

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/tsdb/wal"
)

// TestTruncationFreesSlowWAL appends far less than a segment between
// truncations: each truncation must close the segment being written, so
// later ones can checkpoint it and delete it. Before, the single segment
// held every sample ever written until it filled 128 MiB.
func TestTruncationFreesSlowWAL(t *testing.T) {
	dir := t.TempDir()
	db := openTestDB(t, dir, testOptions())
	defer db.Close()
	lset := labels.FromStrings("__name__", "slow")
	for i := range 6 {
		app := db.Appender(context.Background())
		if _, err := app.Append(0, lset, int64(i)*1000, float64(i)); err != nil {
			t.Fatal(err)
		}
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := db.Head().Truncate(int64(i) * 1000); err != nil {
			t.Fatal(err)
		}
	}
	segs, err := wal.Segments(db.opts.FS, filepath.Join(dir, "wal"))
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) == 0 || segs[0] == 0 {
		t.Fatalf("WAL segments %v: segment 0 was never checkpointed and deleted", segs)
	}
	if _, cp, err := wal.LastCheckpoint(db.opts.FS, filepath.Join(dir, "wal")); err != nil || cp < 0 {
		t.Fatalf("no checkpoint after 6 truncations (index %d, err %v)", cp, err)
	}
}
