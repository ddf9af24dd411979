// Service discovery: per scrape pool, every discovered target's labels
// before relabeling next to the labels relabeling made of them, with the
// targets relabeling dropped marked as such.
import { useMemo, useState } from "preact/hooks";
import { ErrorBox } from "../components/ErrorBox";
import { LabelBadges } from "../components/LabelBadges";
import { Loading } from "../components/Loading";
import { Table } from "../components/Table";
import type { Labels } from "../lib/api";
import { useApi } from "../lib/hooks";
import { groupByPool, labelText, matchesSearch, type TargetDiscovery } from "./targets/data";
import "./targets/common.css";
import "./targets.css";

interface Entry {
  scrapePool: string;
  discovered: Labels;
  // Target labels; undefined for a dropped target.
  labels?: Labels;
}

export default function ServiceDiscoveryPage() {
  const { data, error, loading, reload } = useApi<TargetDiscovery>("/api/v1/targets");
  const [search, setSearch] = useState("");
  const [showDropped, setShowDropped] = useState(true);
  const [collapsed, setCollapsed] = useState<Record<string, boolean>>({});

  const pools = useMemo(() => {
    const entries: Entry[] = [];
    for (const t of data?.activeTargets ?? []) {
      entries.push({ scrapePool: t.scrapePool, discovered: t.discoveredLabels, labels: t.labels });
    }
    for (const t of data?.droppedTargets ?? []) {
      entries.push({ scrapePool: t.scrapePool, discovered: t.discoveredLabels });
    }
    return groupByPool(entries);
  }, [data]);
  const counts = data?.droppedTargetCounts ?? {};

  const visible = pools
    .map(([name, all]) => ({
      name,
      all,
      shown: all.filter(
        (e) => (showDropped || e.labels) && matchesSearch(search, labelText(e.discovered), labelText(e.labels)),
      ),
    }))
    .filter((p) => p.shown.length > 0);

  return (
    <div class="page sd-page" data-testid="page-service-discovery" aria-busy={loading && !data ? "true" : undefined}>
      <h1>Service discovery</h1>
      <div class="toolbar">
        <input
          type="search"
          class="search"
          placeholder="Filter by labels"
          value={search}
          onInput={(e) => setSearch(e.currentTarget.value)}
        />
        <label class="check">
          <input type="checkbox" checked={showDropped} onChange={(e) => setShowDropped(e.currentTarget.checked)} />
          Show dropped targets
        </label>
        <button type="button" onClick={reload}>
          Refresh
        </button>
      </div>
      {error ? <ErrorBox error={error} title="Could not load the discovered targets" /> : null}
      {loading && !data ? <Loading what="discovered targets" /> : null}
      {data && pools.length === 0 ? (
        <p class="empty muted">Nothing discovered. Scrape pools come from the scrape_configs of the configuration.</p>
      ) : null}
      {data && pools.length > 0 && visible.length === 0 ? <p class="empty muted">No targets match the filter.</p> : null}
      {visible.map(({ name, all, shown }) => {
        const active = all.filter((e) => e.labels).length;
        // The server keeps only some dropped targets; the count has them all.
        const dropped = counts[name] ?? all.length - active;
        const open = !collapsed[name];
        return (
          <section class="pool card" key={name} data-testid="sd-pool">
            <button
              type="button"
              class="pool-header pool-healthy"
              aria-expanded={open}
              onClick={() => setCollapsed({ ...collapsed, [name]: open })}
            >
              <span class="caret" aria-hidden="true">
                {open ? "▾" : "▸"}
              </span>
              <span>{name}</span>
              <span class="muted small">{`${active} active, ${dropped} dropped`}</span>
            </button>
            {open ? (
              <Table headers={["Discovered labels", "Target labels"]} class="sd-table">
                {shown.map((e, i) => (
                  <tr key={i} data-testid="sd-row">
                    <td>
                      <LabelBadges labels={e.discovered} />
                    </td>
                    <td>
                      {e.labels ? (
                        <LabelBadges labels={e.labels} />
                      ) : (
                        <span class="badge badge-dropped" title="Relabeling dropped this target">
                          Dropped
                        </span>
                      )}
                    </td>
                  </tr>
                ))}
              </Table>
            ) : null}
          </section>
        );
      })}
    </div>
  );
}
