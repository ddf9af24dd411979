// One query panel: the editor, the Table and Graph tabs with their time
// controls, and the result with its warnings, infos and statistics.

import { useEffect, useRef, useState } from "preact/hooks";
import { apiRequest } from "../../lib/api";
import { ErrorBox, Notice } from "../../components/ErrorBox";
import { Loading } from "../../components/Loading";
import { formatCount, formatDuration, formatSeconds, formatTimestamp, parseDuration, parseTimestamp } from "../../lib/format";
import { ExpressionEditor } from "./editor";
import { Graph, type GraphData } from "./graph";
import { autoStepSec, nextRange, type PanelState, type Tab } from "./state";
import { ResultTable, resultCount } from "./table";
import type { QueryData, QueryResult, QueryStats, RangeSeries } from "./types";

interface Outcome {
  tab: Tab;
  result?: QueryResult;
  graph?: GraphData;
  warnings: string[];
  infos: string[];
  stats?: QueryStats;
  // Wall time of the request, and the resolution used by a range query.
  elapsedMs: number;
  stepSec?: number;
}

export interface PanelProps {
  state: PanelState;
  onChange: (patch: Partial<PanelState>) => void;
  onRemove?: () => void;
  // onExecuted records an expression in the history.
  onExecuted: (expr: string) => void;
  history: string[];
  autofocus?: boolean;
}

