// The Graph tab's chart: uPlot drawing a range query's series, with a
// legend that shows hover values and toggles series on click, optional
// stacking, and drag-to-zoom that narrows the panel's range.
//
// Large results (100 series x 11,000 points) must draw in well under a
// second, so the data goes to uPlot once as flat arrays built in one pass
// per series, with no per-point objects.

import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { formatNumber, formatTimestamp, humanize } from "../../lib/format";
import { alignSeries, type Aligned } from "./series";
import type { RangeSeries } from "./types";

declare global {
  interface Window {
    // Milliseconds from the query's data arriving to uPlot finishing its
    // first draw of it; read by the browser tests.
    __vigilLastGraphRenderMs?: number;
  }
}

export interface GraphData {
  startSec: number;
  endSec: number;
  stepSec: number;
  series: RangeSeries[];
  // performance.now() when the response had been parsed.
  arrivedAt: number;
}

const palette = [
  "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
  "#3366cc", "#dc3912", "#109618", "#990099", "#0099c6", "#dd4477", "#66aa00", "#b82e2e", "#316395", "#994499",
];

function colorOf(i: number): string {
  if (i < palette.length) return palette[i];
  // Past the palette, spread hues by the golden angle.
  return `hsl(${Math.round((i * 137.508) % 360)}, 65%, 50%)`;
}

interface Prepared extends Aligned {
  aligned: uPlot.AlignedData;
  t0: number;
  // Time spent turning the response into uPlot's arrays.
  prepareMs: number;
}

// Data objects already drawn once: a redraw of the same data (stacking
// toggled, theme changed) is timed from its own start, not the arrival.
const drawn = new WeakSet<GraphData>();

function prepare(data: GraphData, stacked: boolean): Prepared {
  const started = performance.now();
  const t0 = drawn.has(data) ? started : data.arrivedAt;
  const a = alignSeries(data.series, data.startSec, data.endSec, data.stepSec, stacked);
  const prepareMs = performance.now() - started;
  return { ...a, aligned: [a.xs, ...a.ys] as uPlot.AlignedData, t0, prepareMs };
}

// useTheme re-renders when the page's theme attribute changes, because the
// canvas cannot follow CSS variables by itself.
function useTheme(): string {
  const [theme, setTheme] = useState(document.documentElement.dataset.theme ?? "light");
  useEffect(() => {
    const mo = new MutationObserver(() => setTheme(document.documentElement.dataset.theme ?? "light"));
    mo.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
    return () => mo.disconnect();
  }, []);
  return theme;
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

const pad2 = (n: number) => String(n).padStart(2, "0");

// timeTick labels the time axis in UTC, 24-hour, with milliseconds when
// ticks are under a second apart, and the date only where the ticks are a
// day or more apart, or (month and day) at midnight.
function timeTick(sec: number, incrSec: number): string {
  const d = new Date(sec * 1000);
  const hm = `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}`;
  const date = `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
  if (incrSec >= 86400) return date;
  const hms = `${hm}:${pad2(d.getUTCSeconds())}`;
  // Sub-second ticks would repeat the same second, so they show milliseconds.
  if (incrSec < 1) return `${hms}.${String(d.getUTCMilliseconds()).padStart(3, "0")}`;
  if (incrSec < 60) return hms;
  if (d.getUTCHours() === 0 && d.getUTCMinutes() === 0) return `${date.slice(5)}\n${hm}`;
  return hm;
}

export interface GraphProps {
  data: GraphData;
  stacked: boolean;
  // onZoom receives the range selected by dragging, in seconds.
  onZoom: (startSec: number, endSec: number) => void;
}

export function Graph({ data, stacked, onZoom }: GraphProps) {
  const host = useRef<HTMLDivElement>(null);
  const theme = useTheme();
  const zoom = useRef(onZoom);
  zoom.current = onZoom;
  const prepared = useMemo(() => prepare(data, stacked), [data, stacked]);

  // A layout effect builds the chart right after the render instead of
  // after the next frame, which a large graph's timing would include.
  useLayoutEffect(() => {
    const el = host.current!;
    const { aligned, raw, labels, t0 } = prepared;
    const fg = cssVar("--fg-muted");
    const grid = cssVar("--border");
    let recorded = false;
    const legendValue = (_u: uPlot, _v: number | null, sidx: number, didx: number | null) => {
      if (didx === null) return "--";
      const v = raw[sidx - 1]?.[didx];
      return v === null || v === undefined ? "--" : formatNumber(v);
    };
    const series: uPlot.Series[] = [
      { label: "Time", value: (_u, v) => (v === null || v === undefined ? "--" : formatTimestamp(v * 1000)) },
    ];
    labels.forEach((label, i) => {
      const color = colorOf(i);
      series.push({
        label,
        stroke: color,
        width: 1.25,
        fill: stacked ? color + "55" : undefined,
        points: { show: false },
        spanGaps: false,
        value: legendValue,
      });
    });
    const bands: uPlot.Band[] = [];
    if (stacked) {
      // Each band fills between a series and the one below it.
      for (let i = 2; i <= labels.length; i++) bands.push({ series: [i, i - 1] });
    }
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 300),
      height: 400,
      series,
      bands,
      // Ticks fall on UTC boundaries, matching the UTC labels.
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      scales: {
        x: { time: true, range: [data.startSec, data.endSec] },
        // Stacked areas fill down to zero, so zero must be in view.
        ...(stacked ? { y: { range: (_u, min, max) => uPlot.rangeNum(Math.min(0, min), max, 0.1, true) } } : {}),
      },
      axes: [
        // 100 px between time ticks leaves room for the longest label,
        // HH:MM:SS.mmm when ticks are under a second apart.
        { ...axis, space: 100, values: (_u, splits, _ax, _space, incr) => splits.map((v) => timeTick(v, incr)) },
        { ...axis, size: 60, values: (_u, splits) => splits.map((v) => humanize(v)) },
      ],
      legend: { live: true },
      cursor: { drag: { x: true, y: false, setScale: false }, points: { show: labels.length <= 20 } },
      hooks: {
        draw: [
          () => {
            if (recorded) return;
            recorded = true;
            drawn.add(data);
            const ms = performance.now() - t0;
            window.__vigilLastGraphRenderMs = ms;
            el.dataset.renderMs = ms.toFixed(1);
            el.dataset.prepareMs = prepared.prepareMs.toFixed(1);
          },
        ],
        setSelect: [
          (u) => {
            if (u.select.width < 5) return;
            const a = u.posToVal(u.select.left, "x");
            const b = u.posToVal(u.select.left + u.select.width, "x");
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            zoom.current(a, b);
          },
        ],
      },
    };
    const plot = new uPlot(opts, aligned, el);
    const ro = new ResizeObserver(() => {
      const w = Math.max(el.clientWidth, 300);
      if (Math.abs(w - plot.width) > 1) plot.setSize({ width: w, height: 400 });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [prepared, theme]);

  return (
    <>
      {prepared.skippedHistograms > 0 ? (
        <p class="muted">
          {prepared.skippedHistograms} native histogram series are not drawn; use the Table tab or a function such
          as histogram_quantile().
        </p>
      ) : null}
      {prepared.labels.length === 0 ? <p class="muted">No data points to draw.</p> : null}
      <div
        class={`graph${prepared.labels.length === 0 ? " graph-empty" : ""}`}
        data-testid="graph"
        data-series={prepared.labels.length}
        ref={host}
      />
    </>
  );
}
