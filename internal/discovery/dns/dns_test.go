package dns

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v2"

	"github.com/vigil-monitoring/vigil/internal/discovery"
)

// DNS record types used by the fake server.
const (
	typeA    = 1
	typeNS   = 2
	typeMX   = 15
	typeAAAA = 28
	typeSRV  = 33
)

// fakeDNS is a tiny authoritative DNS server on 127.0.0.1 answering from a
// table, so the tests exercise the real stdlib resolver without network.
type fakeDNS struct {
	conn net.PacketConn
	mu   sync.Mutex
	// answers maps "name/type" to RDATA encoders; missing names are
	// NXDOMAIN, names in fail get SERVFAIL.
	answers map[string][][]byte
	fail    map[string]bool
}

func startDNS(t *testing.T) *fakeDNS {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeDNS{conn: conn, answers: map[string][][]byte{}, fail: map[string]bool{}}
	go f.serve()
	t.Cleanup(func() { conn.Close() })
	return f
}

func (f *fakeDNS) set(name string, qtype uint16, rdata ...[]byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers[fmt.Sprintf("%s/%d", strings.ToLower(name), qtype)] = rdata
}

func (f *fakeDNS) setFail(name string, fail bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[strings.ToLower(name)] = fail
}

// resolver returns a resolver whose every query goes to the fake server.
func (f *fakeDNS) resolver() *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "udp", f.conn.LocalAddr().String())
		},
	}
}

func encodeName(name string) []byte {
	var b []byte
	for _, label := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		b = append(b, byte(len(label)))
		b = append(b, label...)
	}
	return append(b, 0)
}

func rdA(ip string) []byte    { a := netip.MustParseAddr(ip).As4(); return a[:] }
func rdAAAA(ip string) []byte { a := netip.MustParseAddr(ip).As16(); return a[:] }
func rdName(n string) []byte  { return encodeName(n) }
func rdMX(pref uint16, host string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, pref), encodeName(host)...)
}
func rdSRV(prio, weight, port uint16, target string) []byte {
	b := binary.BigEndian.AppendUint16(nil, prio)
	b = binary.BigEndian.AppendUint16(b, weight)
	b = binary.BigEndian.AppendUint16(b, port)
	return append(b, encodeName(target)...)
}

func (f *fakeDNS) serve() {
	buf := make([]byte, 1500)
	for {
		n, addr, err := f.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		if resp := f.answer(buf[:n]); resp != nil {
			f.conn.WriteTo(resp, addr)
		}
	}
}

// answer builds the response to one query: header, the question echoed,
// and answers whose names point back at the question (offset 12).
func (f *fakeDNS) answer(q []byte) []byte {
	if len(q) < 12 {
		return nil
	}
	i := 12
	var labels []string
	for i < len(q) && q[i] != 0 {
		l := int(q[i])
		if i+1+l > len(q) {
			return nil
		}
		labels = append(labels, string(q[i+1:i+1+l]))
		i += 1 + l
	}
	i++ // root label
	if i+4 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[i:])
	question := q[12 : i+4]
	name := strings.ToLower(strings.Join(labels, ".") + ".")

	f.mu.Lock()
	rdatas, found := f.answers[fmt.Sprintf("%s/%d", name, qtype)]
	fail := f.fail[name]
	known := found
	for k := range f.answers {
		if strings.HasPrefix(k, name+"/") {
			known = true
		}
	}
	f.mu.Unlock()

	rcode := uint16(0)
	switch {
	case fail:
		rcode = 2 // SERVFAIL
	case !known:
		rcode = 3 // NXDOMAIN
	}
	flags := uint16(0x8000|0x0400|0x0080) | binary.BigEndian.Uint16(q[2:])&0x0100 | rcode
	resp := append([]byte{}, q[0], q[1])
	resp = binary.BigEndian.AppendUint16(resp, flags)
	resp = binary.BigEndian.AppendUint16(resp, 1)
	if rcode != 0 {
		rdatas = nil
	}
	resp = binary.BigEndian.AppendUint16(resp, uint16(len(rdatas)))
	resp = append(resp, 0, 0, 0, 0) // no authority, no additional
	resp = append(resp, question...)
	for _, rd := range rdatas {
		resp = append(resp, 0xC0, 12)
		resp = binary.BigEndian.AppendUint16(resp, qtype)
		resp = binary.BigEndian.AppendUint16(resp, 1)  // IN
		resp = binary.BigEndian.AppendUint32(resp, 60) // TTL
		resp = binary.BigEndian.AppendUint16(resp, uint16(len(rd)))
		resp = append(resp, rd...)
	}
	return resp
}

func newDiscovery(t *testing.T, f *fakeDNS, src string) *Discovery {
	t.Helper()
	var cfg SDConfig
	if err := yaml.UnmarshalStrict([]byte(src), &cfg); err != nil {
		t.Fatal(err)
	}
	d := NewDiscovery(&cfg, discovery.DiscovererOptions{})
	d.resolver = f.resolver()
	return d
}

