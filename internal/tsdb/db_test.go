package tsdb

import (
	"testing"

	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/storage/storagetest"
)

// testOptions are small options for tests. Compaction runs only where a
// test calls Compact, so head tests see the head they filled.
func testOptions() Options {
	o := DefaultOptions()
	o.StripeSize = 64
	o.WALSegmentSize = 4 * 32 * 1024
	o.DisableCompaction = true
	return o
}

func openTestDB(t testing.TB, dir string, opts Options) *DB {
	t.Helper()
	db, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestDBConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) (storage.Appendable, storage.Queryable) {
		opts := testOptions()
		opts.DisableCompaction = false // the real thing, background loop included
		db := openTestDB(t, t.TempDir(), opts)
		t.Cleanup(func() {
			if err := db.Close(); err != nil {
				t.Error(err)
			}
		})
		return db, db
	})
}
