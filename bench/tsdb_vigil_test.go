package bench

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb"
	"github.com/vigil-monitoring/vigil/internal/tsdb/block"
	"github.com/vigil-monitoring/vigil/internal/tsdb/compact"
	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
)

func init() {
	tsdbImpls = append(tsdbImpls, tsdbImpl{
		name:      "vigil",
		open:      openVigilTSDB,
		compact:   compactVigilTSDB,
		openBlock: openVigilBlock,
	})
}

// vigilTSDB is Vigil's DB with tsdb.DefaultOptions (Snappy WAL, 2 h chunk
// range) and, as on the Prometheus side, the background compaction loop
// off, so the benchmarks decide when blocks are written: level-1 blocks
// are written from its head with compact.Write, as the head's oldest
// range becomes a block.
type vigilTSDB struct {
	vigilQueryable
	db *tsdb.DB
	sb labels.ScratchBuilder
}

func openVigilTSDB(dir string) (tsdbDB, error) {
	opts := tsdb.DefaultOptions()
	opts.DisableCompaction = true
	db, err := tsdb.Open(dir, opts)
	if err != nil {
		return nil, err
	}
	return &vigilTSDB{vigilQueryable: vigilQueryable{q: db.Querier}, db: db, sb: labels.NewScratchBuilder(10)}, nil
}

func (s *vigilTSDB) scrape(d *tsdbDataset, refs []uint64, lo int, t int64, vals []float64) error {
	app := s.db.Appender(context.Background())
	for k, v := range vals {
		i := lo + k
		var ls labels.Labels // the reference alone names a known series
		if refs[i] == 0 {
			s.sb.Reset()
			d.labels(i, s.sb.Add)
			s.sb.Sort()
			ls = s.sb.Labels()
		}
		ref, err := app.Append(storage.SeriesRef(refs[i]), ls, t, v)
		if err != nil {
			app.Rollback()
			return err
		}
		refs[i] = uint64(ref)
	}
	return app.Commit()
}

func (s *vigilTSDB) writeBlock(dest string, mint, maxt int64) (string, error) {
	c, err := compact.New(compact.Options{})
	if err != nil {
		return "", err
	}
	q, err := s.db.Querier(mint, maxt-1)
	if err != nil {
		return "", err
	}
	defer q.Close()
	m, err := c.Write(context.Background(), dest, q, mint, maxt, nil)
	if err != nil {
		return "", err
	}
	return filepath.Join(dest, m.ULID.String()), nil
}

func (s *vigilTSDB) settle() {}

func (s *vigilTSDB) close() error { return s.db.Close() }

// compactVigilTSDB compacts with the default ranges (2 h, 6 h, 18 h, ...)
// and codec choice: level-2 blocks store floats in the cold encoding.
func compactVigilTSDB(dest string, dirs []string) (string, error) {
	c, err := compact.New(compact.Options{})
	if err != nil {
		return "", err
	}
	m, err := c.Compact(context.Background(), dest, dirs, nil)
	if err != nil {
		return "", err
	}
	return filepath.Join(dest, m.ULID.String()), nil
}

type vigilBlock struct {
	vigilQueryable
	b *block.Block
}

func openVigilBlock(dir string) (tsdbQueryable, error) {
	b, err := block.Open(vfs.OS(), dir)
	if err != nil {
		return nil, err
	}
	return &vigilBlock{vigilQueryable{q: b.Querier}, b}, nil
}

func (b *vigilBlock) close() error { return b.b.Close() }

// vigilQueryable selects from whatever gives Vigil queriers.
type vigilQueryable struct {
	q func(mint, maxt int64) (storage.Querier, error)
}

func (v vigilQueryable) selector(q tsdbQuery) (tsdbSelectFunc, error) {
	var ms []*labels.Matcher
	for _, m := range q.matchers {
		typ := labels.MatchEqual
		if m.regexp {
			typ = labels.MatchRegexp
		}
		lm, err := labels.NewMatcher(typ, m.name, m.value)
		if err != nil {
			return nil, err
		}
		ms = append(ms, lm)
	}
	var it storage.Iterator
	var sb strings.Builder
	return func(ctx context.Context, mint, maxt int64, visit tsdbVisit) (tsdbStats, error) {
		var st tsdbStats
		qr, err := v.q(mint, maxt)
		if err != nil {
			return st, err
		}
		defer qr.Close()
		set := qr.Select(ctx, false, nil, ms...)
		for set.Next() {
			s := set.At()
			it = s.Iterator(it)
			n, sum, tsum := 0, 0.0, int64(0)
			for it.Next() == storage.ValFloat {
				t, v := it.At()
				n++
				sum += v
				tsum += t
			}
			if err := it.Err(); err != nil {
				return st, err
			}
			st.series++
			st.samples += n
			st.sum += sum
			if visit != nil {
				sb.Reset()
				s.Labels().Range(func(l labels.Label) { tsdbKey(&sb, l.Name, l.Value) })
				visit(sb.String(), n, sum, tsum)
			}
		}
		return st, set.Err()
	}, nil
}