// render prints groups as "source: target{labels}; …" sorted.
func render(groups []*discovery.TargetGroup) string {
	var out []string
	for _, g := range groups {
		var ts []string
		for _, t := range g.Targets {
			ts = append(ts, t.String())
		}
		sort.Strings(ts)
		out = append(out, g.Source+": "+strings.Join(ts, "; "))
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

func TestRecordTypes(t *testing.T) {
	f := startDNS(t)
	f.set("_api._tcp.svc.test.", typeSRV, rdSRV(10, 5, 9100, "node1.svc.test."), rdSRV(20, 5, 9200, "node2.svc.test."))
	f.set("web.svc.test.", typeA, rdA("10.0.0.1"), rdA("10.0.0.2"))
	f.set("web6.svc.test.", typeAAAA, rdAAAA("2001:db8::1"))
	f.set("mail.svc.test.", typeMX, rdMX(10, "mx1.svc.test."))
	f.set("zone.svc.test.", typeNS, rdName("ns1.svc.test."))

	cases := []struct{ cfg, want string }{
		{"names: ['_api._tcp.svc.test.']",
			`_api._tcp.svc.test.: {__address__="node1.svc.test:9100", __meta_dns_name="_api._tcp.svc.test.", __meta_dns_srv_record_port="9100", __meta_dns_srv_record_target="node1.svc.test."}; {__address__="node2.svc.test:9200", __meta_dns_name="_api._tcp.svc.test.", __meta_dns_srv_record_port="9200", __meta_dns_srv_record_target="node2.svc.test."}`},
		{"{names: ['web.svc.test.'], type: A, port: 80}",
			`web.svc.test.: {__address__="10.0.0.1:80", __meta_dns_name="web.svc.test."}; {__address__="10.0.0.2:80", __meta_dns_name="web.svc.test."}`},
		{"{names: ['web6.svc.test.'], type: aaaa, port: 80}",
			`web6.svc.test.: {__address__="[2001:db8::1]:80", __meta_dns_name="web6.svc.test."}`},
		{"{names: ['mail.svc.test.'], type: MX, port: 25}",
			`mail.svc.test.: {__address__="mx1.svc.test:25", __meta_dns_mx_record_target="mx1.svc.test.", __meta_dns_name="mail.svc.test."}`},
		{"{names: ['zone.svc.test.'], type: NS, port: 53}",
			`zone.svc.test.: {__address__="ns1.svc.test:53", __meta_dns_name="zone.svc.test.", __meta_dns_ns_record_target="ns1.svc.test."}`},
	}
	for _, tc := range cases {
		d := newDiscovery(t, f, tc.cfg)
		groups, err := d.Refresh(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", tc.cfg, err)
		}
		if got := render(groups); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.cfg, got, tc.want)
		}
	}
}

func TestFailuresKeepLastGood(t *testing.T) {
	f := startDNS(t)
	f.set("a.svc.test.", typeA, rdA("10.0.0.1"))
	f.set("b.svc.test.", typeA, rdA("10.0.0.2"))
	d := newDiscovery(t, f, "{names: ['a.svc.test.', 'b.svc.test.', 'gone.svc.test.'], type: A, port: 1}")
	groups, err := d.Refresh(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// A name that does not exist yields an empty group.
	want := "a.svc.test.: {__address__=\"10.0.0.1:1\", __meta_dns_name=\"a.svc.test.\"}\n" +
		"b.svc.test.: {__address__=\"10.0.0.2:1\", __meta_dns_name=\"b.svc.test.\"}\ngone.svc.test.: "
	if got := render(groups); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	// A failing name is left out, so its previous group stays in force.
	f.setFail("b.svc.test.", true)
	groups, err = d.Refresh(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := render(groups); strings.Contains(got, "b.svc.test.:") || !strings.Contains(got, "a.svc.test.:") {
		t.Fatalf("failing name not left out:\n%s", got)
	}
	// When every name fails, the refresh fails.
	f.setFail("a.svc.test.", true)
	f.set("gone.svc.test.", typeA, rdA("10.0.0.3"))
	f.setFail("gone.svc.test.", true)
	if _, err := d.Refresh(context.Background()); err == nil {
		t.Fatal("refresh with every lookup failing should fail")
	}
}

func TestRun(t *testing.T) {
	f := startDNS(t)
	f.set("a.svc.test.", typeA, rdA("10.0.0.1"))
	d := newDiscovery(t, f, "{names: ['a.svc.test.'], type: A, port: 1, refresh_interval: 1s}")
	d.refresh = 20 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	up := make(chan []*discovery.TargetGroup)
	go d.Run(ctx, up)
	if g := <-up; len(g) != 1 || len(g[0].Targets) != 1 {
		t.Fatalf("first: %s", render(g))
	}
	f.set("a.svc.test.", typeA, rdA("10.0.0.1"), rdA("10.0.0.9"))
	deadline := time.After(5 * time.Second)
	for {
		select {
		case g := <-up:
			if len(g) == 1 && len(g[0].Targets) == 2 {
				return
			}
		case <-deadline:
			t.Fatal("change not picked up")
		}
	}
}

func TestConfigValidation(t *testing.T) {
	for src, want := range map[string]string{
		"type: SRV":                    "DNS-SD config must contain at least one SRV record name",
		"{names: [a], type: A}":        "a port is required in DNS-SD configs for all record types except SRV",
		"{names: [a], type: TXT}":      "invalid DNS-SD records type TXT",
		"{names: [a], refresh: 1s}":    "field refresh not found",
		"{names: [a], port: notanint}": "cannot unmarshal",
	} {
		var c SDConfig
		if err := yaml.UnmarshalStrict([]byte(src), &c); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", src, err, want)
		}
	}
	var c SDConfig
	if err := yaml.UnmarshalStrict([]byte("names: [a]"), &c); err != nil {
		t.Fatal(err)
	}
	if c.Type != "SRV" || c.RefreshInterval != discovery.Duration(30*time.Second) {
		t.Fatalf("defaults %+v", c)
	}
}
