import assert from "node:assert/strict";
import { test } from "node:test";
import { autoStepSec, nextRange, parsePanels, serializePanels } from "../src/pages/query/state";

test("panels round-trip through the address", () => {
  const search =
    "?g0.expr=rate%28x%5B5m%5D%29&g0.tab=0&g0.stacked=1&g0.range_input=6h&g0.end_input=2024-01-02+03%3A04%3A05Z&g0.step_input=30" +
    "&g1.expr=up&g1.tab=1&g1.stacked=0&g1.range_input=1h&g1.moment_input=2024-01-02+00%3A00%3A00Z";
  const panels = parsePanels(search);
  assert.equal(panels.length, 2);
  const [a, b] = panels;
  assert.equal(a.expr, "rate(x[5m])");
  assert.equal(a.tab, "graph");
  assert.equal(a.stacked, true);
  assert.equal(a.rangeMs, 6 * 3600_000);
  assert.equal(a.endMs, Date.UTC(2024, 0, 2, 3, 4, 5));
  assert.equal(a.stepSec, 30);
  assert.equal(b.expr, "up");
  assert.equal(b.tab, "table");
  assert.equal(b.timeMs, Date.UTC(2024, 0, 2));
  assert.equal(b.endMs, null);
  assert.equal(serializePanels(panels), search);
});

test("the classic UI's links and missing or bad values", () => {
  const [p] = parsePanels("?g0.expr=up&g0.tab=graph&g0.range_input=bogus&g0.step_input=-1&g0.end_input=never");
  assert.equal(p.tab, "graph");
  assert.equal(p.rangeMs, 3600_000);
  assert.equal(p.stepSec, null);
  assert.equal(p.endMs, null);
  const empty = parsePanels("");
  assert.equal(empty.length, 1);
  assert.equal(empty[0].expr, "");
  // Panels keep their numeric order, not the order in the address.
  const ps = parsePanels("?g10.expr=b&g2.expr=a");
  assert.deepEqual(
    ps.map((x) => x.expr),
    ["a", "b"],
  );
});

test("automatic step follows Prometheus", () => {
  assert.equal(autoStepSec(3600_000), 14);
  assert.equal(autoStepSec(60_000), 1);
  assert.equal(autoStepSec(86400_000), 345);
});

test("range steps", () => {
  assert.equal(nextRange(3600_000, 1), 2 * 3600_000);
  assert.equal(nextRange(3600_000, -1), 30 * 60_000);
  assert.equal(nextRange(45 * 60_000, 1), 3600_000);
  assert.equal(nextRange(1000, -1), 1000);
});
