// Command loadgen serves node-exporter-like /metrics pages for the macro
// benchmark: N scrape targets on 127.0.0.1, one listener each, every one
// exposing a deterministic set of series whose values are a pure function
// of (target, series, wall time): counters that grow linearly, mostly
// constant gauges, gauges that step or follow a slow wave, and a classic
// histogram. Optionally a fraction of each target's series churns: it
// belongs to "pods" whose names change every -churn-every.
//
// It writes the target addresses and the exact series count as JSON to
// -info (and stdout) once every listener is up, serves scrape statistics
// by User-Agent at http://<-control>/stats, and stops on SIGINT or
// SIGTERM.
//
//	go run ./loadgen -targets 20 -series 1000
//	go run ./loadgen -targets 200 -series 5000   # 1M active series
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Info is what loadgen reports once it listens.
type Info struct {
	Targets         []string `json:"targets"`
	SeriesPerTarget int      `json:"series_per_target"`
	TotalSeries     int      `json:"total_series"`
	ChurnFraction   float64  `json:"churn_fraction"`
	ChurnEvery      string   `json:"churn_every"`
	BytesPerScrape  int      `json:"bytes_per_scrape_target0"`
	Control         string   `json:"control"`
	PID             int      `json:"pid"`
}

// stats counts scrapes per User-Agent.
type stats struct {
	mu      sync.Mutex
	byAgent map[string]int64
	bytes   atomic.Int64
	renderN atomic.Int64 // nanoseconds spent rendering
}

func (s *stats) add(agent string, n int, d time.Duration) {
	s.mu.Lock()
	s.byAgent[agent]++
	s.mu.Unlock()
	s.bytes.Add(int64(n))
	s.renderN.Add(int64(d))
}

func main() {
	var (
		targets    = flag.Int("targets", 20, "number of scrape targets (one listener each)")
		perTarget  = flag.Int("series", 1000, "series per target (at least ~250: the fixed node-exporter families)")
		churn      = flag.Float64("churn", 0, "fraction of each target's series that churns (0 to 1)")
		churnEvery = flag.Duration("churn-every", 10*time.Minute, "how often the churning series are replaced by new ones")
		host       = flag.String("host", "127.0.0.1", "address the targets listen on")
		basePort   = flag.Int("base-port", 0, "first port; target i listens on base-port+i (0: any free port per target)")
		control    = flag.String("control", "127.0.0.1:0", "address of the /stats endpoint")
		infoFile   = flag.String("info", "", "write the Info JSON here once listening (atomically)")
	)
	flag.Parse()
	if *targets < 1 || *perTarget < 1 || *churn < 0 || *churn > 1 {
		log.Fatal("loadgen: -targets and -series must be positive and -churn within [0,1]")
	}
	sp := spec{seriesPerTarget: *perTarget, churnFraction: *churn, churnEvery: *churnEvery}

	st := &stats{byAgent: map[string]int64{}}
	info := Info{SeriesPerTarget: *perTarget, ChurnFraction: *churn, ChurnEvery: churnEvery.String(), PID: os.Getpid()}
	var servers []*http.Server
	var bufPool sync.Pool
	for i := range *targets {
		t := newTarget(i, sp)
		info.TotalSeries += t.seriesCount()
		if i == 0 {
			info.BytesPerScrape = len(t.render(nil, time.Now()))
		}
		addr := net.JoinHostPort(*host, "0")
		if *basePort > 0 {
			addr = net.JoinHostPort(*host, strconv.Itoa(*basePort+i))
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			log.Fatalf("loadgen: target %d: %v", i, err)
		}
		info.Targets = append(info.Targets, ln.Addr().String())
		mux := http.NewServeMux()
		mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			bp, _ := bufPool.Get().(*[]byte)
			if bp == nil {
				bp = new([]byte)
			}
			body := t.render((*bp)[:0], start)
			w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			_, _ = w.Write(body)
			st.add(r.UserAgent(), len(body), time.Since(start))
			*bp = body
			bufPool.Put(bp)
		})
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, srv)
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Printf("loadgen: target %d: %v", i, err)
			}
		}()
	}

	cl, err := net.Listen("tcp", *control)
	if err != nil {
		log.Fatalf("loadgen: control: %v", err)
	}
	info.Control = cl.Addr().String()
	cmux := http.NewServeMux()
	cmux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		st.mu.Lock()
		agents := make([]string, 0, len(st.byAgent))
		for a := range st.byAgent {
			agents = append(agents, a)
		}
		sort.Strings(agents)
		out := struct {
			ScrapesByAgent map[string]int64 `json:"scrapes_by_agent"`
			BytesServed    int64            `json:"bytes_served"`
			RenderSeconds  float64          `json:"render_seconds"`
		}{map[string]int64{}, st.bytes.Load(), float64(st.renderN.Load()) / 1e9}
		for _, a := range agents {
			out.ScrapesByAgent[a] = st.byAgent[a]
		}
		st.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
	csrv := &http.Server{Handler: cmux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = csrv.Serve(cl) }()

	js, _ := json.MarshalIndent(info, "", "  ")
	if *infoFile != "" {
		tmp := filepath.Join(filepath.Dir(*infoFile), "."+filepath.Base(*infoFile)+".tmp")
		if err := os.WriteFile(tmp, js, 0o644); err != nil {
			log.Fatalf("loadgen: %v", err)
		}
		if err := os.Rename(tmp, *infoFile); err != nil {
			log.Fatalf("loadgen: %v", err)
		}
	}
	fmt.Println(string(js))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range append(servers, csrv) {
		_ = s.Shutdown(sctx)
	}
}
