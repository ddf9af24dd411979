// Package promql owns the evaluation of PromQL: the Engine that turns a
// parsed expression (package parser) into a result over a
// storage.Queryable, with the semantics of Prometheus 3.x.
//
// It owns the result values (Vector, Matrix, Scalar, String and their
// samples), every function, operator and aggregation, the lookback and
// staleness rules of selectors, subqueries and the @ modifier, delayed
// removal of the metric name, annotations (warnings and infos with
// Prometheus' exact wording), the query limits (maximum samples in memory,
// timeout, cancellation, concurrency) and per-query statistics.
//
// It never imports a storage implementation: it reads through the
// storage.Querier contract only. Test scripts in the Prometheus .test
// format are run by the promqltest sub-package.
//
// How evaluation works: the engine evaluates every expression for all steps
// of a query at once, node by node. An instant query is a range query with
// one step. Selectors read their series once and walk them step by step;
// operators and functions are applied step by step to the vectors gathered
// from their operands' results. Sub-expressions that do not depend on the
// evaluation time (those under an @ modifier) are evaluated once and
// repeated for every step.
package promql
