//go:build browser

// Browser tests of the web UI: Debian's chromium, headless and driven by
// chromedp, against the vigil binary (which embeds the UI) scraping
// Debian's node exporter. They run with
//
//	go test -count=1 -tags browser -run Browser -v ./cmd/vigil/
//
// and need /usr/bin/chromium (package chromium) and
// /usr/bin/prometheus-node-exporter (package prometheus-node-exporter);
// under CI=true a missing one fails the test instead of skipping it.
//
// One server scrapes one job, "node": the node exporter, whose textfile
// collector also serves the hundred gauges the graph timing draws, and a
// second static target that relabeling drops (for the dropped targets of
// Service discovery). The target carries two labels whose values are
// markup that would run script if a page ever rendered it as HTML.
package main

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The label values that must stay text.
const (
	brXSSScript = `<script>window.__xss=1</script>`
	brXSSImg    = `<img src=x onerror="window.__xss=1">`
)

// brConfig is the server's configuration; %s is the node exporter.
const brConfig = `global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: node
    static_configs:
      - targets: [%q, "127.0.0.1:9"]
        labels:
          xss_script: %q
          xss_img: %q
    relabel_configs:
      - source_labels: [__address__]
        regex: '127\.0\.0\.1:9'
        action: drop
`

// brPages are the UI's pages in the order the test visits them.
var brPages = []string{"query", "alerts", "rules", "targets", "service-discovery", "status", "tsdb-status", "flags", "config"}

// brGraphBound is the goal for drawing 100 series of 11,000 points.
const brGraphBound = time.Second

