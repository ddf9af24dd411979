package main

import (
	"bytes"
	"fmt"
	"io"

	"github.com/alecthomas/kingpin/v2"

	"github.com/vigil-monitoring/vigil/internal/exposition/lint"
)

func (c *commands) registerCheckMetrics(check *kingpin.CmdClause) {
	cmd := check.Command("metrics", `Pass Prometheus metrics over stdin to lint them for consistency and correctness.

examples:

$ cat metrics.prom | vigil tool check metrics

$ curl -s http://localhost:9090/metrics | vigil tool check metrics`)
	c.actions[cmd.FullCommand()] = c.checkMetrics
}

// checkMetrics reads an exposition body from stdin, parses it strictly and
// reports naming-convention problems as promtool does: one "<metric>
// <problem>" line each on stderr and exit code 3, or exit code 1 when the
// input does not parse.
func (c *commands) checkMetrics() int {
	body, err := io.ReadAll(c.stdin)
	if err != nil {
		fmt.Fprintln(c.stderr, "error while reading metrics:", err)
		return exitFailure
	}
	problems, err := lint.Lint(body, detectContentType(body))
	if err != nil {
		fmt.Fprintln(c.stderr, "error while linting:", err)
		return exitFailure
	}
	for _, p := range problems {
		fmt.Fprintln(c.stderr, p.Metric, p.Text)
	}
	if len(problems) > 0 {
		return exitLintFail
	}
	return exitSuccess
}

// detectContentType tells OpenMetrics from the text format by the `# EOF`
// line OpenMetrics requires at the end; stdin carries no Content-Type.
func detectContentType(body []byte) string {
	trimmed := bytes.TrimRight(body, "\n")
	if bytes.HasSuffix(trimmed, []byte("# EOF")) {
		return "application/openmetrics-text; version=1.0.0"
	}
	return "text/plain; version=0.0.4"
}
