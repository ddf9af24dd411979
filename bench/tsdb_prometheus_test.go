package bench

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"

	promlabels "github.com/prometheus/prometheus/model/labels"
	promstorage "github.com/prometheus/prometheus/storage"
	promtsdb "github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/util/compression"
)

func init() {
	tsdbImpls = append(tsdbImpls, tsdbImpl{
		name:      "prometheus",
		open:      openPrometheusTSDB,
		compact:   compactPrometheusTSDB,
		openBlock: openPrometheusBlock,
	})
}

var promTSDBLogger = slog.New(slog.DiscardHandler)

// promTSDBRanges are the compactor's level ranges as a server with the
// default 15 d retention has them: 2 h, 6 h, 18 h, 54 h, 162 h.
var promTSDBRanges = promtsdb.ExponentialBlockRanges(promtsdb.DefaultBlockDuration, 5, 3)

// prometheusTSDB is Prometheus' DB with the options the prometheus server
// passes by default: tsdb.DefaultOptions plus a Snappy WAL
// (--storage.tsdb.wal-compression defaults to true) and no head chunk
// write queue (--storage.tsdb.head-chunks-write-queue-size defaults to
// 0). Background compaction is disabled so the benchmarks decide when
// blocks are written; level-1 blocks are written from the head the way
// DB.Compact does (a RangeHead with isolation off through the leveled
// compactor's Write).
type prometheusTSDB struct {
	promQueryable
	db *promtsdb.DB
	sb promlabels.ScratchBuilder
}

func openPrometheusTSDB(dir string) (tsdbDB, error) {
	opts := promtsdb.DefaultOptions()
	opts.WALCompression = compression.Snappy
	opts.HeadChunksWriteQueueSize = 0
	db, err := promtsdb.Open(dir, promTSDBLogger, nil, opts, nil)
	if err != nil {
		return nil, err
	}
	db.DisableCompactions()
	return &prometheusTSDB{promQueryable: promQueryable{q: db.Querier}, db: db, sb: promlabels.NewScratchBuilder(10)}, nil
}

func (s *prometheusTSDB) scrape(d *tsdbDataset, refs []uint64, lo int, t int64, vals []float64) error {
	app := s.db.Appender(context.Background())
	for k, v := range vals {
		i := lo + k
		var ls promlabels.Labels // the reference alone names a known series
		if refs[i] == 0 {
			s.sb.Reset()
			d.labels(i, s.sb.Add)
			s.sb.Sort()
			ls = s.sb.Labels()
		}
		ref, err := app.Append(promstorage.SeriesRef(refs[i]), ls, t, v)
		if err != nil {
			app.Rollback()
			return err
		}
		refs[i] = uint64(ref)
	}
	return app.Commit()
}

func newPromCompactor() (*promtsdb.LeveledCompactor, error) {
	// As DB.Open configures it.
	return promtsdb.NewLeveledCompactorWithOptions(context.Background(), nil, promTSDBLogger, promTSDBRanges, chunkenc.NewPool(),
		promtsdb.LeveledCompactorOptions{
			EnableOverlappingCompaction: true,
			PD:                          promtsdb.DefaultPostingsDecoderFactory,
		})
}

func (s *prometheusTSDB) writeBlock(dest string, mint, maxt int64) (string, error) {
	c, err := newPromCompactor()
	if err != nil {
		return "", err
	}
	ids, err := c.Write(dest, promtsdb.NewRangeHeadWithIsolationDisabled(s.db.Head(), mint, maxt-1), mint, maxt, nil)
	if err != nil {
		return "", err
	}
	return filepath.Join(dest, ids[0].String()), nil
}

func (s *prometheusTSDB) settle() { s.db.ForceHeadMMap() }

func (s *prometheusTSDB) close() error { return s.db.Close() }

func compactPrometheusTSDB(dest string, dirs []string) (string, error) {
	c, err := newPromCompactor()
	if err != nil {
		return "", err
	}
	ids, err := c.Compact(dest, dirs, nil)
	if err != nil {
		return "", err
	}
	return filepath.Join(dest, ids[0].String()), nil
}

type promBlock struct {
	promQueryable
	b *promtsdb.Block
}

func openPrometheusBlock(dir string) (tsdbQueryable, error) {
	b, err := promtsdb.OpenBlock(promTSDBLogger, dir, chunkenc.NewPool(), promtsdb.DefaultPostingsDecoderFactory)
	if err != nil {
		return nil, err
	}
	return &promBlock{promQueryable{q: func(mint, maxt int64) (promstorage.Querier, error) {
		return promtsdb.NewBlockQuerier(b, mint, maxt)
	}}, b}, nil
}

func (b *promBlock) close() error { return b.b.Close() }

// promQueryable selects from whatever gives Prometheus queriers.
type promQueryable struct {
	q func(mint, maxt int64) (promstorage.Querier, error)
}

func (p promQueryable) selector(q tsdbQuery) (tsdbSelectFunc, error) {
	var ms []*promlabels.Matcher
	for _, m := range q.matchers {
		typ := promlabels.MatchEqual
		if m.regexp {
			typ = promlabels.MatchRegexp
		}
		lm, err := promlabels.NewMatcher(typ, m.name, m.value)
		if err != nil {
			return nil, err
		}
		ms = append(ms, lm)
	}
	var it chunkenc.Iterator
	var sb strings.Builder
	return func(ctx context.Context, mint, maxt int64, visit tsdbVisit) (tsdbStats, error) {
		var st tsdbStats
		qr, err := p.q(mint, maxt)
		if err != nil {
			return st, err
		}
		defer qr.Close()
		set := qr.Select(ctx, false, nil, ms...)
		for set.Next() {
			s := set.At()
			it = s.Iterator(it)
			n, sum, tsum := 0, 0.0, int64(0)
			for it.Next() == chunkenc.ValFloat {
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
				s.Labels().Range(func(l promlabels.Label) { tsdbKey(&sb, l.Name, l.Value) })
				visit(sb.String(), n, sum, tsum)
			}
		}
		return st, set.Err()
	}, nil
}
