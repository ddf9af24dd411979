package discovery

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.yaml.in/yaml/v2"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

func TestDuration(t *testing.T) {
	good := map[string]time.Duration{
		"0":           0,
		"0s":          0,
		"1ms":         time.Millisecond,
		"90s":         90 * time.Second,
		"1h30m":       90 * time.Minute,
		"1d":          24 * time.Hour,
		"1w":          7 * 24 * time.Hour,
		"1y":          365 * 24 * time.Hour,
		"2d3h4m5s6ms": 2*24*time.Hour + 3*time.Hour + 4*time.Minute + 5*time.Second + 6*time.Millisecond,
	}
	for s, want := range good {
		d, err := ParseDuration(s)
		if err != nil || time.Duration(d) != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", s, time.Duration(d), err, want)
		}
		back, err := ParseDuration(d.String())
		if err != nil || back != d {
			t.Errorf("%q prints as %q which reads back as %v, %v", s, d.String(), back, err)
		}
	}
	for _, s := range []string{"", "1", "-1h", "1h1d", "1m1m", "1.5h", "h", "1 h", "1µs", "99999999999999999999y"} {
		if _, err := ParseDuration(s); err == nil {
			t.Errorf("ParseDuration(%q) should fail", s)
		}
	}
	if _, err := ParseDuration("-1h"); err == nil || err.Error() != `not a valid duration string: "-1h"` {
		t.Errorf("error text: %v", err)
	}
	if got := Duration(90 * time.Minute).String(); got != "1h30m" {
		t.Errorf("String = %q", got)
	}
}

func TestTargetGroupWire(t *testing.T) {
	var tg TargetGroup
	if err := yaml.UnmarshalStrict([]byte("targets: ['a:1', 'b:2']\nlabels: {env: prod}\n"), &tg); err != nil {
		t.Fatal(err)
	}
	if len(tg.Targets) != 2 || tg.Targets[1].Get(AddressLabel) != "b:2" || tg.Labels.Get("env") != "prod" {
		t.Fatalf("decoded %+v", tg)
	}
	b, err := json.Marshal(tg)
	if err != nil || string(b) != `{"targets":["a:1","b:2"],"labels":{"env":"prod"}}` {
		t.Fatalf("json %s %v", b, err)
	}
	var back TargetGroup
	if err := json.Unmarshal(b, &back); err != nil || !labels.Equal(back.Labels, tg.Labels) || len(back.Targets) != 2 {
		t.Fatalf("json round trip %+v %v", back, err)
	}
	for _, bad := range []string{
		`{"targets":["a"],"extra":1}`,
		`{"targets":"a"}`,
	} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("%s should fail", bad)
		}
	}
	if err := yaml.UnmarshalStrict([]byte("targets: [a]\nlabels: {!!binary '/w==': x}\n"), &back); err == nil || !strings.Contains(err.Error(), `"\xff" is not a valid label name`) {
		t.Errorf("invalid label name: %v", err)
	}
	if err := yaml.UnmarshalStrict([]byte("targets: [a]\nlabelz: {}\n"), &back); err == nil {
		t.Error("unknown field accepted")
	}
}

func TestSecretAndURLMarshal(t *testing.T) {
	cfg := struct {
		S Secret `yaml:"s"`
		E Secret `yaml:"e,omitempty"`
		U URL    `yaml:"u"`
	}{S: "hunter2", U: URL{URL: &url.URL{Scheme: "http", User: url.UserPassword("u", "pw"), Host: "h"}}}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "hunter2") || strings.Contains(string(out), "pw") || !strings.Contains(string(out), "s: <secret>") {
		t.Fatalf("secrets leaked:\n%s", out)
	}
	j, _ := json.Marshal(cfg.S)
	var back string
	if err := json.Unmarshal(j, &back); err != nil || back != "<secret>" {
		t.Fatalf("json secret %s", j)
	}
}