export function Panel({ state, onChange, onRemove, onExecuted, history, autofocus }: PanelProps) {
  // text is what the editor holds; state.expr is the last executed one.
  const [text, setText] = useState(state.expr);
  const [runs, setRuns] = useState(state.expr ? 1 : 0);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [loading, setLoading] = useState(false);
  const [showHistory, setShowHistory] = useState(false);

  const execute = () => {
    const expr = text.trim();
    onChange({ expr });
    if (expr !== "") onExecuted(expr);
    setRuns((r) => r + 1);
  };
  const exec = useRef(execute);
  exec.current = execute;

  // The history list closes on a click elsewhere or Escape.
  const historyRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!showHistory) return;
    const onDown = (e: MouseEvent) => {
      if (!historyRef.current?.contains(e.target as Node)) setShowHistory(false);
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") setShowHistory(false);
    };
    document.addEventListener("mousedown", onDown);
    document.addEventListener("keydown", onKey);
    return () => {
      document.removeEventListener("mousedown", onDown);
      document.removeEventListener("keydown", onKey);
    };
  }, [showHistory]);

  // Run the query whenever it is executed or a control that shapes it
  // changes; a newer run aborts an older one.
  useEffect(() => {
    if (runs === 0 || state.expr === "") {
      setOutcome(null);
      setError(null);
      return;
    }
    const ctl = new AbortController();
    setLoading(true);
    setError(null);
    const started = performance.now();
    const run = async () => {
      if (state.tab === "table") {
        const atMs = state.timeMs ?? Date.now();
        // stats=all adds the per-step sample counts, a single step here.
        const resp = await apiRequest<QueryData>(
          "/api/v1/query",
          { query: state.expr, time: String(atMs / 1000), stats: "all" },
          { method: "POST", signal: ctl.signal },
        );
        const { stats, ...result } = resp.data;
        return {
          tab: "table" as Tab,
          result: result as QueryResult,
          warnings: resp.warnings,
          infos: resp.infos,
          stats,
          elapsedMs: performance.now() - started,
        };
      }
      const endMs = state.endMs ?? Date.now();
      const stepSec = state.stepSec ?? autoStepSec(state.rangeMs);
      const endSec = endMs / 1000;
      const startSec = endSec - state.rangeMs / 1000;
      // stats=true: the same timings and sample totals as "all" without
      // one count per step, which a long range would bloat.
      const resp = await apiRequest<QueryData>(
        "/api/v1/query_range",
        { query: state.expr, start: String(startSec), end: String(endSec), step: String(stepSec), stats: "true" },
        { method: "POST", signal: ctl.signal },
      );
      const arrivedAt = performance.now();
      const { stats, ...result } = resp.data;
      const r = result as QueryResult;
      if (r.resultType !== "matrix") {
        throw new Error(`the graph needs a range vector result, the expression returned a ${r.resultType}`);
      }
      return {
        tab: "graph" as Tab,
        result: r,
        graph: { startSec, endSec, stepSec, series: r.result as RangeSeries[], arrivedAt },
        warnings: resp.warnings,
        infos: resp.infos,
        stats,
        elapsedMs: arrivedAt - started,
        stepSec,
      };
    };
    run()
      .then((o) => {
        if (ctl.signal.aborted) return;
        setOutcome(o);
        setError(null);
      })
      .catch((e: unknown) => {
        if (ctl.signal.aborted) return;
        setOutcome(null);
        setError(e instanceof Error ? e : new Error(String(e)));
      })
      .finally(() => {
        if (!ctl.signal.aborted) setLoading(false);
      });
    return () => ctl.abort();
  }, [runs, state.expr, state.tab, state.rangeMs, state.endMs, state.stepSec, state.timeMs]);

  const tabButton = (tab: Tab, label: string) => (
    <button
      type="button"
      role="tab"
      aria-selected={state.tab === tab}
      class={`tab${state.tab === tab ? " active" : ""}`}
      data-testid={`tab-${tab}`}
      onClick={() => {
        if (state.tab === tab) return;
        // Switching tabs runs what the editor holds, as the user expects.
        const expr = text.trim();
        onChange({ tab, expr });
        if (expr !== "" && runs === 0) setRuns(1);
      }}
    >
      {label}
    </button>
  );

  const shown = outcome && outcome.tab === state.tab ? outcome : null;

  return (
    <section class="card query-panel">
      <div class="panel-editor-row">
        <ExpressionEditor value={text} onChange={setText} onExecute={() => exec.current()} autofocus={autofocus} />
        <div class="panel-actions">
          <button type="button" class="primary" data-testid="execute" onClick={execute}>
            Execute
          </button>
          <div class="history-wrap" ref={historyRef}>
            <button
              type="button"
              title="Query history"
              data-testid="history-toggle"
              aria-expanded={showHistory}
              onClick={() => setShowHistory((s) => !s)}
            >
              History ▾
            </button>
            {showHistory ? (
              <ul class="history-list" data-testid="history-list">
                {history.length === 0 ? <li class="muted">No queries yet.</li> : null}
                {history.map((h) => (
                  <li key={h}>
                    <button
                      type="button"
                      class="history-item mono"
                      title={h}
                      onClick={() => {
                        setText(h);
                        setShowHistory(false);
                      }}
                    >
                      {h}
                    </button>
                  </li>
                ))}
              </ul>
            ) : null}
          </div>
          {onRemove ? (
            <button type="button" title="Remove this panel" data-testid="remove-panel" onClick={onRemove}>
              ✕
            </button>
          ) : null}
        </div>
      </div>

      <div class="tabs" role="tablist">
        {tabButton("table", "Table")}
        {tabButton("graph", "Graph")}
        <div class="tab-spacer" />
        {loading ? <Loading what="result" /> : null}
        {shown ? <ResultInfo o={shown} /> : null}
      </div>

      <div class="panel-body">
        {state.tab === "table" ? (
          <TimeInput
            label="Evaluation time"
            valueMs={state.timeMs}
            stepMs={state.rangeMs}
            onChange={(timeMs) => onChange({ timeMs })}
          />
        ) : (
          <GraphControls state={state} onChange={onChange} />
        )}

        {error ? <ErrorBox error={error} title="Error executing query" /> : null}
        {shown?.warnings.map((w, i) => (
          <Notice key={`w${i}`} kind="warning">
            <strong>Warning: </strong>
            {w}
          </Notice>
        ))}
        {shown?.infos.map((w, i) => (
          <Notice key={`i${i}`} kind="info">
            <strong>Info: </strong>
            {w}
          </Notice>
        ))}
        {!shown && !error && !loading ? <p class="muted">No query executed yet.</p> : null}
        {shown?.tab === "table" && shown.result ? <ResultTable result={shown.result} /> : null}
        {shown?.tab === "graph" && shown.graph ? (
          <Graph
            data={shown.graph}
            stacked={state.stacked}
            onZoom={(a, b) => onChange({ endMs: Math.round(b * 1000), rangeMs: Math.max(1000, Math.round((b - a) * 1000)) })}
          />
        ) : null}
      </div>
    </section>
  );
}

// ResultInfo is the line of facts about the last result.
function ResultInfo({ o }: { o: Outcome }) {
  const parts: string[] = [`Load time: ${Math.round(o.elapsedMs)}ms`];
  if (o.stepSec !== undefined) parts.push(`Resolution: ${formatSeconds(o.stepSec)}`);
  if (o.result) parts.push(`Result series: ${formatCount(resultCount(o.result))}`);
  const s = o.stats;
  if (s?.timings?.evalTotalTime !== undefined) parts.push(`Eval: ${formatSeconds(s.timings.evalTotalTime)}`);
  if (s?.samples?.totalQueryableSamples !== undefined)
    parts.push(`Samples: ${formatCount(s.samples.totalQueryableSamples)} queried`);
  if (s?.samples?.peakSamples !== undefined) parts.push(`peak ${formatCount(s.samples.peakSamples)}`);
  const title = s?.timings
    ? Object.entries(s.timings)
        .map(([k, v]) => `${k}: ${formatSeconds(v ?? 0)}`)
        .join("\n")
    : "";
  return (
    <span class="result-info muted" data-testid="result-info" title={title}>
      {parts.join(" · ")}
    </span>
  );
}

