// Package parser owns the PromQL language of Prometheus 3.x as data: the
// lexer, a hand-written recursive-descent parser with precedence climbing
// for binary operators, the abstract syntax tree the engine evaluates,
// parse-time type checking, the printer that yields the canonical text
// /api/v1/format_query returns (and a pretty printer), Prometheus duration
// syntax, and the series notation of PromQL test scripts and rule unit
// tests (series.go). It imports no storage: evaluating the tree is the
// promql package's business.
//
// Entry points: ParseExpr (all optional features on), NewParser(Options)
// for a chosen feature set, ParseMetricSelector for the API's match[]
// parameters, ParseMetric and ParseSeriesDesc for test data, ParseDuration
// and FormatDuration.
//
// The language covered: selectors with quoted UTF-8 names
// ({"my.metric", "a.b"="c"}); offset (negative too) and @ with numbers,
// durations, start() and end(); ranges and subqueries; every binary
// operator with bool, on, ignoring, group_left, group_right and the fill,
// fill_left and fill_right modifiers; the native histogram trim operators
// </ and >/; every aggregation with by/without and parameters; every
// function of Prometheus 3.x including the experimental ones; duration
// expressions in ranges, steps and offsets (foo[5m+1m], offset (1h*2),
// step(), range(), min_of(), max_of()); the anchored and smoothed
// modifiers; comments; numbers in decimal, hexadecimal, Inf and NaN, and
// durations as numbers of seconds; strings with Go escapes or in
// backticks.
//
// Errors read as Prometheus prints them, "line:column: parse error:
// message", with Prometheus' wording, since clients and test scripts match
// on them.
//
// Where Prometheus' behaviour could not be checked against its source the
// choices are these, each round-tripping through the printer: the trim
// operators bind like comparisons; anchored and smoothed may follow any
// other modifier and print right after the selector or range, before @
// and offset; fill(v) prints without a blank before its parenthesis, and
// as fill(v) when both sides are equal; checks that depend on the function
// a modified range is passed to ("smoothed modifier can only be used with
// ...") are the engine's, as are constraints on the values of step() and
// range(), which ResolveDurations applies.
package parser
