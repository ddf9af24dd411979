// Package scrape owns pulling samples from targets: turning discovered
// target groups into targets through relabeling, one scrape pool per job,
// one loop per target that fetches the exposition body over HTTP on a
// fixed schedule, parses it and appends it to storage, and the bookkeeping
// the API and UI read back (target health, last error, dropped targets,
// per-target metric metadata).
//
// The semantics follow Prometheus 3 (see CONTRACTS.md §3 in the shared
// docs): the request headers and Accept negotiation, the synthetic series
// (up, scrape_duration_seconds, ...), staleness markers for series and
// targets that vanish, honor_labels and honor_timestamps, the limits and
// their error texts, and the self-metrics named prometheus_target_*.
//
// Speed comes from the scrape cache (cache.go): a map from the raw series
// bytes the parser hands out to the storage reference and final label set
// of that series. A series seen in the previous scrape is appended without
// building, relabeling or hashing its labels, so the steady state costs a
// map lookup and an Append per sample and allocates nothing per sample.
// Response bodies live in size-classed pooled buffers shared by all loops
// (buffers.go), so memory follows the number of scrapes in flight rather
// than the number of targets.
//
// Files: manager.go (jobs, discovery input, reloads), pool.go (one job's
// targets and loops), target.go (target labels and status), loop.go (the
// schedule and the scrape-append-report cycle), append.go (the hot path),
// cache.go (series and metadata cache), client.go (HTTP), buffers.go,
// metrics.go (self-metrics).
package scrape
