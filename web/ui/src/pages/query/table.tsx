// The Table tab: an instant query's result as rows. Label sets and values
// are rendered as text nodes only.

import { formatLabelSet } from "../../components/LabelBadges";
import { formatNumber } from "../../lib/format";
import type { Histogram, QueryResult, SamplePair } from "./types";

// Rendering more rows than this makes the browser slow and helps nobody;
// the count above the table says how many there are.
const maxRows = 10000;

function SeriesName({ metric }: { metric: Record<string, string> }) {
  return <span class="series-name mono">{formatLabelSet(metric)}</span>;
}

function HistogramText({ h }: { h: Histogram }) {
  return (
    <span class="mono">
      count: {h.count} sum: {h.sum}
      {h.buckets && h.buckets.length > 0 ? ` (${h.buckets.length} buckets)` : ""}
    </span>
  );
}

function pairText(p: SamplePair): string {
  return `${formatNumber(parseFloat(p[1]))} @${p[0]}`;
}

export function ResultTable({ result }: { result: QueryResult }) {
  switch (result.resultType) {
    case "scalar":
    case "string":
      return (
        <table class="table result-table">
          <tbody>
            <tr data-testid="result-row">
              <td class="muted">{result.resultType}</td>
              <td class="mono value-cell">
                {result.resultType === "scalar" ? formatNumber(parseFloat(result.result[1])) : result.result[1]}
              </td>
            </tr>
          </tbody>
        </table>
      );
    case "vector": {
      if (result.result.length === 0) return <p class="muted">Empty query result.</p>;
      const rows = result.result.slice(0, maxRows);
      return (
        <>
          {result.result.length > maxRows ? (
            <p class="muted">Showing the first {maxRows} of {result.result.length} series.</p>
          ) : null}
          <table class="table result-table">
            <tbody>
              {rows.map((s, i) => (
                <tr key={i} data-testid="result-row">
                  <td>
                    <SeriesName metric={s.metric} />
                  </td>
                  <td class="mono value-cell">
                    {s.value ? formatNumber(parseFloat(s.value[1])) : s.histogram ? <HistogramText h={s.histogram[1]} /> : ""}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      );
    }
    case "matrix": {
      if (result.result.length === 0) return <p class="muted">Empty query result.</p>;
      const rows = result.result.slice(0, maxRows);
      return (
        <table class="table result-table">
          <tbody>
            {rows.map((s, i) => (
              <tr key={i} data-testid="result-row">
                <td>
                  <SeriesName metric={s.metric} />
                </td>
                <td class="mono value-cell matrix-values">
                  {(s.values ?? []).map((p, j) => (
                    <div key={j}>{pairText(p)}</div>
                  ))}
                  {(s.histograms ?? []).map((h, j) => (
                    <div key={`h${j}`}>
                      <HistogramText h={h[1]} /> @{h[0]}
                    </div>
                  ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      );
    }
  }
}

// resultCount is the number of series (or 1 for a scalar or string).
export function resultCount(result: QueryResult): number {
  return result.resultType === "vector" || result.resultType === "matrix" ? result.result.length : 1;
}

