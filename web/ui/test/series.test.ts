import assert from "node:assert/strict";
import { test } from "node:test";
import { alignSeries, type Values } from "../src/pages/query/series";

const plain = (vs: Values[]) => vs.map((v) => Array.from(v));

test("series align on the step grid with gaps", () => {
  const a = alignSeries(
    [
      { metric: { __name__: "x", a: "1" }, values: [[100, "1"], [110, "2"], [120, "3"], [130, "4"]] },
      { metric: { b: "2" }, values: [[110, "5"], [130, "NaN"]] },
      { metric: { h: "1" }, histograms: [[100, { count: "1", sum: "2" }]] },
    ],
    100,
    130,
    10,
    false,
  );
  assert.deepEqual([...a.xs], [100, 110, 120, 130]);
  // The complete series comes as a typed array, the gappy one as an array.
  assert.ok(a.ys[0] instanceof Float64Array);
  assert.ok(Array.isArray(a.ys[1]));
  assert.deepEqual(plain(a.ys), [
    [1, 2, 3, 4],
    [null, 5, null, null],
  ]);
  assert.deepEqual(a.labels, ['x{a="1"}', '{b="2"}']);
  assert.equal(a.skippedHistograms, 1);
});

test("stacking sums in order, keeps raw values, and gaps where all are missing", () => {
  const a = alignSeries(
    [
      { metric: { s: "a" }, values: [[0, "1"], [2, "1"]] },
      { metric: { s: "b" }, values: [[0, "2"], [1, "-Inf"], [2, "3"]] },
    ],
    0,
    3,
    1,
    true,
  );
  assert.deepEqual(plain(a.raw), [
    [1, null, 1, null],
    [2, null, 3, null],
  ]);
  assert.deepEqual(plain(a.ys), [
    [1, null, 1, null],
    [3, null, 4, null],
  ]);
});

test("points off the grid or outside the range are dropped", () => {
  const a = alignSeries([{ metric: {}, values: [[-10, "9"], [0.0004, "1"], [50, "9"]] }], 0, 20, 10, false);
  assert.deepEqual(plain(a.ys), [[1, null, null]]);
});

test("a complete series with a NaN or infinity keeps a gap there", () => {
  const a = alignSeries([{ metric: {}, values: [[0, "1"], [1, "NaN"], [2, "+Inf"]] }], 0, 2, 1, false);
  assert.deepEqual(a.ys, [[1, null, null]]);
});

test("stacking complete series", () => {
  const a = alignSeries(
    [
      { metric: { s: "a" }, values: [[0, "1"], [1, "2"]] },
      { metric: { s: "b" }, values: [[0, "10"], [1, "20"]] },
    ],
    0,
    1,
    1,
    true,
  );
  assert.deepEqual(plain(a.ys), [
    [1, 2],
    [11, 22],
  ]);
  assert.deepEqual(plain(a.raw), [
    [1, 2],
    [10, 20],
  ]);
});