func TestHTTPClientConfigValidate(t *testing.T) {
	cases := []struct {
		yaml, err string
	}{
		{"bearer_token: a\nbearer_token_file: b", "at most one of bearer_token & bearer_token_file must be configured"},
		{"bearer_token: a\nbasic_auth: {username: u}", "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured"},
		{"basic_auth: {username: u, username_file: f}", "at most one of basic_auth username, username_file & username_ref must be configured"},
		{"basic_auth: {password: u, password_file: f}", "at most one of basic_auth password, password_file & password_ref must be configured"},
		{"authorization: {credentials: a, credentials_file: b}", "at most one of authorization credentials & credentials_file must be configured"},
		{"authorization: {credentials: a}\nbasic_auth: {username: u}", "at most one of basic_auth, oauth2 & authorization must be configured"},
		{"authorization: {credentials: a}\nbearer_token: b", "authorization is not compatible with bearer_token & bearer_token_file"},
		{"oauth2: {client_id: a, token_url: u, client_secret: s, client_secret_file: f}", "at most one of oauth2 client_secret"},
		{"oauth2: {token_url: u}", "oauth2 client_id must be configured"},
		{"tls_config: {ca: x, ca_file: y}", "at most one of ca, ca_file & ca_ref must be configured"},
		{"tls_config: {key_file: k}", "exactly one of cert or cert_file must be configured when a client key is configured"},
		{"tls_config: {min_version: TLS14}", "unknown TLS version: TLS14"},
		{"tls_config: {min_version: TLS13, max_version: TLS12}", "max_version must be greater than or equal to"},
		{"proxy_url: http://p\nproxy_from_environment: true", "if proxy_from_environment is configured, proxy_url must not be configured"},
		{"proxy_connect_header: {a: [b]}", "if proxy_connect_header is configured"},
		{"http_headers: {authorization: {values: [x]}}", `setting header "Authorization" is not allowed`},
	}
	for _, tc := range cases {
		var c HTTPClientConfig
		err := yaml.UnmarshalStrict([]byte(tc.yaml), &c)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%q: got %v, want %q", tc.yaml, err, tc.err)
		}
	}
	var c HTTPClientConfig
	if err := yaml.UnmarshalStrict([]byte("authorization: {credentials: x}"), &c); err != nil {
		t.Fatal(err)
	}
	if c.Authorization.Type != "Bearer" || !c.FollowRedirects || !c.EnableHTTP2 {
		t.Fatalf("defaults: %+v", c)
	}
}

