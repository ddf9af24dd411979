// Status: runtime information, build information and the Alertmanagers
// the server sends alerts to.
import type { ComponentChildren } from "preact";
import { ErrorBox } from "../components/ErrorBox";
import { Loading } from "../components/Loading";
import { HealthBadge } from "../components/Table";
import { formatRelative, formatTimestamp, humanizeBytes } from "../lib/format";
import { useApi } from "../lib/hooks";
import { safeHref, timeMs } from "./targets/data";
import { useNow } from "./targets/hooks";
import "./targets/common.css";
import "./status.css";

interface RuntimeInfo {
  startTime: string;
  CWD: string;
  hostname: string;
  serverTime: string;
  reloadConfigSuccess: boolean;
  lastConfigTime: string;
  corruptionCount: number;
  goroutineCount: number;
  GOMAXPROCS: number;
  GOMEMLIMIT: number;
  GOGC: string;
  GODEBUG: string;
  storageRetention: string;
}

interface BuildInfo {
  version: string;
  revision: string;
  branch: string;
  buildUser: string;
  buildDate: string;
  goVersion: string;
}

interface Alertmanagers {
  activeAlertmanagers: { url: string }[];
  droppedAlertmanagers: { url: string }[];
}

function KV({ rows }: { rows: [string, ComponentChildren][] }) {
  return (
    <table class="table kv-table">
      <tbody>
        {rows.map(([k, v]) => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td>{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function when(s: string, now: number): string {
  const t = timeMs(s);
  return t ? `${formatTimestamp(t)} (${formatRelative(t, now)})` : "never";
}

// GOMEMLIMIT is math.MaxInt64 when no limit is set.
function memLimit(v: number): string {
  return v >= 2 ** 62 ? "no limit" : humanizeBytes(v);
}

function AMList({ title, list, empty }: { title: string; list: { url: string }[]; empty: string }) {
  return (
    <div>
      <h3>{`${title} (${list.length})`}</h3>
      {list.length === 0 ? (
        <p class="muted">{empty}</p>
      ) : (
        <ul class="am-list mono">
          {list.map((a, i) => {
            const href = safeHref(a.url);
            return <li key={i}>{href ? <a href={href}>{a.url}</a> : a.url}</li>;
          })}
        </ul>
      )}
    </div>
  );
}

export default function StatusPage() {
  const rt = useApi<RuntimeInfo>("/api/v1/status/runtimeinfo");
  const bi = useApi<BuildInfo>("/api/v1/status/buildinfo");
  const am = useApi<Alertmanagers>("/api/v1/alertmanagers");
  const now = useNow();
  const busy = (rt.loading && !rt.data) || (bi.loading && !bi.data) || (am.loading && !am.data);
  const r = rt.data;
  const b = bi.data;
  return (
    <div class="page status-page" data-testid="page-status" aria-busy={busy ? "true" : undefined}>
      <h1>Runtime &amp; build information</h1>
      <div class="status-grid">
        <section class="card status-card">
          <h2>Runtime information</h2>
          {rt.error ? <ErrorBox error={rt.error} title="Could not load the runtime information" /> : null}
          {rt.loading && !r ? <Loading /> : null}
          {r ? (
            <KV
              rows={[
                ["Start time", when(r.startTime, now)],
                ["Working directory", <span class="mono">{r.CWD}</span>],
                ["Hostname", r.hostname],
                ["Server time", formatTimestamp(timeMs(r.serverTime))],
                [
                  "Configuration reload",
                  <HealthBadge value={r.reloadConfigSuccess ? "ok" : "error"} />,
                ],
                ["Last successful configuration reload", when(r.lastConfigTime, now)],
                ["WAL corruptions", String(r.corruptionCount)],
                ["Goroutines", String(r.goroutineCount)],
                ["GOMAXPROCS", String(r.GOMAXPROCS)],
                ["GOMEMLIMIT", memLimit(r.GOMEMLIMIT)],
                ["GOGC", r.GOGC || "default"],
                ["GODEBUG", r.GODEBUG || "none"],
                ["Storage retention", r.storageRetention || "default"],
              ]}
            />
          ) : null}
        </section>
        <section class="card status-card">
          <h2>Build information</h2>
          {bi.error ? <ErrorBox error={bi.error} title="Could not load the build information" /> : null}
          {bi.loading && !b ? <Loading /> : null}
          {b ? (
            <KV
              rows={[
                ["Version", b.version],
                ["Revision", <span class="mono">{b.revision}</span>],
                ["Branch", b.branch],
                ["Build user", b.buildUser],
                ["Build date", b.buildDate],
                ["Go version", b.goVersion],
              ]}
            />
          ) : null}
        </section>
        <section class="card status-card" data-testid="alertmanagers">
          <h2>Alertmanagers</h2>
          {am.error ? <ErrorBox error={am.error} title="Could not load the Alertmanagers" /> : null}
          {am.loading && !am.data ? <Loading /> : null}
          {am.data ? (
            am.data.activeAlertmanagers.length === 0 && am.data.droppedAlertmanagers.length === 0 ? (
              <p class="muted">
                No Alertmanagers configured. Alerts are sent to the Alertmanagers that the alerting section of the
                configuration names.
              </p>
            ) : (
              <>
                <AMList title="Active" list={am.data.activeAlertmanagers} empty="None." />
                <AMList title="Dropped" list={am.data.droppedAlertmanagers} empty="None." />
              </>
            )
          ) : null}
        </section>
      </div>
    </div>
  );
}
