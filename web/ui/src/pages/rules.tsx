// Rules: every rule group with its rules, their health, when they were
// last evaluated, how long that took and the last error.
import { ErrorBox } from "../components/ErrorBox";
import { LabelBadges } from "../components/LabelBadges";
import { Loading } from "../components/Loading";
import { HealthBadge, Table } from "../components/Table";
import { formatDuration, formatRelative, formatSeconds } from "../lib/format";
import { useApi } from "../lib/hooks";
import type { Rule, RuleDiscovery, RuleGroup } from "./rules/data";
import { timeMs } from "./targets/data";
import { useNow } from "./targets/hooks";
import "./targets/common.css";
import "./rules.css";

function RuleCell({ r }: { r: Rule }) {
  const kw = r.type === "alerting" ? "alert" : "record";
  return (
    <div class="rule-def">
      <div>
        <span class="rule-kw">{kw}: </span>
        <span class="rule-name">{r.name}</span>
      </div>
      <div>
        <span class="rule-kw">expr: </span>
        <code class="rule-expr">{r.query}</code>
      </div>
      {r.type === "alerting" && r.duration > 0 ? (
        <div>
          <span class="rule-kw">for: </span>
          {formatDuration(r.duration * 1000)}
        </div>
      ) : null}
      {r.type === "alerting" && r.keepFiringFor > 0 ? (
        <div>
          <span class="rule-kw">keep_firing_for: </span>
          {formatDuration(r.keepFiringFor * 1000)}
        </div>
      ) : null}
      {r.labels && Object.keys(r.labels).length > 0 ? (
        <div>
          <span class="rule-kw">labels: </span>
          <LabelBadges labels={r.labels} />
        </div>
      ) : null}
      {r.type === "alerting" && r.annotations && Object.keys(r.annotations).length > 0 ? (
        <div>
          <span class="rule-kw">annotations: </span>
          <LabelBadges labels={r.annotations} />
        </div>
      ) : null}
    </div>
  );
}

function Group({ g, now }: { g: RuleGroup; now: number }) {
  const bad = g.rules.filter((r) => r.health === "err").length;
  return (
    <section class="card rule-group" data-testid="rule-group">
      <header class="group-header">
        <div>
          <h2>{g.name}</h2>
          <div class="muted small">{g.file}</div>
        </div>
        <div class="group-meta">
          <span title="Evaluation interval">every {formatDuration(g.interval * 1000)}</span>
          <span title={g.lastEvaluation}>last evaluation {formatRelative(timeMs(g.lastEvaluation), now)}</span>
          <span>took {formatSeconds(g.evaluationTime)}</span>
          {g.limit > 0 ? <span>limit {g.limit}</span> : null}
          {bad > 0 ? <span class="error-text">{bad} failing</span> : null}
        </div>
      </header>
      {g.rules.length === 0 ? (
        <p class="muted pad">This group has no rules.</p>
      ) : (
        <Table headers={["Rule", "Health", "Last evaluation", "Evaluation time", "Error"]} class="rules-table">
          {g.rules.map((r, i) => (
            <tr key={i} data-testid="rule-row">
              <td>
                <RuleCell r={r} />
              </td>
              <td>
                <HealthBadge value={r.health} />
              </td>
              <td class="nowrap" title={r.lastEvaluation}>
                {formatRelative(timeMs(r.lastEvaluation), now)}
              </td>
              <td class="nowrap">{formatSeconds(r.evaluationTime)}</td>
              <td>{r.lastError ? <span class="error-text">{r.lastError}</span> : null}</td>
            </tr>
          ))}
        </Table>
      )}
    </section>
  );
}

export default function RulesPage() {
  const { data, error, loading, reload } = useApi<RuleDiscovery>("/api/v1/rules");
  const now = useNow();
  const groups = data?.groups ?? [];
  return (
    <div class="page rules-page" data-testid="page-rules" aria-busy={loading && !data ? "true" : undefined}>
      <h1>Rules</h1>
      <div class="toolbar">
        <button type="button" onClick={reload}>
          Refresh
        </button>
      </div>
      {error ? <ErrorBox error={error} title="Could not load the rules" /> : null}
      {loading && !data ? <Loading what="rules" /> : null}
      {data && groups.length === 0 ? (
        <div class="empty-state" data-testid="empty-state">
          <h2>No rules loaded</h2>
          <p class="muted">
            Recording and alerting rules are loaded from the files that rule_files names in the configuration.
          </p>
        </div>
      ) : null}
      {groups.map((g) => (
        <Group key={g.file + "\u0000" + g.name} g={g} now={now} />
      ))}
    </div>
  );
}
