package main

import (
	"fmt"
	"os"

	"github.com/vigil-monitoring/vigil/internal/promql"
)

// applyQueryLog points the engine's query log at path (global
// query_log_file; empty turns it off). The file is reopened only when the
// path changes, so a reload does not lose lines in flight. It runs under
// reloadMu, which guards queryLogPath.
func (s *server) applyQueryLog(path string) error {
	if path == s.queryLogPath {
		return nil
	}
	if path == "" {
		s.queryLogPath = ""
		return s.engine.SetQueryLogger(nil)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o666)
	if err != nil {
		return fmt.Errorf("opening query log file %s: %w", path, err)
	}
	s.queryLogPath = path
	if err := s.engine.SetQueryLogger(promql.NewJSONLinesQueryLogger(f)); err != nil {
		s.logger.Warn("Closing the previous query log failed", "err", err)
	}
	return nil
}
