package api

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb"
)

// seriesCount counts the series matching ms over all time.
func seriesCount(t *testing.T, q storage.Queryable, ms ...*labels.Matcher) int {
	t.Helper()
	qr, err := q.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer qr.Close()
	set := qr.Select(context.Background(), false, nil, ms...)
	n := 0
	for set.Next() {
		n++
	}
	if err := set.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAdminWithDB drives the admin endpoints against the real database:
// a snapshot opens as a database with the same series, a deletion hides
// the series, and cleaning tombstones succeeds.
func TestAdminWithDB(t *testing.T) {
	a, db := newTestAPI(t, func(o *Options) {
		o.EnableAdmin = true
		o.Admin = o.Queryable.(*tsdb.DB)
	})
	post := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		a.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "http://vigil"+path, nil))
		return rec
	}
	all := labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+")
	want := seriesCount(t, db, all)

	for _, skipHead := range []bool{false, true} {
		path := "/admin/tsdb/snapshot"
		if skipHead {
			path += "?skip_head=true"
		}
		rec := post(path)
		if rec.Code != http.StatusOK {
			t.Fatalf("snapshot: HTTP %d: %s", rec.Code, rec.Body)
		}
		var resp struct {
			Status string `json:"status"`
			Data   struct {
				Name string `json:"name"`
			} `json:"data"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^\d{8}T\d{6}Z-[0-9a-f]{16}$`).MatchString(resp.Data.Name) {
			t.Fatalf("snapshot name %q", resp.Data.Name)
		}
		sdb, err := tsdb.Open(filepath.Join(db.Dir(), "snapshots", resp.Data.Name), tsdb.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		got := seriesCount(t, sdb, all)
		sdb.Close()
		// Everything is in the head: a snapshot without it is empty.
		if (!skipHead && got != want) || (skipHead && got != 0) {
			t.Fatalf("snapshot (skip_head %v) has %d series, the database %d", skipHead, got, want)
		}
	}

	node := labels.MustNewMatcher(labels.MatchEqual, "job", "node")
	if seriesCount(t, db, node) == 0 {
		t.Fatal("fixture has no job=node series")
	}
	if rec := post(`/admin/tsdb/delete_series?match[]=up{job="node"}`); rec.Code != http.StatusNoContent {
		t.Fatalf("delete_series: HTTP %d: %s", rec.Code, rec.Body)
	}
	if n := seriesCount(t, db, node); n != 0 {
		t.Fatalf("%d job=node series after deleting them", n)
	}
	if n := seriesCount(t, db, all); n != want-1 {
		t.Fatalf("%d series after deleting one of %d", n, want)
	}
	if rec := post("/admin/tsdb/clean_tombstones"); rec.Code != http.StatusNoContent {
		t.Fatalf("clean_tombstones: HTTP %d: %s", rec.Code, rec.Body)
	}
}
