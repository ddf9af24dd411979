// Package bench holds Vigil's peer benchmarks: the same work done by Vigil,
// Prometheus and VictoriaMetrics, measured side by side in one
// `go test -bench` run so benchstat can compare them column by column
// (`benchstat -col /impl`).
//
// It is a separate module (github.com/vigil-monitoring/vigil/bench) so that
// the product module never depends on the peers' code: bench imports the
// product, the product never imports bench. Because the module path lies
// under github.com/vigil-monitoring/vigil/, Go's internal-package rule lets
// it import github.com/vigil-monitoring/vigil/internal/...; the replace
// directive in go.mod points that import at the working tree (../).
//
// The package has no non-test code; everything lives in _test.go files.
package bench
