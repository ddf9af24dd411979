// TSDB status: the head block's statistics and the top ten tables of
// cardinality (series per metric name, values per label name, memory per
// label name, series per label pair).
import { ErrorBox } from "../components/ErrorBox";
import { Loading } from "../components/Loading";
import { Table } from "../components/Table";
import { formatCount, formatTimestamp, humanizeBytes } from "../lib/format";
import { useApi } from "../lib/hooks";
import "./targets/common.css";
import "./status.css";

interface Stat {
  name: string;
  value: number;
}

interface TSDBStatus {
  headStats: {
    numSeries: number;
    numLabelPairs: number;
    chunkCount: number;
    minTime: number;
    maxTime: number;
  };
  seriesCountByMetricName: Stat[];
  labelValueCountByLabelName: Stat[];
  memoryInBytesByLabelName: Stat[];
  seriesCountByLabelValuePair: Stat[];
}

function StatTable({
  title,
  nameHeader,
  valueHeader,
  stats,
  total,
  bytes,
  testid,
}: {
  title: string;
  nameHeader: string;
  valueHeader: string;
  stats: Stat[];
  // total turns on a share column: the value as a part of all series.
  total?: number;
  bytes?: boolean;
  testid: string;
}) {
  const headers = [nameHeader, valueHeader];
  if (total) headers.push("Share of all series");
  return (
    <section class="card status-card" data-testid={testid}>
      <h2>{title}</h2>
      {stats.length === 0 ? (
        <p class="muted">No data in the head block.</p>
      ) : (
        <Table headers={headers}>
          {stats.map((s) => (
            <tr key={s.name}>
              <td class="mono tsdb-name">{s.name}</td>
              <td class="num">{bytes ? humanizeBytes(s.value) : formatCount(s.value)}</td>
              {total ? <td class="num">{`${((100 * s.value) / total).toFixed(2)}%`}</td> : null}
            </tr>
          ))}
        </Table>
      )}
    </section>
  );
}

export default function TSDBStatusPage() {
  const { data, error, loading } = useApi<TSDBStatus>("/api/v1/status/tsdb");
  const h = data?.headStats;
  // An empty head reports its bounds inverted (min is the largest time).
  const hasData = h !== undefined && h.numSeries > 0 && h.minTime <= h.maxTime;
  return (
    <div class="page tsdb-page" data-testid="page-tsdb-status" aria-busy={loading && !data ? "true" : undefined}>
      <h1>TSDB status</h1>
      {error ? <ErrorBox error={error} title="Could not load the TSDB status" /> : null}
      {loading && !data ? <Loading what="TSDB status" /> : null}
      {data && h ? (
        <div class="status-grid">
          <section class="card status-card" data-testid="head-stats">
            <h2>Head block</h2>
            <table class="table kv-table">
              <tbody>
                <tr>
                  <th scope="row">Number of series</th>
                  <td class="num">{formatCount(h.numSeries)}</td>
                </tr>
                <tr>
                  <th scope="row">Number of chunks</th>
                  <td class="num">{formatCount(h.chunkCount)}</td>
                </tr>
                <tr>
                  <th scope="row">Number of label pairs</th>
                  <td class="num">{formatCount(h.numLabelPairs)}</td>
                </tr>
                <tr>
                  <th scope="row">Current min time</th>
                  <td class="num">{hasData ? `${formatTimestamp(h.minTime)} (${h.minTime})` : "no data"}</td>
                </tr>
                <tr>
                  <th scope="row">Current max time</th>
                  <td class="num">{hasData ? `${formatTimestamp(h.maxTime)} (${h.maxTime})` : "no data"}</td>
                </tr>
              </tbody>
            </table>
          </section>
          <StatTable
            title="Top 10 series count by metric names"
            nameHeader="Metric name"
            valueHeader="Series count"
            stats={data.seriesCountByMetricName}
            total={h.numSeries}
            testid="series-by-metric"
          />
          <StatTable
            title="Top 10 label names with value count"
            nameHeader="Label name"
            valueHeader="Value count"
            stats={data.labelValueCountByLabelName}
            testid="values-by-label"
          />
          <StatTable
            title="Top 10 label names with high memory usage"
            nameHeader="Label name"
            valueHeader="Bytes used"
            stats={data.memoryInBytesByLabelName}
            bytes
            testid="memory-by-label"
          />
          <StatTable
            title="Top 10 series count by label value pairs"
            nameHeader="Label pair"
            valueHeader="Series count"
            stats={data.seriesCountByLabelValuePair}
            total={h.numSeries}
            testid="series-by-pair"
          />
        </div>
      ) : null}
    </div>
  );
}
