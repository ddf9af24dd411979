// Package dns owns DNS-based service discovery (dns_sd_configs): every
// refresh_interval (30s by default) it resolves each configured name as
// SRV (the default), A, AAAA, MX or NS records and turns the answers into
// targets, one group per name.
//
// It uses the standard library resolver, which honours the system's
// resolv.conf (search domains, timeouts) and gives SRV, MX and NS answers
// in the order the RFCs prescribe; no DNS library is needed. A name whose
// lookup fails keeps its last good targets; a name that does not exist
// yields an empty group.
//
// Targets carry __meta_dns_name and, depending on the record type,
// __meta_dns_srv_record_target and __meta_dns_srv_record_port,
// __meta_dns_mx_record_target or __meta_dns_ns_record_target.
package dns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-monitoring/vigil/internal/discovery"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// Meta labels.
const (
	NameLabel            = "__meta_dns_name"
	SRVRecordTargetLabel = "__meta_dns_srv_record_target"
	SRVRecordPortLabel   = "__meta_dns_srv_record_port"
	MXRecordTargetLabel  = "__meta_dns_mx_record_target"
	NSRecordTargetLabel  = "__meta_dns_ns_record_target"
)

// SDConfig is one dns_sd_configs entry.
type SDConfig struct {
	Names           []string           `yaml:"names"`
	RefreshInterval discovery.Duration `yaml:"refresh_interval,omitempty"`
	Type            string             `yaml:"type"`
	// Port is used for every record type except SRV, which has its own.
	Port int `yaml:"port"`
}

// DefaultSDConfig holds Prometheus' defaults.
var DefaultSDConfig = SDConfig{
	RefreshInterval: discovery.Duration(30 * time.Second),
	Type:            "SRV",
}

func init() { discovery.RegisterConfig(&SDConfig{}) }

// Name returns "dns".
func (*SDConfig) Name() string { return "dns" }

// UnmarshalYAML applies defaults and validates.
func (c *SDConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultSDConfig
	type plain SDConfig
	if err := unmarshal((*plain)(c)); err != nil {
		return err
	}
	if len(c.Names) == 0 {
		return errors.New("DNS-SD config must contain at least one SRV record name")
	}
	switch strings.ToUpper(c.Type) {
	case "SRV":
	case "A", "AAAA", "MX", "NS":
		if c.Port == 0 {
			return errors.New("a port is required in DNS-SD configs for all record types except SRV")
		}
	default:
		return fmt.Errorf("invalid DNS-SD records type %s", c.Type)
	}
	return nil
}

// NewDiscoverer returns a discoverer for the names.
func (c *SDConfig) NewDiscoverer(opts discovery.DiscovererOptions) (discovery.Discoverer, error) {
	return NewDiscovery(c, opts), nil
}

// Discovery resolves names periodically.
type Discovery struct {
	names    []string
	qtype    string
	port     int
	refresh  time.Duration
	opts     discovery.DiscovererOptions
	logger   *slog.Logger
	resolver *net.Resolver

	lookups, failures prometheus.Counter
}

// NewDiscovery returns a discoverer for cfg using the default resolver.
func NewDiscovery(cfg *SDConfig, opts discovery.DiscovererOptions) *Discovery {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	refresh := time.Duration(cfg.RefreshInterval)
	if refresh <= 0 {
		refresh = time.Duration(DefaultSDConfig.RefreshInterval)
	}
	qtype := strings.ToUpper(cfg.Type)
	if qtype == "" {
		qtype = "SRV"
	}
	return &Discovery{
		names:    append([]string(nil), cfg.Names...),
		qtype:    qtype,
		port:     cfg.Port,
		refresh:  refresh,
		opts:     opts,
		logger:   logger,
		resolver: net.DefaultResolver,
		lookups: discovery.RegisterShared(opts.Registerer, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_sd_dns_lookups_total",
			Help: "The number of DNS-SD lookups.",
		})),
		failures: discovery.RegisterShared(opts.Registerer, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_sd_dns_lookup_failures_total",
			Help: "The number of DNS-SD lookup failures.",
		})),
	}
}

