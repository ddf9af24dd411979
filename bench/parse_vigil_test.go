package bench

import (
	"errors"
	"io"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/exposition"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

func init() {
	parseImpls = append([]parseImpl{{
		name:    "vigil",
		text:    true,
		om:      true,
		prepare: prepareVigil,
		samples: samplesVigil,
	}}, parseImpls...)
}

// generateNodeExporter returns a body from Vigil's node-exporter-like
// payload generator of at least targetBytes bytes; all implementations parse
// it. The generator's size estimate can fall well short of the target (asked
// for 1 MiB it returned 463 KB when this was written), so the request is
// scaled up until the body is big enough.
func generateNodeExporter(targetBytes int) []byte {
	ask := targetBytes
	body := exposition.GenerateNodeExporterPayload(ask)
	for range 8 {
		if len(body) >= targetBytes {
			break
		}
		ask = int(float64(ask) * float64(targetBytes) / float64(len(body)) * 1.02)
		body = exposition.GenerateNodeExporterPayload(ask)
	}
	return body
}

// sinkVigilLabelSet keeps the label sets built in modeLabelSet alive.
var sinkVigilLabelSet labels.Labels

// prepareVigil drives Vigil's parser as its scrape loop does: a new parser
// per body from exposition.New with zero Options, and one ScratchBuilder
// reused for every sample.
func prepareVigil(tb testing.TB, body []byte, contentType string, mode parseMode) func() (int, error) {
	sb := labels.NewScratchBuilder(16)
	return func() (int, error) {
		p, err := exposition.New(body, contentType, exposition.Options{})
		if err != nil {
			return 0, err
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
			if et != exposition.EntrySeries {
				continue
			}
			_, _, v := p.Series()
			sinkFloat += v
			switch mode {
			case modeLabels:
				p.Labels(&sb)
			case modeLabelSet:
				p.Labels(&sb)
				sinkVigilLabelSet = sb.Labels()
			}
			samples++
		}
	}
}

func samplesVigil(body []byte, contentType string) ([]sample, error) {
	p, err := exposition.New(body, contentType, exposition.Options{})
	if err != nil {
		return nil, err
	}
	var out []sample
	sb := labels.NewScratchBuilder(16)
	for {
		et, err := p.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, err
		}
		if et != exposition.EntrySeries {
			continue
		}
		_, _, v := p.Series()
		p.Labels(&sb)
		lset := sb.Labels()
		var pairs [][2]string
		lset.Range(func(l labels.Label) {
			if l.Name != "__name__" {
				pairs = append(pairs, [2]string{l.Name, l.Value})
			}
		})
		out = append(out, canonicalSample(lset.Get("__name__"), pairs, v))
	}
}
