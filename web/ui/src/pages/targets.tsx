// Targets: the active scrape targets grouped by scrape pool, with a
// "job (n/m up)" header per pool that folds the pool's table away, a
// filter for unhealthy targets and a search over endpoints and labels.
// Everything the server sends is rendered as text.
import { useMemo, useState } from "preact/hooks";
import { ErrorBox } from "../components/ErrorBox";
import { LabelBadges } from "../components/LabelBadges";
import { Loading } from "../components/Loading";
import { HealthBadge, Table } from "../components/Table";
import { formatRelative, formatSeconds } from "../lib/format";
import { useApi, useLocalStorage } from "../lib/hooks";
import { type ActiveTarget, groupByPool, labelText, matchesSearch, safeHref, type TargetDiscovery, timeMs } from "./targets/data";
import { useAutoRefresh, useNow } from "./targets/hooks";
import "./targets/common.css";
import "./targets.css";

const params = { state: "active" };

function TargetRow({ t, now }: { t: ActiveTarget; now: number }) {
  const href = safeHref(t.globalUrl || t.scrapeUrl);
  const last = timeMs(t.lastScrape);
  return (
    <tr data-testid="target-row">
      <td class="endpoint mono">{href ? <a href={href}>{t.scrapeUrl}</a> : t.scrapeUrl}</td>
      <td>
        <HealthBadge value={t.health} />
      </td>
      <td>
        <LabelBadges labels={t.labels} />
      </td>
      <td class="nowrap" title={t.lastScrape}>
        {formatRelative(last, now)}
      </td>
      <td class="nowrap">
        {last ? formatSeconds(t.lastScrapeDuration) : "–"}
        {t.scrapeInterval ? <div class="muted small">every {t.scrapeInterval}</div> : null}
      </td>
      <td class="target-error">{t.lastError ? <span class="error-text">{t.lastError}</span> : null}</td>
    </tr>
  );
}

function Pool({
  name,
  all,
  shown,
  open,
  toggle,
  now,
}: {
  name: string;
  all: ActiveTarget[];
  shown: ActiveTarget[];
  open: boolean;
  toggle: () => void;
  now: number;
}) {
  const up = all.filter((t) => t.health === "up").length;
  const healthy = up === all.length;
  return (
    <section class="pool card" data-testid="pool">
      <button
        type="button"
        class={`pool-header ${healthy ? "pool-healthy" : "pool-unhealthy"}`}
        aria-expanded={open}
        onClick={toggle}
      >
        <span class="caret" aria-hidden="true">
          {open ? "▾" : "▸"}
        </span>
        <span data-testid="pool-header">{`${name} (${up}/${all.length} up)`}</span>
        {shown.length !== all.length ? <span class="muted small">{` showing ${shown.length}`}</span> : null}
      </button>
      {open ? (
        <Table headers={["Endpoint", "State", "Labels", "Last scrape", "Scrape duration", "Error"]} class="targets-table">
          {shown.map((t) => (
            <TargetRow key={t.scrapeUrl + labelText(t.labels)} t={t} now={now} />
          ))}
        </Table>
      ) : null}
    </section>
  );
}

export default function TargetsPage() {
  const { data, error, loading, reload } = useApi<TargetDiscovery>("/api/v1/targets", params);
  const [unhealthyOnly, setUnhealthyOnly] = useLocalStorage("vigil.targets.unhealthyOnly", "false");
  const [pool, setPool] = useState("");
  const [search, setSearch] = useState("");
  const [collapsed, setCollapsed] = useState<Record<string, boolean>>({});
  const [autoRefresh, setAutoRefresh] = useState(true);
  const now = useNow();
  useAutoRefresh(autoRefresh, 15000, reload);

  const pools = useMemo(() => groupByPool(data?.activeTargets ?? []), [data]);
  const onlyBad = unhealthyOnly === "true";
  const visible = pools
    .filter(([name]) => pool === "" || name === pool)
    .map(([name, all]) => {
      const shown = all.filter(
        (t) => (!onlyBad || t.health !== "up") && matchesSearch(search, t.scrapeUrl, labelText(t.labels)),
      );
      return { name, all, shown };
    })
    .filter((p) => p.shown.length > 0);
  const allOpen = visible.every((p) => !collapsed[p.name]);

  return (
    <div class="page targets-page" data-testid="page-targets" aria-busy={loading && !data ? "true" : undefined}>
      <h1>Targets</h1>
      <div class="toolbar">
        <select value={pool} onChange={(e) => setPool(e.currentTarget.value)} aria-label="Scrape pool">
          <option value="">All scrape pools</option>
          {pools.map(([name]) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
        <label class="check">
          <input
            type="checkbox"
            data-testid="filter-unhealthy"
            checked={onlyBad}
            onChange={(e) => setUnhealthyOnly(e.currentTarget.checked ? "true" : "false")}
          />
          Unhealthy only
        </label>
        <input
          type="search"
          class="search"
          data-testid="target-search"
          placeholder="Filter by endpoint or labels"
          value={search}
          onInput={(e) => setSearch(e.currentTarget.value)}
        />
        <button
          type="button"
          onClick={() =>
            setCollapsed(allOpen ? Object.fromEntries(visible.map((p) => [p.name, true])) : {})
          }
        >
          {allOpen ? "Collapse all" : "Expand all"}
        </button>
        <label class="check">
          <input type="checkbox" checked={autoRefresh} onChange={(e) => setAutoRefresh(e.currentTarget.checked)} />
          Refresh every 15s
        </label>
        <button type="button" onClick={reload}>
          Refresh
        </button>
      </div>
      {error ? <ErrorBox error={error} title="Could not load the targets" /> : null}
      {loading && !data ? <Loading what="targets" /> : null}
      {data && pools.length === 0 ? (
        <p class="empty muted">No targets. Scrape targets come from the scrape_configs of the configuration.</p>
      ) : null}
      {data && pools.length > 0 && visible.length === 0 ? (
        <p class="empty muted">{onlyBad && search === "" ? "All targets are up." : "No targets match the filter."}</p>
      ) : null}
      {visible.map((p) => (
        <Pool
          key={p.name}
          name={p.name}
          all={p.all}
          shown={p.shown}
          open={!collapsed[p.name]}
          toggle={() => setCollapsed({ ...collapsed, [p.name]: !collapsed[p.name] })}
          now={now}
        />
      ))}
    </div>
  );
}
