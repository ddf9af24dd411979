// Alerts: the alerting rules grouped by state (firing, pending,
// inactive), each with its definition and its active alerts' labels,
// annotations, start and value.
import { useState } from "preact/hooks";
import { ErrorBox } from "../components/ErrorBox";
import { LabelBadges } from "../components/LabelBadges";
import { Loading } from "../components/Loading";
import { HealthBadge, Table } from "../components/Table";
import { formatDuration, formatRelative, formatTimestamp } from "../lib/format";
import { useApi } from "../lib/hooks";
import type { AlertingRule, RuleDiscovery } from "./rules/data";
import { labelText, matchesSearch, timeMs } from "./targets/data";
import { useNow } from "./targets/hooks";
import "./targets/common.css";
import "./rules.css";

const states = ["firing", "pending", "inactive"] as const;
const params = { type: "alert" };

interface Item {
  group: string;
  file: string;
  rule: AlertingRule;
}

function AlertRule({ it, now }: { it: Item; now: number }) {
  const r = it.rule;
  const alerts = r.alerts ?? [];
  return (
    <details class="card alert-rule" data-testid="alert-rule" open={r.state !== "inactive"}>
      <summary>
        <HealthBadge value={r.state} />
        <strong>{r.name}</strong>
        <span class="muted small">
          {it.group} ({it.file})
        </span>
        {alerts.length > 0 ? <span class="muted small">{`${alerts.length} active`}</span> : null}
        {r.health === "err" ? <span class="error-text small">evaluation failing</span> : null}
      </summary>
      <div class="rule-body">
        <div class="rule-def">
          <div>
            <span class="rule-kw">alert: </span>
            <span class="rule-name">{r.name}</span>
          </div>
          <div>
            <span class="rule-kw">expr: </span>
            <code class="rule-expr">{r.query}</code>
          </div>
          {r.duration > 0 ? (
            <div>
              <span class="rule-kw">for: </span>
              {formatDuration(r.duration * 1000)}
            </div>
          ) : null}
          {r.keepFiringFor > 0 ? (
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
          {r.annotations && Object.keys(r.annotations).length > 0 ? (
            <div>
              <span class="rule-kw">annotations: </span>
              <LabelBadges labels={r.annotations} />
            </div>
          ) : null}
          {r.lastError ? (
            <div>
              <span class="rule-kw">error: </span>
              <span class="error-text">{r.lastError}</span>
            </div>
          ) : null}
        </div>
        {alerts.length > 0 ? (
          <Table headers={["Labels", "State", "Active since", "Value", "Annotations"]}>
            {alerts.map((a, i) => (
              <tr key={i} data-testid="alert-row">
                <td>
                  <LabelBadges labels={a.labels} />
                </td>
                <td>
                  <HealthBadge value={a.state} />
                </td>
                <td class="nowrap" title={a.activeAt ? formatTimestamp(timeMs(a.activeAt)) : ""}>
                  {a.activeAt ? formatRelative(timeMs(a.activeAt), now) : "–"}
                </td>
                <td class="mono">{a.value}</td>
                <td>
                  {Object.entries(a.annotations ?? {})
                    .sort((x, y) => (x[0] < y[0] ? -1 : 1))
                    .map(([k, v]) => (
                      <div key={k} class="annotation">
                        <span class="rule-kw">{k}: </span>
                        <span class="annotation-value">{v}</span>
                      </div>
                    ))}
                </td>
              </tr>
            ))}
          </Table>
        ) : null}
      </div>
    </details>
  );
}

export default function AlertsPage() {
  const { data, error, loading, reload } = useApi<RuleDiscovery>("/api/v1/rules", params);
  const now = useNow();
  const [search, setSearch] = useState("");
  const [hidden, setHidden] = useState<Record<string, boolean>>({});

  const items: Item[] = [];
  for (const g of data?.groups ?? []) {
    for (const r of g.rules) {
      if (r.type === "alerting") items.push({ group: g.name, file: g.file, rule: r });
    }
  }
  const byState = (s: string) =>
    items.filter((it) => (states.includes(it.rule.state as (typeof states)[number]) ? it.rule.state : "inactive") === s);
  const match = (it: Item) =>
    matchesSearch(
      search,
      it.rule.name,
      it.group,
      labelText(it.rule.labels),
      ...(it.rule.alerts ?? []).map((a) => labelText(a.labels)),
    );

  return (
    <div class="page alerts-page" data-testid="page-alerts" aria-busy={loading && !data ? "true" : undefined}>
      <h1>Alerts</h1>
      <div class="toolbar">
        {states.map((s) => (
          <label class="check" key={s}>
            <input
              type="checkbox"
              checked={!hidden[s]}
              onChange={(e) => setHidden({ ...hidden, [s]: !e.currentTarget.checked })}
            />
            {`${s[0].toUpperCase()}${s.slice(1)} (${byState(s).length})`}
          </label>
        ))}
        <input
          type="search"
          class="search"
          placeholder="Filter by name or labels"
          value={search}
          onInput={(e) => setSearch(e.currentTarget.value)}
        />
        <button type="button" onClick={reload}>
          Refresh
        </button>
      </div>
      {error ? <ErrorBox error={error} title="Could not load the alerting rules" /> : null}
      {loading && !data ? <Loading what="alerts" /> : null}
      {data && items.length === 0 ? (
        <div class="empty-state" data-testid="empty-state">
          <h2>No alerting rules loaded</h2>
          <p class="muted">
            Alerting rules are loaded from the files that rule_files names in the configuration; their alerts show
            here by state.
          </p>
        </div>
      ) : null}
      {items.length > 0
        ? states
            .filter((s) => !hidden[s])
            .map((s) => {
              const list = byState(s).filter(match);
              return (
                <section class="state-section" key={s} data-testid={`alerts-${s}`}>
                  <h2>
                    <HealthBadge value={s} />
                    <span>{`${list.length} rule${list.length === 1 ? "" : "s"}`}</span>
                  </h2>
                  {list.length === 0 ? <p class="muted">None.</p> : null}
                  {list.map((it, i) => (
                    <AlertRule key={`${i}\u0000${it.file}\u0000${it.group}\u0000${it.rule.name}`} it={it} now={now} />
                  ))}
                </section>
              );
            })
        : null}
    </div>
  );
}
