// Package metadata owns the per-metric metadata (type, unit, help) that
// scraping records, storage keeps and the metadata APIs serve.
package metadata

// Type is a metric family's type, spelled as OpenMetrics spells it
// ("counter", "gauge", "histogram", "gaugehistogram", "summary", "info",
// "stateset", "unknown").
type Type string

const (
	TypeCounter        Type = "counter"
	TypeGauge          Type = "gauge"
	TypeHistogram      Type = "histogram"
	TypeGaugeHistogram Type = "gaugehistogram"
	TypeSummary        Type = "summary"
	TypeInfo           Type = "info"
	TypeStateset       Type = "stateset"
	TypeUnknown        Type = "unknown"
)

// Metadata describes one metric family.
type Metadata struct {
	Type Type
	Unit string
	Help string
}
