package bench

import (
	"fmt"
	"testing"
	"unsafe"

	vmprom "github.com/VictoriaMetrics/VictoriaMetrics/lib/protoparser/prometheus"
)

func init() {
	parseImpls = append(parseImpls, parseImpl{
		name:    "victoriametrics",
		text:    true,
		prepare: prepareVictoriaMetrics,
		samples: samplesVictoriaMetrics,
	})
}

// prepareVictoriaMetrics drives VictoriaMetrics' text parser the way its
// scraper does: one Rows reused across bodies, the body handed over as a
// string without copying, and every row (metric name plus tags) built in one
// pass. VictoriaMetrics has no separate "labels" step, so every mode does
// the same work. Comment and metadata lines are skipped by the parser.
func prepareVictoriaMetrics(tb testing.TB, body []byte, contentType string, mode parseMode) func() (int, error) {
	var rows vmprom.Rows
	var parseErrs int
	var firstErr string
	logErr := func(s string) {
		if parseErrs == 0 {
			firstErr = s
		}
		parseErrs++
	}
	s := unsafe.String(unsafe.SliceData(body), len(body))
	return func() (int, error) {
		rows.UnmarshalWithErrLogger(s, logErr)
		if parseErrs > 0 {
			return 0, fmt.Errorf("victoriametrics: %d lines rejected, first: %s", parseErrs, firstErr)
		}
		for i := range rows.Rows {
			r := &rows.Rows[i]
			sinkFloat += r.Value
			sinkInt += len(r.Tags)
		}
		return len(rows.Rows), nil
	}
}

func samplesVictoriaMetrics(body []byte, _ string) ([]sample, error) {
	var rows vmprom.Rows
	var errs []string
	rows.UnmarshalWithErrLogger(string(body), func(s string) { errs = append(errs, s) })
	if len(errs) > 0 {
		return nil, fmt.Errorf("%d lines rejected, first: %s", len(errs), errs[0])
	}
	out := make([]sample, 0, len(rows.Rows))
	for _, r := range rows.Rows {
		pairs := make([][2]string, 0, len(r.Tags))
		for _, t := range r.Tags {
			pairs = append(pairs, [2]string{t.Key, t.Value})
		}
		out = append(out, canonicalSample(r.Metric, pairs, r.Value))
	}
	return out, nil
}