func TestBrowser(t *testing.T) {
	brRequire(t, map[string]string{brChromiumBin: "chromium", brNodeExporterBin: "prometheus-node-exporter"})
	bin := brBuildVigil(t, t.TempDir())
	textDir := t.TempDir()
	brKeepWritingGauges(t, textDir)
	node := brStartNodeExporter(t, textDir)
	v := brStartVigil(t, bin, fmt.Sprintf(brConfig, node, brXSSScript, brXSSImg))

	v.waitQuery(t, `up{job="node"}`, 40*time.Second, func(s []brSample) bool {
		return len(s) == 1 && s[0].Value[1] == "1"
	})
	upSince := time.Now()
	// The graph timing's range starts no earlier than the evaluation time
	// of the first query that saw all the gauges, so that every one of its
	// steps has a sample of every gauge.
	first := v.waitQuery(t, `vigil_browser_gauge`, 20*time.Second, func(s []brSample) bool { return len(s) == brGaugeSeries })
	seenAt, ok := first[0].Value[0].(float64)
	if !ok {
		t.Fatalf("evaluation time %v is not a number", first[0].Value[0])
	}
	gaugesSince := time.UnixMilli(int64(math.Ceil(seenAt * 1000)))

	screens := brScreensDir(t)
	t.Logf("screenshots in %s", screens)
	b := brStartBrowser(t)

	// The theme follows the system's unless stored; store light so that
	// the screenshots do not depend on the machine.
	if err := b.do(20*time.Second, chromedp.Navigate(v.base+"/query"),
		chromedp.Evaluate[chromedp.Void](`localStorage.setItem("vigil.theme", "light")`)); err != nil {
		t.Fatal(err)
	}

	t.Run("Pages", func(t *testing.T) {
		for i, name := range brPages {
			t.Run(name, func(t *testing.T) {
				b.open(t, v.base, name)
				b.screenshot(t, screens, fmt.Sprintf("%02d-%s", i+1, name))
				brCheckPage(t, b, name)
				b.checkProblems(t, name)
			})
		}
	})

	t.Run("TargetsUp", func(t *testing.T) {
		b.open(t, v.base, "targets")
		headers := brEval[[]string](t, b, `[...document.querySelectorAll('[data-testid="pool-header"]')].map(e => e.textContent)`)
		if len(headers) != 1 || headers[0] != "node (1/1 up)" {
			t.Fatalf("pool headers %q, want [\"node (1/1 up)\"]", headers)
		}
		rows := brEval[int](t, b, `document.querySelectorAll('[data-testid="target-row"]').length`)
		if rows != 1 {
			t.Fatalf("%d target rows, want 1", rows)
		}
		// Unhealthy only hides the healthy pool; turning it off again
		// brings it back.
		if err := b.do(10*time.Second, chromedp.Click(chromedp.CSS(`[data-testid="filter-unhealthy"]`))); err != nil {
			t.Fatal(err)
		}
		if err := b.waitJS(5*time.Second, `document.querySelectorAll('[data-testid="pool-header"]').length === 0 && document.body.innerText.includes("All targets are up.")`); err != nil {
			t.Error(err)
		}
		if err := b.do(10*time.Second, chromedp.Click(chromedp.CSS(`[data-testid="filter-unhealthy"]`))); err != nil {
			t.Fatal(err)
		}
		if err := b.waitJS(5*time.Second, `document.querySelectorAll('[data-testid="pool-header"]').length === 1`); err != nil {
			t.Error(err)
		}
		// The search covers labels: a label value finds the target, a
		// word in none hides it.
		for _, c := range []struct {
			search string
			rows   int
		}{{"__xss", 1}, {"no-such-label-value", 0}} {
			if err := b.do(10*time.Second,
				chromedp.Evaluate[chromedp.Void](`(() => { const e = document.querySelector('[data-testid="target-search"]'); e.value = ""; e.dispatchEvent(new Event("input", {bubbles: true})); })()`),
				chromedp.SendKeys(chromedp.CSS(`[data-testid="target-search"]`), c.search)); err != nil {
				t.Fatal(err)
			}
			if err := b.waitJS(5*time.Second, fmt.Sprintf(`document.querySelectorAll('[data-testid="target-row"]').length === %d`, c.rows)); err != nil {
				t.Errorf("search %q: %v", c.search, err)
			}
		}
		b.checkProblems(t, "targets")
	})

	t.Run("QueryTable", func(t *testing.T) {
		// A ten-second range, so that the Graph tab later shows this
		// run's scrapes across its width.
		b.openURL(t, "query", v.base+"/query?g0.range_input=10s")
		b.typeQuery(t, "up")
		// Escape closes the completion list, which would otherwise cover
		// the tabs under the editor, as a person would.
		if err := b.do(5*time.Second, chromedp.KeyEvent(kb.Escape)); err != nil {
			t.Fatal(err)
		}
		if err := b.waitJS(5*time.Second, `!document.querySelector(".cm-tooltip-autocomplete")`); err != nil {
			t.Fatal(err)
		}
		if err := b.do(10*time.Second, chromedp.Click(chromedp.CSS(`[data-testid="tab-table"]`)),
			chromedp.Click(chromedp.CSS(`[data-testid="execute"]`))); err != nil {
			t.Fatal(err)
		}
		if err := b.waitJS(15*time.Second, `document.querySelectorAll('[data-testid="result-row"]').length > 0`); err != nil {
			t.Fatal(err)
		}
		rows := brEval[[]string](t, b, `[...document.querySelectorAll('[data-testid="result-row"]')].map(r => r.innerText)`)
		values := brEval[[]string](t, b, `[...document.querySelectorAll('[data-testid="result-row"]')].map(r => r.lastElementChild.textContent.trim())`)
		if len(rows) != 1 {
			t.Fatalf("%d result rows for up, want 1: %q", len(rows), rows)
		}
		if !strings.Contains(rows[0], `job="node"`) || !strings.Contains(rows[0], `instance="`+node+`"`) || values[0] != "1" {
			t.Fatalf("result row %q (value %q), want up{instance=%q, job=\"node\"} with value 1", rows[0], values[0], node)
		}
		b.checkXSS(t, "query table")
		b.screenshot(t, screens, "10-query-table")
		b.checkProblems(t, "query")
	})

	t.Run("QueryGraph", func(t *testing.T) {
		// The page keeps the table's query; the Graph tab draws it, once
		// the target has been scraped for the whole range.
		for time.Since(upSince) < 12*time.Second {
			time.Sleep(100 * time.Millisecond)
		}
		if err := b.do(10*time.Second, chromedp.Click(chromedp.CSS(`[data-testid="tab-graph"]`))); err != nil {
			t.Fatal(err)
		}
		if err := b.waitJS(20*time.Second, brCanvasColoured+` > 500`); err != nil {
			b.screenshot(t, screens, "11-query-graph-failed")
			t.Fatalf("the graph drew no series: %v", err)
		}
		if n := brEval[string](t, b, `document.querySelector('[data-testid="graph"]').dataset.series`); n != "1" {
			t.Errorf("the graph of up has %s series, want 1", n)
		}
		b.screenshot(t, screens, "11-query-graph")
		// The dark theme, from the toggle in the nav bar (light → dark).
		if err := b.do(10*time.Second, chromedp.Click(chromedp.CSS(`[data-testid="theme-toggle"]`))); err != nil {
			t.Fatal(err)
		}
		if err := b.waitJS(5*time.Second, `document.documentElement.dataset.theme === "dark"`); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond) // the graph redraws in the theme's colours
		b.screenshot(t, screens, "12-query-graph-dark")
		if err := b.do(10*time.Second, chromedp.Evaluate[chromedp.Void](`localStorage.setItem("vigil.theme", "light")`)); err != nil {
			t.Fatal(err)
		}
		b.checkProblems(t, "query")
	})

	t.Run("Autocomplete", func(t *testing.T) {
		b.open(t, v.base, "query")
		b.typeQuery(t, "node_loa")
		if err := b.waitJS(15*time.Second, `[...document.querySelectorAll(".cm-tooltip-autocomplete .cm-completionLabel")].some(e => e.textContent === "node_load1")`); err != nil {
			b.screenshot(t, screens, "13-query-autocomplete-failed")
			t.Fatalf("no completion offering node_load1 (tooltip: %q): %v", brEval[string](t, b, `document.querySelector(".cm-tooltip-autocomplete")?.innerText ?? "none"`), err)
		}
		b.screenshot(t, screens, "13-query-autocomplete")
		b.checkProblems(t, "query")
	})

	t.Run("GraphRenderTime", func(t *testing.T) {
		// 11,000 steps between the time all gauges had samples and now:
		// the lookback finds a sample of every gauge at every step, so the
		// graph gets 100 x 11,000 points (checked through the API first).
		const points = 11000
		for time.Since(gaugesSince) < 22*time.Second {
			time.Sleep(200 * time.Millisecond)
		}
		end := time.Now().Truncate(time.Second)
		stepMs := end.Sub(gaugesSince).Milliseconds() / (points - 1)
		start := end.Add(-time.Duration(stepMs*(points-1)) * time.Millisecond)
		step := strconv.FormatFloat(float64(stepMs)/1000, 'f', -1, 64)
		// last_over_time bridges a scrape that a loaded machine let time
		// out: it skips the staleness marker the failure leaves, so every
		// step keeps its point.
		const expr = "last_over_time(vigil_browser_gauge[5s])"
		n, pts := v.rangeShape(t, expr, start, end, step)
		if n != brGaugeSeries || pts != points {
			t.Fatalf("the range query returns %d series of %d points, want %d of %d", n, pts, brGaugeSeries, points)
		}
		// A tab of its own, so that nothing an earlier page left running
		// competes for the CPU; three page loads, judged by their median.
		tab := b.newTab(t)
		tab.setPage("query-graph-timing")
		u := v.base + "/query?" + brGraphState(expr, end.Sub(start), end, step)
		var times []float64
		for range 3 {
			if err := tab.do(30*time.Second, chromedp.Navigate(u)); err != nil {
				t.Fatal(err)
			}
			if err := tab.waitJS(90*time.Second, `typeof window.__vigilLastGraphRenderMs === "number"`); err != nil {
				t.Fatal(err)
			}
			ms := brEval[float64](t, tab, `window.__vigilLastGraphRenderMs`)
			prepare := brEval[string](t, tab, `document.querySelector('[data-testid="graph"]').dataset.prepareMs ?? "?"`)
			t.Logf("graph of %d series x %d points (step %ss) drawn in %.1f ms from the parsed response, %s ms of it preparing the data", n, pts, step, ms, prepare)
			times = append(times, ms)
		}
		coloured := brEval[int](t, tab, brCanvasColoured)
		tab.screenshot(t, screens, "14-query-graph-100x11000")
		if n := brEval[string](t, tab, `document.querySelector('[data-testid="graph"]').dataset.series`); n != strconv.Itoa(brGaugeSeries) {
			t.Errorf("the big graph has %s series, want %d", n, brGaugeSeries)
		}
		if coloured < 1000 {
			t.Errorf("the big graph coloured only %d pixels", coloured)
		}
		slices.Sort(times)
		median := times[len(times)/2]
		t.Logf("graph render time of %d series x %d points: median %.1f ms of %.1f ms (bound %v)", n, pts, median, times, brGraphBound)
		if median >= float64(brGraphBound.Milliseconds()) {
			t.Errorf("drawing took %.1f ms (median), want under %v", median, brGraphBound)
		}
		tab.checkProblems(t, "query-graph-timing")
	})

	t.Run("RoutePrefix", func(t *testing.T) {
		// A second server under /vigil: pages, assets and API calls all
		// go through the prefix.
		pv := brStartVigil(t, bin, fmt.Sprintf(brConfig, node, "a", "b"), "--web.route-prefix=/vigil")
		pv.waitQuery(t, `up{job="node"}`, 40*time.Second, func(s []brSample) bool { return len(s) == 1 && s[0].Value[1] == "1" })
		for _, name := range []string{"targets", "status", "query"} {
			b.open(t, pv.base, name)
			b.checkProblems(t, name)
		}
		b.open(t, pv.base, "targets")
		if h := brEval[string](t, b, `document.querySelector('[data-testid="pool-header"]')?.textContent ?? ""`); h != "node (1/1 up)" {
			t.Errorf("under /vigil the pool header is %q, want \"node (1/1 up)\"", h)
		}
		b.screenshot(t, screens, "15-targets-route-prefix")
		b.checkProblems(t, "targets")
	})
}

