import assert from "node:assert/strict";
import { test } from "node:test";
import {
  formatDuration,
  formatNumber,
  formatSeconds,
  formatTimestamp,
  humanize,
  humanizeBytes,
  parseDuration,
  parseTimestamp,
} from "../src/lib/format";

test("durations round-trip", () => {
  for (const [s, ms] of [
    ["1h", 3600_000],
    ["1h30m", 5400_000],
    ["250ms", 250],
    ["2w3d", (14 + 3) * 86400_000],
    ["1y", 365 * 86400_000],
    ["0s", 0],
  ] as const) {
    assert.equal(parseDuration(s), ms, s);
    assert.equal(formatDuration(ms), s);
  }
  assert.equal(parseDuration("90m"), 5400_000);
  assert.equal(formatDuration(-1500), "-1s500ms");
});

test("bad durations are rejected", () => {
  for (const s of ["", "h", "1", "1x", "1h 30m", "-5m", "1.5h"]) {
    assert.equal(parseDuration(s), null, s);
  }
});

test("timestamps are UTC and parse back", () => {
  const t = Date.UTC(2024, 0, 2, 3, 4, 5);
  assert.equal(formatTimestamp(t), "2024-01-02 03:04:05Z");
  assert.equal(formatTimestamp(t + 123), "2024-01-02 03:04:05.123Z");
  assert.equal(parseTimestamp("2024-01-02 03:04:05"), t);
  assert.equal(parseTimestamp("2024-01-02 03:04:05Z"), t);
  assert.equal(parseTimestamp("2024-01-02T05:04:05+02:00"), t);
  assert.equal(parseTimestamp(String(t / 1000)), t);
  assert.equal(parseTimestamp("yesterday"), null);
});

test("numbers", () => {
  assert.equal(formatNumber(NaN), "NaN");
  assert.equal(formatNumber(Infinity), "+Inf");
  assert.equal(formatNumber(-Infinity), "-Inf");
  assert.equal(formatNumber(0.5), "0.5");
  assert.equal(humanize(1_500_000), "1.5M");
  assert.equal(humanize(320_000), "320k");
  assert.equal(humanize(0.25), "0.25");
  assert.equal(humanize(0), "0");
  assert.equal(humanizeBytes(1536), "1.5KiB");
  assert.equal(humanizeBytes(512), "512B");
  assert.equal(formatSeconds(0.0123), "12.3ms");
  assert.equal(formatSeconds(2.5), "2.5s");
  assert.equal(formatSeconds(90), "1m30s");
});
