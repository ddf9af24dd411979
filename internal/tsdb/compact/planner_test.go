package compact

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/internal/tsdb/block"
)

func TestRanges(t *testing.T) {
	if got := ExponentialRanges(2, 4, 3); !slices.Equal(got, []int64{2, 6, 18, 54}) {
		t.Fatalf("ExponentialRanges = %v", got)
	}
	h := hour
	for _, tc := range []struct {
		retention time.Duration
		want      []int64
	}{
		{0, []int64{2 * h, 6 * h, 18 * h, 54 * h, 162 * h, 486 * h}}, // up to 31d (744h)
		{15 * 24 * time.Hour, []int64{2 * h, 6 * h, 18 * h}},         // 10% = 36h
		{time.Hour, []int64{2 * h}},                                  // always at least the head range
		{365 * 24 * time.Hour, []int64{2 * h, 6 * h, 18 * h, 54 * h, 162 * h, 486 * h}},
	} {
		if got := RangesForRetention(tc.retention); !slices.Equal(got, tc.want) {
			t.Errorf("RangesForRetention(%v) = %v, want %v", tc.retention, got, tc.want)
		}
	}
}

// bm builds a DirMeta named by its range in hours.
func bm(mint, maxt int64, opts ...func(*block.Meta)) DirMeta {
	m := block.Meta{MinTime: mint * hour, MaxTime: maxt * hour}
	m.ULID[15] = byte(mint)
	m.ULID[14] = byte(maxt)
	for _, o := range opts {
		o(&m)
	}
	return DirMeta{Dir: fmt.Sprintf("%d-%d", mint, maxt), Meta: m}
}

func failed(m *block.Meta) { m.Compaction.Failed = true }

func tombs(series, stones uint64) func(*block.Meta) {
	return func(m *block.Meta) { m.Stats.NumSeries, m.Stats.NumTombstones = series, stones }
}

func TestPlanMetas(t *testing.T) {
	ranges := []int64{2 * hour, 6 * hour, 18 * hour, 54 * hour}
	cases := []struct {
		name   string
		blocks []DirMeta
		want   []string
	}{
		{"nothing", nil, nil},
		{"one block", []DirMeta{bm(0, 2)}, nil},
		{"two blocks, newest excluded", []DirMeta{bm(0, 2), bm(2, 4)}, nil},
		{"three fill 6h, newest excluded", []DirMeta{bm(0, 2), bm(2, 4), bm(4, 6)}, nil},
		{"full 6h window", []DirMeta{bm(0, 2), bm(2, 4), bm(4, 6), bm(6, 8)}, []string{"0-2", "2-4", "4-6"}},
		{"order does not matter", []DirMeta{bm(6, 8), bm(4, 6), bm(0, 2), bm(2, 4)}, []string{"0-2", "2-4", "4-6"}},
		{"window not closed, newest ignored", []DirMeta{bm(0, 2), bm(2, 4), bm(6, 8)}, nil},
		{"full span with a gap inside", []DirMeta{bm(0, 2), bm(4, 6), bm(8, 10)}, []string{"0-2", "4-6"}},
		{"window closed by a later block", []DirMeta{bm(0, 2), bm(4, 6), bm(6, 8), bm(8, 10)}, []string{"0-2", "4-6"}},
		{"partial window at the newest", []DirMeta{bm(6, 8), bm(8, 10)}, nil},
		{"level 2 windows into 18h", []DirMeta{bm(0, 6), bm(6, 12), bm(12, 18), bm(18, 20)}, []string{"0-6", "6-12", "12-18"}},
		{"smaller range first", []DirMeta{bm(0, 6), bm(6, 12), bm(12, 14), bm(14, 16), bm(16, 18), bm(18, 20)}, []string{"12-14", "14-16", "16-18"}},
		{"misaligned block skipped", []DirMeta{bm(1, 7), bm(7, 8), bm(8, 10), bm(12, 14), bm(14, 16)}, []string{"7-8", "8-10"}},
		{"overlap first", []DirMeta{bm(0, 2), bm(2, 4), bm(4, 6), bm(6, 8), bm(7, 9)}, []string{"6-8", "7-9"}},
		{"overlap transitive", []DirMeta{bm(0, 4), bm(1, 2), bm(3, 6), bm(8, 10)}, []string{"0-4", "1-2", "3-6"}},
		{"overlap of the newest", []DirMeta{bm(0, 2), bm(1, 3)}, []string{"0-2", "1-3"}},
		{"failed block stays", []DirMeta{bm(0, 2), bm(2, 4, failed), bm(4, 6), bm(6, 8)}, nil},
		{"tombstones in a big block", []DirMeta{bm(0, 18, tombs(100, 10)), bm(18, 20)}, []string{"0-18"}},
		{"few tombstones", []DirMeta{bm(0, 18, tombs(100, 3)), bm(18, 20)}, nil},
		{"small block wholly deleted", []DirMeta{bm(0, 2, tombs(5, 5)), bm(2, 4)}, []string{"0-2"}},
		{"small block partly deleted", []DirMeta{bm(0, 2, tombs(5, 4)), bm(2, 4)}, nil},
		{"negative times", []DirMeta{bm(-6, -4), bm(-4, -2), bm(-2, 0), bm(0, 2)}, []string{"-6--4", "-4--2", "-2-0"}},
	}
	for _, tc := range cases {
		if got := PlanMetas(tc.blocks, ranges); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}