// brCanvasColoured counts the strongly coloured pixels of the graph's
// canvases: the series' lines are coloured, while axes, grid and text are
// shades of grey, so a count well above zero means series were drawn.
const brCanvasColoured = `(() => {
	let n = 0;
	for (const c of document.querySelectorAll('[data-testid="graph"] canvas')) {
		const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
		for (let i = 0; i < d.length; i += 4) {
			if (d[i+3] > 0 && Math.max(d[i], d[i+1], d[i+2]) - Math.min(d[i], d[i+1], d[i+2]) > 60) n++;
		}
	}
	return n;
})()`

// brGraphState is the query page's URL state for one graph panel.
func brGraphState(expr string, rng time.Duration, end time.Time, step string) string {
	return url.Values{
		"g0.expr":        {expr},
		"g0.tab":         {"graph"},
		"g0.range_input": {strconv.FormatInt(rng.Milliseconds(), 10) + "ms"},
		"g0.end_input":   {end.UTC().Format("2006-01-02 15:04:05")},
		"g0.step_input":  {step},
	}.Encode()
}

// open navigates to a page and waits until it shows its data: the page's
// root is there and nothing in it is still loading.
func (b *brBrowser) open(t *testing.T, base, name string) {
	t.Helper()
	b.openURL(t, name, base+"/"+name)
}

