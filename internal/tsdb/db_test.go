package tsdb

import (
	"testing"

	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/storage/storagetest"
)

func testOptions() Options {
	o := DefaultOptions()
	o.StripeSize = 64
	o.WALSegmentSize = 4 * 32 * 1024
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
		db := openTestDB(t, t.TempDir(), testOptions())
		t.Cleanup(func() {
			if err := db.Close(); err != nil {
				t.Error(err)
			}
		})
		return db, db
	})
}
