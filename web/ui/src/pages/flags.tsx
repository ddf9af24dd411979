// Flags: the command-line flags and their values, filterable.
import { useState } from "preact/hooks";
import { ErrorBox } from "../components/ErrorBox";
import { Loading } from "../components/Loading";
import { Table } from "../components/Table";
import { useApi } from "../lib/hooks";
import { matchesSearch } from "./targets/data";
import "./targets/common.css";
import "./status.css";

export default function FlagsPage() {
  const { data, error, loading } = useApi<Record<string, string>>("/api/v1/status/flags");
  const [search, setSearch] = useState("");
  const all = Object.entries(data ?? {}).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const shown = all.filter(([k, v]) => matchesSearch(search, k, v));
  return (
    <div class="page flags-page" data-testid="page-flags" aria-busy={loading && !data ? "true" : undefined}>
      <h1>Command-line flags</h1>
      <div class="toolbar">
        <input
          type="search"
          class="search"
          data-testid="flags-search"
          placeholder="Filter by flag name or value"
          value={search}
          onInput={(e) => setSearch(e.currentTarget.value)}
        />
        {data ? <span class="muted">{`${shown.length} of ${all.length} flags`}</span> : null}
      </div>
      {error ? <ErrorBox error={error} title="Could not load the flags" /> : null}
      {loading && !data ? <Loading what="flags" /> : null}
      {data && all.length === 0 ? <p class="muted">The server reports no flags.</p> : null}
      {data && all.length > 0 && shown.length === 0 ? <p class="muted">No flag matches the filter.</p> : null}
      {shown.length > 0 ? (
        <Table headers={["Flag", "Value"]} class="flags-table" testid="flags-table">
          {shown.map(([k, v]) => (
            <tr key={k} data-testid="flag-row">
              <td class="mono">{`--${k}`}</td>
              <td class="mono">{v === "" ? <span class="muted">(empty)</span> : v}</td>
            </tr>
          ))}
        </Table>
      ) : null}
    </div>
  );
}