// openURL is open for a page's address with a query string.
func (b *brBrowser) openURL(t *testing.T, name, u string) {
	t.Helper()
	b.setPage(name)
	if err := b.do(30*time.Second, chromedp.Navigate(u)); err != nil {
		t.Fatalf("opening %s: %v", name, err)
	}
	if err := b.do(15*time.Second, chromedp.WaitVisible(chromedp.CSS(`[data-testid="page-`+name+`"]`))); err != nil {
		t.Fatalf("page %s: no page-%s root: %v", name, name, err)
	}
	if err := b.waitJS(15*time.Second, `!document.querySelector('[aria-busy="true"]')`); err != nil {
		t.Fatalf("page %s still loading: %v", name, err)
	}
	// Errors of late callbacks (a failed request, a render) show up
	// within a few frames.
	time.Sleep(300 * time.Millisecond)
}

// checkProblems fails the test for each console error, uncaught exception
// or error log entry seen on the page.
func (b *brBrowser) checkProblems(t *testing.T, name string) {
	t.Helper()
	for _, p := range b.problemsOf(name) {
		t.Errorf("page %s: %s", name, p)
	}
}

// checkXSS requires the markup label values to be on the page as
// literal text and none of it to have run or become an element.
func (b *brBrowser) checkXSS(t *testing.T, where string) {
	t.Helper()
	if ran := brEval[bool](t, b, `window.__xss !== undefined`); ran {
		t.Errorf("%s: window.__xss is set: a label value ran as script", where)
	}
	// A series name in PromQL form quotes the value, escaping its quotes.
	text := brEval[string](t, b, `document.body.innerText`)
	for _, lit := range []string{brXSSScript, brXSSImg} {
		quoted := strconv.Quote(lit)
		if !strings.Contains(text, lit) && !strings.Contains(text, quoted[1:len(quoted)-1]) {
			t.Errorf("%s: the label value %s is not shown as text", where, lit)
		}
	}
	if n := brEval[int](t, b, `document.querySelectorAll('img[src="x"], script:not([src])').length`); n != 0 {
		t.Errorf("%s: %d elements made from label values", where, n)
	}
}

