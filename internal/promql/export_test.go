package promql

// SetSeriesMajor turns the series-by-series evaluation of binary
// operations and aggregations on or off, for tests that compare it with
// the step-by-step one.
func SetSeriesMajor(on bool) { seriesMajor = on }
