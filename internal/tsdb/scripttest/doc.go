// Package scripttest is a runner for data-driven TSDB test scripts: small
// text files that open a tsdb.DB in a temporary directory, append, restart,
// compact, delete and query, and state after each step what the database
// must answer. The scripts pin edge cases of the head and of compaction
// that are tedious to express as Go code; the runner drives only the
// exported APIs of tsdb, tsdb/block, tsdb/compact and storage, so the
// scripts keep working while those packages' internals change.
//
// # File format
//
// A script is a sequence of blocks separated by blank lines. Lines starting
// with '#' are comments and are ignored everywhere. A block is
//
//	command arg...
//	input line...        (optional, command-specific)
//	----
//	expected output...   (optional)
//
// The command's output is compared line by line with the expected output
// (leading and trailing blanks of each line ignored). A block without
// "----" expects no output; commands print nothing when all went well, so
// any error shows up as a difference. A failure names the script file and
// line, the command, and a diff of expected ("-") and actual ("+") output.
//
// # Values
//
// Times are milliseconds, written as integers or durations ("2h", "90s",
// "1h30m", "5ms"), optionally summed: "2h-1" is 7199999, "-1h+1" is
// -3599999; "min" and "max" are the extreme int64 values ("max-5"). Output always
// prints times as plain milliseconds.
//
// Series are written as PromQL metrics, `up{job="a", "ü.x"="v"}` or
// `{__name__="up"}`. Labels with an empty value are dropped before the
// series is appended, as scraping does: an empty value means "no such
// label". Selectors are PromQL vector selectors.
//
// A sample is T:V. V is a float (1, -2.5, 1e3, NaN, +Inf, -Inf), "stale"
// (the staleness marker), an integer native histogram in the series
// notation of PromQL test scripts, {{schema:0 count:3 sum:5 buckets:[1 2]}},
// or a float native histogram, the same prefixed with "f": f{{...}}.
// A run "T1..T2/STEP:V" is the floats V at T1, T1+STEP, ..., T2 inclusive;
// "T1..T2/STEP:V+D" (or V-D) adds D to each next value. Output prints runs
// of at least 8 floats with a constant step and a constant, exactly
// reproducible increment in the run notation, other samples one by one.
// Floats print in Go's shortest %g form (1e+06, 0.1, -0, +Inf); normal
// NaN prints as NaN, any other NaN but the stale marker with its
// bits, NaN(0x...), so a changed payload is noticed; input takes that form
// too. Histogram stale markers are "hstale" (integer) and "fhstale"
// (float).
//
// # Commands
//
//	open [block=DUR] [chunk_range=DUR] [max_block=DUR] [retention=DUR]
//	     [max_bytes=N] [no_histograms] [ooo_window=DUR]
//
// opens the database in the script's directory with background compaction
// disabled (compaction runs only when the script says so). block is
// tsdb.Options.MinBlockDuration, chunk_range ChunkRange, max_block
// MaxBlockDuration, retention RetentionDuration, max_bytes MaxBytes,
// ooo_window OutOfOrderTimeWindow (0 when not given).
//
//	close
//	reopen [options as for open]
//
// close closes the database cleanly; reopen closes it (unless closed) and
// opens it again, replaying the WAL, with the previous options changed by
// those given. Appenders still open are abandoned, neither committed nor
// rolled back, as in a crash of the writer.
//
//	append [app=NAME]
//	SERIES SAMPLE...
//	...
//	[commit | rollback]
//
// appends the samples in order with one appender. Each rejected sample
// prints "SERIES T:V: REASON", where REASON names the storage sentinel
// (out_of_order, out_of_bounds, too_old, duplicate_sample, invalid_sample,
// histograms_disabled, invalid_histogram for any histogram.Error) or is
// "error: " and the message. A final "commit" or
// "rollback" line ends the batch ("commit: REASON..." when Commit fails);
// without one the appender stays open under NAME ("default" when not
// given), for a later
//
//	commit [app=NAME]
//	rollback [app=NAME]
//
//	select SELECTOR [MINT MAXT]
//
// prints the series the selector matches in [MINT, MAXT] (both inclusive,
// everything when not given), sorted, one per line: the series and its
// samples. A series without samples in range is not printed; "no series"
// is printed when nothing is.
//
//	label_names [SELECTOR]
//	label_values NAME [SELECTOR]
//
// print the label names, respectively the values of label NAME (quoted
// when it is not a plain name), over all data, on one line, or "none".
//
//	delete SELECTOR MINT MAXT
//	clean_tombstones
//	compact
//	truncate_head T
//
// delete marks the samples of the matching series in [MINT, MAXT] deleted
// (tsdb.DB.Delete); clean_tombstones rewrites blocks without their deleted
// samples; compact runs tsdb.DB.Compact (head compaction while the head
// spans more than 1.5 block ranges, leveled compaction, then retention);
// truncate_head drops head data older than T without persisting it
// (tsdb.Head.Truncate, which checkpoints the WAL).
//
//	write_block MINT MAXT
//	SERIES SAMPLE...
//
// writes a level-1 block of [MINT, MAXT) holding the given samples straight
// into the data directory with block.Write, as another process (or a
// backfill) would; the database sees it at its next open.
//
//	blocks
//	head
//
// blocks prints one line per loaded block, oldest first:
// "[MINT, MAXT) level=L series=S samples=N chunks=C tombstones=T";
// head prints "series=S chunks=C mint=T maxt=T" ("mint=none maxt=none" for
// an empty head).
package scripttest
