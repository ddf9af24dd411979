package bench

import (
	"errors"
	"io"
	"testing"

	promlabels "github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
)

func init() {
	parseImpls = append(parseImpls, parseImpl{
		name:    "prometheus",
		text:    true,
		om:      true,
		prepare: preparePrometheus,
		samples: samplesPrometheus,
	})
}

// preparePrometheus drives Prometheus' own parsers the way its scrape loop
// does: a new parser per body (textparse.NewPromParser for the text format,
// NewOpenMetricsParser for OpenMetrics) sharing one symbol table, and one
// labels.Labels reused for every sample.
func preparePrometheus(tb testing.TB, body []byte, contentType string, mode parseMode) func() (int, error) {
	st := promlabels.NewSymbolTable()
	var lset promlabels.Labels
	withLabels := mode != modeEntries
	om := contentType == omContentType
	return func() (int, error) {
		var p textparse.Parser
		if om {
			p = textparse.NewOpenMetricsParser(body, st)
		} else {
			p = textparse.NewPromParser(body, st, false)
		}
		samples := 0
		for {
			et, err := p.Next()
			if err != nil {
				if errors.Is(err, io.EOF) {
					return samples, nil
				}
				return samples, err
			}
			if et != textparse.EntrySeries {
				continue
			}
			_, _, v := p.Series()
			sinkFloat += v
			if withLabels {
				p.Labels(&lset)
				sinkInt += lset.Len()
			}
			samples++
		}
	}
}

func samplesPrometheus(body []byte, contentType string) ([]sample, error) {
	var p textparse.Parser
	if contentType == omContentType {
		p = textparse.NewOpenMetricsParser(body, promlabels.NewSymbolTable())
	} else {
		p = textparse.NewPromParser(body, promlabels.NewSymbolTable(), false)
	}
	var out []sample
	var lset promlabels.Labels
	for {
		et, err := p.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, err
		}
		if et != textparse.EntrySeries {
			continue
		}
		_, _, v := p.Series()
		p.Labels(&lset)
		var pairs [][2]string
		lset.Range(func(l promlabels.Label) {
			if l.Name != promlabels.MetricName {
				pairs = append(pairs, [2]string{l.Name, l.Value})
			}
		})
		out = append(out, canonicalSample(lset.Get(promlabels.MetricName), pairs, v))
	}
}