// Run resolves at once, then every refresh interval.
func (d *Discovery) Run(ctx context.Context, up chan<- []*discovery.TargetGroup) {
	discovery.RunRefresh(ctx, discovery.RefreshOptions{Mechanism: "dns", Interval: d.refresh, Options: d.opts}, up, d.Refresh)
}

// Refresh resolves every name concurrently and returns one group per name
// that resolved (or does not exist). Names whose lookup failed are left
// out, so their previous group stays in force; the error is returned only
// when every name failed.
func (d *Discovery) Refresh(ctx context.Context) ([]*discovery.TargetGroup, error) {
	groups := make([]*discovery.TargetGroup, len(d.names))
	errs := make([]error, len(d.names))
	var wg sync.WaitGroup
	for i, name := range d.names {
		wg.Go(func() {
			groups[i], errs[i] = d.refreshOne(ctx, name)
		})
	}
	wg.Wait()
	out := groups[:0]
	for i, g := range groups {
		if errs[i] != nil {
			if ctx.Err() == nil {
				d.logger.Error("error refreshing DNS targets, keeping the last good ones", "name", d.names[i], "err", errs[i])
			}
			continue
		}
		out = append(out, g)
	}
	if len(out) == 0 && len(d.names) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func (d *Discovery) refreshOne(ctx context.Context, name string) (*discovery.TargetGroup, error) {
	d.lookups.Inc()
	tg := &discovery.TargetGroup{Source: name}
	targets, err := d.lookup(ctx, name)
	if err != nil {
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
			return tg, nil // the name is gone: so are its targets
		}
		d.failures.Inc()
		return nil, err
	}
	tg.Targets = targets
	return tg, nil
}

// lookup resolves one name according to the record type.
func (d *Discovery) lookup(ctx context.Context, name string) ([]labels.Labels, error) {
	port := strconv.Itoa(d.port)
	target := func(host, port string, extra ...string) labels.Labels {
		kv := append([]string{discovery.AddressLabel, net.JoinHostPort(host, port), NameLabel, name}, extra...)
		return labels.FromStrings(kv...)
	}
	var out []labels.Labels
	switch d.qtype {
	case "SRV":
		// Empty service and proto: name is the full SRV owner name.
		_, srvs, err := d.resolver.LookupSRV(ctx, "", "", name)
		if err != nil {
			return nil, err
		}
		for _, s := range srvs {
			p := strconv.Itoa(int(s.Port))
			out = append(out, target(strings.TrimSuffix(s.Target, "."), p,
				SRVRecordTargetLabel, s.Target, SRVRecordPortLabel, p))
		}
	case "MX":
		mxs, err := d.resolver.LookupMX(ctx, name)
		if err != nil {
			return nil, err
		}
		for _, mx := range mxs {
			out = append(out, target(strings.TrimSuffix(mx.Host, "."), port, MXRecordTargetLabel, mx.Host))
		}
	case "NS":
		nss, err := d.resolver.LookupNS(ctx, name)
		if err != nil {
			return nil, err
		}
		for _, ns := range nss {
			out = append(out, target(strings.TrimSuffix(ns.Host, "."), port, NSRecordTargetLabel, ns.Host))
		}
	case "A", "AAAA":
		network := "ip4"
		if d.qtype == "AAAA" {
			network = "ip6"
		}
		ips, err := d.resolver.LookupNetIP(ctx, network, name)
		if err != nil {
			return nil, err
		}
		for _, ip := range ips {
			out = append(out, target(ip.Unmap().String(), port))
		}
	default:
		return nil, fmt.Errorf("invalid DNS-SD records type %s", d.qtype)
	}
	return out, nil
}
