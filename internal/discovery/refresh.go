package discovery

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// RefreshOptions configures RunRefresh.
type RefreshOptions struct {
	// Mechanism names the discovery mechanism in metrics ("http", "dns").
	Mechanism string
	// Interval between refreshes.
	Interval time.Duration
	// Options are the discoverer's options: logger, registerer, set name.
	Options DiscovererOptions
}

// RunRefresh is the loop of polling mechanisms: it calls refresh at once
// and then every interval, sending what refresh returns. A failed refresh
// sends nothing, so consumers keep the last good groups; it is logged and
// counted in prometheus_sd_refresh_failures_total. It returns when ctx is
// done.
func RunRefresh(ctx context.Context, o RefreshOptions, up chan<- []*TargetGroup, refresh func(context.Context) ([]*TargetGroup, error)) {
	logger := o.Options.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	labels := prometheus.Labels{"mechanism": o.Mechanism, "config": o.Options.SetName}
	failures := RegisterShared(o.Options.Registerer, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "prometheus_sd_refresh_failures_total",
		Help: "Number of refresh failures for the given SD mechanism.",
	}, []string{"mechanism", "config"})).With(labels)
	duration := RegisterShared(o.Options.Registerer, prometheus.NewSummaryVec(prometheus.SummaryOpts{
		Name:       "prometheus_sd_refresh_duration_seconds",
		Help:       "The duration of a refresh for the given SD mechanism.",
		Objectives: map[float64]float64{0.5: 0.05, 0.9: 0.01, 0.99: 0.001},
	}, []string{"mechanism", "config"})).With(labels)

	once := func() {
		start := time.Now()
		groups, err := refresh(ctx)
		duration.Observe(time.Since(start).Seconds())
		if err != nil {
			if ctx.Err() == nil {
				failures.Inc()
				logger.Error("unable to refresh target groups, keeping the last good ones", "err", err)
			}
			return
		}
		select {
		case up <- groups:
		case <-ctx.Done():
		}
	}
	once()
	if o.Interval <= 0 {
		<-ctx.Done()
		return
	}
	ticker := time.NewTicker(o.Interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			once()
		}
	}
}