// echo answers with the request's auth and custom headers.
func echo(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "/", http.StatusFound)
			return
		}
		fmt.Fprintf(w, "%s|%s|%s", r.Header.Get("Authorization"), r.Header.Values("X-Custom"), r.Header.Get("User-Agent"))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, cfg HTTPClientConfig, target string) (int, string) {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	c, err := NewHTTPClient(cfg, HTTPClientOptions{UserAgent: "vigil-test"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Get(target)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 512)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, sb.String()
}

func TestHTTPClientAuth(t *testing.T) {
	srv := echo(t)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("file-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	_, body := get(t, HTTPClientConfig{BearerTokenFile: tokenFile, FollowRedirects: true}, srv.URL)
	if body != "Bearer file-token|[]|vigil-test" {
		t.Fatalf("bearer file: %q", body)
	}
	// Files are read per request: a rotated token is used without rebuilding.
	if err := os.WriteFile(tokenFile, []byte("rotated"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, body = get(t, HTTPClientConfig{Authorization: &Authorization{Type: "Custom", CredentialsFile: tokenFile}}, srv.URL)
	if body != "Custom rotated|[]|vigil-test" {
		t.Fatalf("authorization file: %q", body)
	}
	_, body = get(t, HTTPClientConfig{BasicAuth: &BasicAuth{Username: "u", PasswordFile: tokenFile}}, srv.URL)
	if body != "Basic dTpyb3RhdGVk|[]|vigil-test" { // base64("u:rotated")
		t.Fatalf("basic auth: %q", body)
	}
	_, body = get(t, HTTPClientConfig{HTTPHeaders: map[string]Header{"X-Custom": {Values: []string{"a"}, Secrets: []Secret{"b"}, Files: []string{tokenFile}}}}, srv.URL)
	if body != "|[a b rotated]|vigil-test" {
		t.Fatalf("headers: %q", body)
	}
	code, _ := get(t, HTTPClientConfig{FollowRedirects: false}, srv.URL+"/redirect")
	if code != http.StatusFound {
		t.Fatalf("redirect followed: %d", code)
	}
	code, _ = get(t, HTTPClientConfig{FollowRedirects: true}, srv.URL+"/redirect")
	if code != http.StatusOK {
		t.Fatalf("redirect not followed: %d", code)
	}
}

func TestHTTPClientOAuth2(t *testing.T) {
	var tokenCalls atomic.Int32
	tokenSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokenCalls.Add(1)
		user, pass, _ := r.BasicAuth()
		if err := r.ParseForm(); err != nil || user != "id" || pass != "sec" || r.Form.Get("grant_type") != "client_credentials" || r.Form.Get("scope") != "a b" || r.Form.Get("aud") != "x" {
			http.Error(w, "bad token request", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"tok","token_type":"bearer","expires_in":3600}`)
	}))
	defer tokenSrv.Close()
	srv := echo(t)
	cfg := HTTPClientConfig{OAuth2: &OAuth2{ClientID: "id", ClientSecret: "sec", TokenURL: tokenSrv.URL, Scopes: []string{"a", "b"}, EndpointParams: map[string]string{"aud": "x"}}}
	c, err := NewHTTPClient(cfg, HTTPClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		resp, err := c.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		n, _ := resp.Body.Read(buf)
		resp.Body.Close()
		if !strings.HasPrefix(string(buf[:n]), "Bearer tok|") {
			t.Fatalf("oauth2 header: %q", buf[:n])
		}
	}
	if tokenCalls.Load() != 1 {
		t.Fatalf("token fetched %d times, want 1 (cached)", tokenCalls.Load())
	}
}

func TestHTTPClientTLS(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "conformance", "scrape-tls")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("TLS fixtures missing: %v", err)
		}
		t.Skip("TLS fixtures not found")
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "server.cer"), filepath.Join(dir, "server.key"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, len(r.TLS.PeerCertificates))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	defer srv.Close()

	cfg := HTTPClientConfig{TLSConfig: TLSConfig{
		CAFile:   filepath.Join(dir, "ca.cer"),
		CertFile: filepath.Join(dir, "client.cer"),
		KeyFile:  filepath.Join(dir, "client.key"),
	}}
	// The fixture's server certificate is issued for 127.0.0.1.
	target := srv.URL
	if _, body := get(t, cfg, target); body != "1" {
		t.Fatalf("client certificate not presented: %q", body)
	}
	// Without the CA the server is not trusted.
	c, err := NewHTTPClient(HTTPClientConfig{}, HTTPClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(target); err == nil {
		t.Fatal("untrusted server accepted")
	}
	if _, err := NewTLSConfig(&TLSConfig{CAFile: filepath.Join(dir, "missing")}); err == nil {
		t.Fatal("missing CA file accepted")
	}
}

func TestNoProxy(t *testing.T) {
	np := parseNoProxy("example.com, .internal,10.0.0.0/8, 192.168.1.1, host:8080")
	for host, want := range map[string]bool{
		"example.com": true, "a.example.com": true, "badexample.com": false,
		"x.internal": true, "internal": true, "10.1.2.3": true, "11.0.0.1": false,
		"192.168.1.1": true, "host": true, "other": false,
	} {
		if got := np.matches(host); got != want {
			t.Errorf("matches(%q) = %v, want %v", host, got, want)
		}
	}
	if !parseNoProxy("*").matches("anything") {
		t.Error("* must match everything")
	}
}

func TestStaticDiscoverer(t *testing.T) {
	sc := StaticConfig{{Source: "0", Targets: []labels.Labels{labels.FromStrings(AddressLabel, "a:1")}}}
	d, err := sc.NewDiscoverer(DiscovererOptions{})
	if err != nil {
		t.Fatal(err)
	}
	up := make(chan []*TargetGroup, 1)
	d.Run(context.Background(), up)
	if got := <-up; len(got) != 1 || got[0].Targets[0].Get(AddressLabel) != "a:1" {
		t.Fatalf("got %v", got)
	}
	// A cancelled context must not block the send.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d.Run(ctx, make(chan []*TargetGroup))
}
