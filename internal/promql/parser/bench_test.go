package parser

import "testing"

// dashboardQueries are typical of Grafana dashboards (node exporter,
// Kubernetes, RED method) and alerting rules.
var dashboardQueries = []string{
	`up`,
	`sum by (job) (up)`,
	`rate(node_cpu_seconds_total{mode!="idle",instance=~"$instance"}[5m])`,
	`100 - (avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m])) * 100)`,
	`node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes * 100 < 10`,
	`histogram_quantile(0.99, sum by (le, handler) (rate(http_request_duration_seconds_bucket{job="api"}[5m])))`,
	`sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{container!="", image!=""}[5m])) / on (namespace, pod) group_left sum by (namespace, pod) (kube_pod_container_resource_limits{resource="cpu"})`,
	`topk(10, sum by (route) (rate(http_requests_total{code=~"5.."}[1h] offset 1d)))`,
	`predict_linear(node_filesystem_avail_bytes{fstype!~"tmpfs|overlay"}[6h], 4 * 3600) < 0`,
	`max_over_time(rate(process_cpu_seconds_total[1m])[1h:1m])`,
	`label_replace(kube_pod_info, "node_name", "$1", "node", "(.*)") * on (node_name) group_left (role) node_role`,
	`(sum(rate(errors_total[5m])) or vector(0)) / sum(rate(requests_total[5m])) > bool 0.01`,
}

func totalLen(qs []string) int64 {
	n := 0
	for _, q := range qs {
		n += len(q)
	}
	return int64(n)
}

func BenchmarkParseExpr(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(totalLen(dashboardQueries))
	for b.Loop() {
		for _, q := range dashboardQueries {
			if _, err := ParseExpr(q); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkLex(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(totalLen(dashboardQueries))
	for b.Loop() {
		for _, q := range dashboardQueries {
			lex(q)
		}
	}
}

func BenchmarkString(b *testing.B) {
	exprs := make([]Expr, len(dashboardQueries))
	for i, q := range dashboardQueries {
		exprs[i] = mustParseB(b, q)
	}
	b.ReportAllocs()
	b.SetBytes(totalLen(dashboardQueries))
	for b.Loop() {
		for _, e := range exprs {
			_ = e.String()
		}
	}
}

func mustParseB(b *testing.B, q string) Expr {
	e, err := ParseExpr(q)
	if err != nil {
		b.Fatal(err)
	}
	return e
}

func BenchmarkParseSeriesDesc(b *testing.B) {
	in := `http_requests{job="api-server", instance="0", group="production"} 0+10x100 _x10 1 2 3 stale {{schema:0 sum:5 count:4 buckets:[1 2 1]}}+{{sum:1 count:1 buckets:[1]}}x20`
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, _, err := ParseSeriesDesc(in); err != nil {
			b.Fatal(err)
		}
	}
}