// TimeInput edits an optional time ("now" when empty) with buttons that
// move it back and forth.
function TimeInput({
  label,
  valueMs,
  stepMs,
  onChange,
}: {
  label: string;
  valueMs: number | null;
  stepMs: number;
  onChange: (v: number | null) => void;
}) {
  const [text, setText] = useState(valueMs === null ? "" : formatTimestamp(valueMs));
  const [bad, setBad] = useState(false);
  useEffect(() => {
    setText(valueMs === null ? "" : formatTimestamp(valueMs));
    setBad(false);
  }, [valueMs]);
  const commit = () => {
    if (text.trim() === "") {
      onChange(null);
      return;
    }
    const t = parseTimestamp(text);
    setBad(t === null);
    if (t !== null) onChange(t);
  };
  const shift = (dir: number) => onChange((valueMs ?? Date.now()) + dir * stepMs);
  return (
    <div class="control-group">
      <span class="control-label">{label}</span>
      <button type="button" title={`Back by ${formatDuration(stepMs)}`} onClick={() => shift(-1)}>
        ◀
      </button>
      <input
        type="text"
        class={`time-input mono${bad ? " invalid" : ""}`}
        placeholder="now"
        title="A time in UTC (YYYY-MM-DD hh:mm:ss), RFC 3339 or Unix seconds; empty for now"
        value={text}
        onInput={(e) => setText((e.target as HTMLInputElement).value)}
        onBlur={commit}
        onKeyDown={(e) => {
          if (e.key === "Enter") commit();
        }}
        aria-invalid={bad}
      />
      <button type="button" title={`Forward by ${formatDuration(stepMs)}`} onClick={() => shift(1)}>
        ▶
      </button>
      {valueMs !== null ? (
        <button type="button" title="Use the current time" onClick={() => onChange(null)}>
          Now
        </button>
      ) : null}
    </div>
  );
}

function GraphControls({ state, onChange }: { state: PanelState; onChange: (p: Partial<PanelState>) => void }) {
  const [rangeText, setRangeText] = useState(formatDuration(state.rangeMs));
  const [stepText, setStepText] = useState(state.stepSec === null ? "" : String(state.stepSec));
  const [badRange, setBadRange] = useState(false);
  const [badStep, setBadStep] = useState(false);
  useEffect(() => {
    setRangeText(formatDuration(state.rangeMs));
    setBadRange(false);
  }, [state.rangeMs]);
  useEffect(() => {
    setStepText(state.stepSec === null ? "" : String(state.stepSec));
    setBadStep(false);
  }, [state.stepSec]);
  const commitRange = () => {
    const d = parseDuration(rangeText);
    setBadRange(d === null || d <= 0);
    if (d !== null && d > 0) onChange({ rangeMs: d });
  };
  const commitStep = () => {
    const t = stepText.trim();
    if (t === "") {
      onChange({ stepSec: null });
      return;
    }
    // Seconds, or a duration such as "30s" or "1m".
    let s = /^\d+(\.\d+)?$/.test(t) ? parseFloat(t) : (parseDuration(t) ?? NaN) / 1000;
    if (!(s > 0)) {
      setBadStep(true);
      return;
    }
    s = Math.round(s * 1000) / 1000;
    setBadStep(false);
    onChange({ stepSec: s });
  };
  return (
    <div class="graph-controls">
      <div class="control-group">
        <span class="control-label">Range</span>
        <button type="button" title="Shorter range" onClick={() => onChange({ rangeMs: nextRange(state.rangeMs, -1) })}>
          −
        </button>
        <input
          type="text"
          class={`range-input mono${badRange ? " invalid" : ""}`}
          value={rangeText}
          data-testid="range-input"
          onInput={(e) => setRangeText((e.target as HTMLInputElement).value)}
          onBlur={commitRange}
          onKeyDown={(e) => {
            if (e.key === "Enter") commitRange();
          }}
          aria-invalid={badRange}
        />
        <button type="button" title="Longer range" onClick={() => onChange({ rangeMs: nextRange(state.rangeMs, 1) })}>
          +
        </button>
      </div>
      <TimeInput label="End" valueMs={state.endMs} stepMs={state.rangeMs} onChange={(endMs) => onChange({ endMs })} />
      <div class="control-group">
        <span class="control-label">Resolution</span>
        <input
          type="text"
          class={`step-input mono${badStep ? " invalid" : ""}`}
          placeholder={`auto (${formatSeconds(autoStepSec(state.rangeMs))})`}
          value={stepText}
          data-testid="step-input"
          onInput={(e) => setStepText((e.target as HTMLInputElement).value)}
          onBlur={commitStep}
          onKeyDown={(e) => {
            if (e.key === "Enter") commitStep();
          }}
          aria-invalid={badStep}
        />
      </div>
      <label class="control-group checkbox">
        <input
          type="checkbox"
          checked={state.stacked}
          data-testid="stacked"
          onChange={(e) => onChange({ stacked: (e.target as HTMLInputElement).checked })}
        />
        Stacked
      </label>
    </div>
  );
}