// typeQuery replaces the editor's text with q.
func (b *brBrowser) typeQuery(t *testing.T, q string) {
	t.Helper()
	editor := chromedp.CSS(`[data-testid="query-editor"] .cm-content`)
	steps := []struct {
		name string
		a    chromedp.Action[chromedp.Void]
	}{
		{"wait", chromedp.WaitVisible(editor)},
		{"click", chromedp.Click(editor)},
		{"select", chromedp.Evaluate[chromedp.Void](`document.execCommand("selectAll")`)},
		{"keys", chromedp.KeyEvent(q)},
	}
	for _, s := range steps {
		if err := b.do(15*time.Second, s.a); err != nil {
			t.Fatalf("typing %q into the editor (%s): %v", q, s.name, err)
		}
	}
}

// brCheckPage checks what each page shows of the server's state.
func brCheckPage(t *testing.T, b *brBrowser, name string) {
	t.Helper()
	text := brEval[string](t, b, `document.querySelector('[data-testid="page-`+name+`"]').innerText`)
	want := map[string][]string{
		"alerts":            {"No alerting rules loaded"},
		"rules":             {"No rules loaded"},
		"targets":           {"node (1/1 up)", "UP"},
		"service-discovery": {"node", "1 active, 1 dropped", "Dropped", `__address__="127.0.0.1:9"`},
		"status":            {"Runtime information", "Build information", "Alertmanagers", "No Alertmanagers configured", "Storage retention"},
		"tsdb-status":       {"Head block", "Top 10 series count by metric names", "vigil_browser_gauge", "Top 10 label names with value count", "Top 10 label names with high memory usage", "Top 10 series count by label value pairs"},
		"flags":             {"--storage.tsdb.path", "--web.listen-address"},
		"config":            {"job_name: node", "scrape_interval: 1s"},
	}[name]
	// Badges are upper-cased by CSS, which innerText reflects.
	for _, w := range want {
		if !strings.Contains(strings.ToLower(text), strings.ToLower(w)) {
			t.Errorf("page %s lacks %q; its text:\n%s", name, w, brTrim(text, 3000))
		}
	}
	switch name {
	case "targets", "service-discovery", "tsdb-status", "config":
		b.checkXSS(t, name)
	case "flags":
		// The filter narrows the table to the matching flags.
		if err := b.do(10*time.Second, chromedp.SendKeys(chromedp.CSS(`[data-testid="flags-search"]`), "tsdb.path")); err != nil {
			t.Fatal(err)
		}
		if err := b.waitJS(5*time.Second, `(() => { const r = [...document.querySelectorAll('[data-testid="flag-row"]')]; return r.length >= 1 && r.every(x => x.innerText.includes("tsdb.path")); })()`); err != nil {
			t.Error(err)
		}
	}
}

func brTrim(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// rangeShape runs a range query through the API and returns the number
// of series and the smallest number of points among them.
func (v *brVigil) rangeShape(t *testing.T, q string, start, end time.Time, step string) (series, points int) {
	t.Helper()
	ts := func(x time.Time) string { return strconv.FormatFloat(float64(x.UnixMilli())/1000, 'f', 3, 64) }
	u := v.base + "/api/v1/query_range?" + url.Values{"query": {q}, "start": {ts(start)}, "end": {ts(end)}, "step": {step}}.Encode()
	code, body, err := brGet(u)
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Values [][2]any `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &env); err != nil || env.Status != "success" {
		t.Fatalf("range query: HTTP %d, %v %s", code, err, env.Error)
	}
	points = math.MaxInt
	for _, r := range env.Data.Result {
		points = min(points, len(r.Values))
	}
	if len(env.Data.Result) == 0 {
		points = 0
	}
	return len(env.Data.Result), points
}
