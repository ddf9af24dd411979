package main

import (
	"fmt"
	"io"

	"github.com/alecthomas/kingpin/v2"
)

// Exit codes shared with promtool, so scripts written for it keep working.
const (
	exitSuccess  = 0
	exitFailure  = 1
	exitLintFail = 3
)

// commands holds the subcommands and what each runs. Every subcommand
// registers its flags and its action in newCommands.
type commands struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	actions        map[string]func() int
	// server holds the server's flags once parsed (tests read them).
	server *serverFlags
}

func newCommands(app *kingpin.Application, stdin io.Reader, stdout, stderr io.Writer) *commands {
	c := &commands{stdin: stdin, stdout: stdout, stderr: stderr, actions: map[string]func() int{}}
	c.registerServer(app)
	tool := app.Command("tool", "Tooling for Prometheus-compatible setups (what promtool does).")
	check := tool.Command("check", "Check the validity of inputs.")
	c.registerCheckMetrics(check)
	return c
}

func (c *commands) dispatch(selected string) int {
	action, ok := c.actions[selected]
	if !ok {
		fmt.Fprintf(c.stderr, "vigil: error: unknown command %q\n", selected)
		return 2
	}
	return action()
}
