// Command vigil is the single Vigil binary. It is the only place that reads
// flags, builds the logger and the metrics registry, and wires components
// together (see docs/architecture.md).
//
// Subcommands appear here only once they work. `vigil server` is the
// default: a bare `vigil` (or `vigil --config.file=...`, as with
// Prometheus) runs the server; the alertmanager and node-exporter modes
// are still being built.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/alecthomas/kingpin/v2"

	"github.com/vigil-monitoring/vigil/internal/version"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// errVersionShown stops parsing once --version has printed.
var errVersionShown = errors.New("version shown")

// run is main without the process around it, so tests can drive the CLI.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := kingpin.New("vigil", "A Prometheus-compatible monitoring system: scraping, storage, PromQL, rules and alerting in one binary.")
	app.UsageWriter(stdout)
	app.ErrorWriter(stderr)
	app.HelpFlag.Short('h')
	exitCode := -1
	app.Terminate(func(code int) {
		if exitCode < 0 {
			exitCode = code
		}
	})
	// kingpin's own --version exits the process; a pre-action that ends
	// the run through Terminate keeps run testable and works before a
	// subcommand is chosen.
	app.Flag("version", "Show build information and exit.").PreAction(func(*kingpin.ParseContext) error {
		fmt.Fprint(stdout, version.Get().Print("vigil"))
		exitCode = 0
		return errVersionShown
	}).Bool()

	cmd := newCommands(app, stdin, stdout, stderr)

	selected, err := app.Parse(args)
	if exitCode >= 0 { // --help, --version and friends ended the run.
		return exitCode
	}
	if err != nil {
		fmt.Fprintf(stderr, "vigil: error: %v, try --help\n", err)
		return 2
	}
	return cmd.dispatch(selected)
}
