// The query page's state lives in the address, in the parameter style of
// Prometheus' classic UI (g0.expr=...&g0.tab=0&g0.range_input=1h...), so a
// copied link reproduces the view and old Prometheus links keep working.

import { formatDuration, formatTimestamp, parseDuration, parseTimestamp } from "../../lib/format";

export type Tab = "graph" | "table";

export interface PanelState {
  // key identifies the panel across renders; it is not written to the URL.
  key: number;
  expr: string;
  tab: Tab;
  // rangeMs, endMs (null: now), stepSec (null: automatic) and stacked
  // configure the graph; timeMs (null: now) is the table's evaluation time.
  rangeMs: number;
  endMs: number | null;
  stepSec: number | null;
  stacked: boolean;
  timeMs: number | null;
}

export const defaultRangeMs = 3600_000;

let nextKey = 1;

export function newPanel(expr = ""): PanelState {
  return {
    key: nextKey++,
    expr,
    tab: "table",
    rangeMs: defaultRangeMs,
    endMs: null,
    stepSec: null,
    stacked: false,
    timeMs: null,
  };
}

// parsePanels reads panels g0, g1, ... from a query string. Unparseable
// values fall back to the defaults rather than failing the page.
export function parsePanels(search: string): PanelState[] {
  const params = new URLSearchParams(search);
  const byIndex = new Map<number, PanelState>();
  for (const [k, v] of params) {
    const m = /^g(\d+)\.(\w+)$/.exec(k);
    if (!m) continue;
    const i = parseInt(m[1], 10);
    if (i > 100) continue;
    let p = byIndex.get(i);
    if (!p) {
      p = newPanel();
      byIndex.set(i, p);
    }
    switch (m[2]) {
      case "expr":
        p.expr = v;
        break;
      case "tab":
        // The classic UI wrote 0 for the graph and 1 for the table.
        p.tab = v === "0" || v === "graph" ? "graph" : "table";
        break;
      case "range_input": {
        const d = parseDuration(v);
        if (d !== null && d > 0) p.rangeMs = d;
        break;
      }
      case "end_input":
        p.endMs = parseTimestamp(v);
        break;
      case "moment_input":
        p.timeMs = parseTimestamp(v);
        break;
      case "step_input": {
        const s = parseFloat(v);
        p.stepSec = Number.isFinite(s) && s > 0 ? s : null;
        break;
      }
      case "stacked":
        p.stacked = v === "1" || v === "true";
        break;
    }
  }
  const panels = [...byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([, p]) => p);
  return panels.length > 0 ? panels : [newPanel()];
}

// serializePanels writes panels as a query string (with its "?").
export function serializePanels(panels: PanelState[]): string {
  const params = new URLSearchParams();
  panels.forEach((p, i) => {
    const g = `g${i}.`;
    params.set(g + "expr", p.expr);
    params.set(g + "tab", p.tab === "graph" ? "0" : "1");
    params.set(g + "stacked", p.stacked ? "1" : "0");
    params.set(g + "range_input", formatDuration(p.rangeMs));
    if (p.endMs !== null) params.set(g + "end_input", formatTimestamp(p.endMs));
    if (p.timeMs !== null) params.set(g + "moment_input", formatTimestamp(p.timeMs));
    if (p.stepSec !== null) params.set(g + "step_input", String(p.stepSec));
  });
  return "?" + params.toString();
}

// autoStepSec is the resolution used when none is set, as Prometheus
// computes it: about 250 points across the range, at least one second.
export function autoStepSec(rangeMs: number): number {
  return Math.max(Math.floor(rangeMs / 1000 / 250), 1);
}

// Range steps offered by the -/+ buttons.
export const rangeSteps = [
  "1s", "10s", "1m", "5m", "15m", "30m", "1h", "2h", "6h", "12h", "1d", "2d", "1w", "2w", "4w", "8w", "24w", "1y", "2y",
].map((s) => parseDuration(s)!);

export function nextRange(ms: number, dir: 1 | -1): number {
  if (dir > 0) return rangeSteps.find((r) => r > ms) ?? ms;
  for (let i = rangeSteps.length - 1; i >= 0; i--) {
    if (rangeSteps[i] < ms) return rangeSteps[i];
  }
  return ms;
}
