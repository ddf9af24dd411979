package discovery

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// HTTPClientOptions adjusts a client built by NewHTTPClient.
type HTTPClientOptions struct {
	// UserAgent is sent on every request when non-empty.
	UserAgent string
	// DialContext replaces the dialer (tests, custom resolution).
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// IdleConnTimeout bounds idle keep-alive connections; 5m when zero.
	IdleConnTimeout time.Duration
}

// NewHTTPClient builds a client for cfg. Secrets named by file (passwords,
// credentials, header files, client certificates) are read on each request
// or handshake, so rotating them needs no reload; the CA is read once.
func NewHTTPClient(cfg HTTPClientConfig, opts HTTPClientOptions) (*http.Client, error) {
	rt, err := NewHTTPRoundTripper(cfg, opts)
	if err != nil {
		return nil, err
	}
	c := &http.Client{Transport: rt}
	if !cfg.FollowRedirects {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return c, nil
}

// NewHTTPRoundTripper builds the transport chain for cfg: TLS, proxy, then
// authentication, configured headers and the user agent.
func NewHTTPRoundTripper(cfg HTTPClientConfig, opts HTTPClientOptions) (http.RoundTripper, error) {
	tlsCfg, err := NewTLSConfig(&cfg.TLSConfig)
	if err != nil {
		return nil, err
	}
	idle := opts.IdleConnTimeout
	if idle == 0 {
		idle = 5 * time.Minute
	}
	tr := &http.Transport{
		Proxy:                 cfg.ProxyConfig.proxyFunc(),
		ProxyConnectHeader:    secretHeader(cfg.ProxyConnectHeader),
		TLSClientConfig:       tlsCfg,
		MaxIdleConns:          20000,
		MaxIdleConnsPerHost:   1000,
		DisableCompression:    true, // scrapers handle gzip themselves
		IdleConnTimeout:       idle,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     cfg.EnableHTTP2,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	}
	if opts.DialContext != nil {
		tr.DialContext = opts.DialContext
	}
	if !cfg.EnableHTTP2 {
		// A non-nil empty map switches off the transport's HTTP/2 upgrade.
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	var rt http.RoundTripper = tr
	switch {
	case cfg.Authorization != nil:
		rt = &authRoundTripper{typ: cfg.Authorization.Type, cred: cfg.Authorization.Credentials, file: cfg.Authorization.CredentialsFile, next: rt}
	case cfg.BearerToken != "" || cfg.BearerTokenFile != "":
		// Only reached when Validate was not called.
		rt = &authRoundTripper{typ: "Bearer", cred: cfg.BearerToken, file: cfg.BearerTokenFile, next: rt}
	case cfg.BasicAuth != nil:
		rt = &basicAuthRoundTripper{auth: *cfg.BasicAuth, next: rt}
	case cfg.OAuth2 != nil:
		oauthRT, err := newOAuth2RoundTripper(cfg.OAuth2, rt)
		if err != nil {
			return nil, err
		}
		rt = oauthRT
	}
	if len(cfg.HTTPHeaders) > 0 {
		rt = &headersRoundTripper{headers: cfg.HTTPHeaders, next: rt}
	}
	if opts.UserAgent != "" {
		rt = &userAgentRoundTripper{ua: opts.UserAgent, next: rt}
	}
	return rt, nil
}

func secretHeader(h map[string][]Secret) http.Header {
	if len(h) == 0 {
		return nil
	}
	out := make(http.Header, len(h))
	for name, vals := range h {
		for _, v := range vals {
			out.Add(name, string(v))
		}
	}
	return out
}

// NewTLSConfig builds a crypto/tls configuration. The client certificate
// is loaded on each handshake so that renewed files are picked up.
func NewTLSConfig(cfg *TLSConfig) (*tls.Config, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tc := &tls.Config{
		InsecureSkipVerify: cfg.InsecureSkipVerify, //nolint:gosec // explicitly configured by the user
		ServerName:         cfg.ServerName,
		MinVersion:         uint16(cfg.MinVersion),
		MaxVersion:         uint16(cfg.MaxVersion),
	}
	if tc.MinVersion == 0 {
		tc.MinVersion = tls.VersionTLS12
	}
	ca := []byte(cfg.CA)
	if cfg.CAFile != "" {
		b, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("unable to read CA cert: %w", err)
		}
		ca = b
	}
	if len(ca) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, fmt.Errorf("unable to use specified CA cert %s", describe(cfg.CAFile, "inline"))
		}
		tc.RootCAs = pool
	}
	if cfg.Cert != "" || cfg.CertFile != "" {
		load := func() (*tls.Certificate, error) {
			certPEM, err := readInlineOrFile(cfg.Cert, cfg.CertFile)
			if err != nil {
				return nil, fmt.Errorf("unable to read specified client cert: %w", err)
			}
			keyPEM, err := readInlineOrFile(string(cfg.Key), cfg.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("unable to read specified client key: %w", err)
			}
			c, err := tls.X509KeyPair(certPEM, keyPEM)
			if err != nil {
				return nil, fmt.Errorf("unable to use specified client cert (%s) & key (%s): %w",
					describe(cfg.CertFile, "inline"), describe(cfg.KeyFile, "inline"), err)
			}
			return &c, nil
		}
		// Fail at construction on a broken pair rather than on every scrape.
		if _, err := load(); err != nil {
			return nil, err
		}
		tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return load() }
	}
	return tc, nil
}

func describe(file, otherwise string) string {
	if file != "" {
		return file
	}
	return otherwise
}

func readInlineOrFile(inline, file string) ([]byte, error) {
	if file != "" {
		return os.ReadFile(file)
	}
	return []byte(inline), nil
}

// readSecret returns the inline value or the trimmed content of the file.
func readSecret(inline Secret, file string) (string, error) {
	if file == "" {
		return string(inline), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("unable to read file %s: %w", file, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// cloneRequest copies a request before a round tripper adds headers: a
// RoundTripper must not modify the caller's request.
func cloneRequest(r *http.Request) *http.Request {
	r2 := new(http.Request)
	*r2 = *r
	r2.Header = r.Header.Clone()
	return r2
}

type authRoundTripper struct {
	typ  string
	cred Secret
	file string
	next http.RoundTripper
}

func (rt *authRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("Authorization") != "" {
		return rt.next.RoundTrip(req)
	}
	cred, err := readSecret(rt.cred, rt.file)
	if err != nil {
		return nil, fmt.Errorf("unable to read authorization credentials: %w", err)
	}
	req = cloneRequest(req)
	if cred != "" {
		req.Header.Set("Authorization", rt.typ+" "+cred)
	}
	return rt.next.RoundTrip(req)
}

type basicAuthRoundTripper struct {
	auth BasicAuth
	next http.RoundTripper
}

func (rt *basicAuthRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("Authorization") != "" {
		return rt.next.RoundTrip(req)
	}
	user, err := readSecret(Secret(rt.auth.Username), rt.auth.UsernameFile)
	if err != nil {
		return nil, fmt.Errorf("unable to read basic auth username: %w", err)
	}
	pass, err := readSecret(rt.auth.Password, rt.auth.PasswordFile)
	if err != nil {
		return nil, fmt.Errorf("unable to read basic auth password: %w", err)
	}
	req = cloneRequest(req)
	req.SetBasicAuth(user, pass)
	return rt.next.RoundTrip(req)
}

type headersRoundTripper struct {
	headers map[string]Header
	next    http.RoundTripper
}

func (rt *headersRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	req = cloneRequest(req)
	for name, h := range rt.headers {
		req.Header.Del(name)
		for _, v := range h.Values {
			req.Header.Add(name, v)
		}
		for _, v := range h.Secrets {
			req.Header.Add(name, string(v))
		}
		for _, f := range h.Files {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("unable to read headers file %s: %w", f, err)
			}
			req.Header.Add(name, strings.TrimSpace(string(b)))
		}
	}
	return rt.next.RoundTrip(req)
}

type userAgentRoundTripper struct {
	ua   string
	next http.RoundTripper
}

func (rt *userAgentRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	req = cloneRequest(req)
	req.Header.Set("User-Agent", rt.ua)
	return rt.next.RoundTrip(req)
}

// proxyFunc returns the transport's proxy selection for the configuration.
func (c ProxyConfig) proxyFunc() func(*http.Request) (*url.URL, error) {
	switch {
	case c.ProxyFromEnvironment:
		return http.ProxyFromEnvironment
	case c.ProxyURL.URL != nil && c.ProxyURL.String() != "":
		proxy := c.ProxyURL.URL
		if c.NoProxy == "" {
			return http.ProxyURL(proxy)
		}
		bypass := parseNoProxy(c.NoProxy)
		return func(req *http.Request) (*url.URL, error) {
			if bypass.matches(req.URL.Hostname()) {
				return nil, nil
			}
			return proxy, nil
		}
	}
	return nil
}

// noProxy is a parsed no_proxy list: host names (a leading "." or none
// both match subdomains), IP addresses, CIDR ranges, or "*" for all.
type noProxy struct {
	all     bool
	domains []string
	nets    []*net.IPNet
	ips     []net.IP
}

func parseNoProxy(s string) noProxy {
	var np noProxy
	for _, item := range strings.Split(s, ",") {
		item = strings.ToLower(strings.TrimSpace(item))
		if item == "" {
			continue
		}
		if item == "*" {
			np.all = true
			continue
		}
		if _, n, err := net.ParseCIDR(item); err == nil {
			np.nets = append(np.nets, n)
			continue
		}
		if host, _, err := net.SplitHostPort(item); err == nil {
			item = host // ports are not distinguished
		}
		if ip := net.ParseIP(item); ip != nil {
			np.ips = append(np.ips, ip)
			continue
		}
		np.domains = append(np.domains, strings.TrimPrefix(item, "."))
	}
	return np
}

func (np noProxy) matches(host string) bool {
	if np.all {
		return true
	}
	host = strings.ToLower(host)
	if ip := net.ParseIP(host); ip != nil {
		for _, n := range np.nets {
			if n.Contains(ip) {
				return true
			}
		}
		for _, x := range np.ips {
			if x.Equal(ip) {
				return true
			}
		}
		return false
	}
	for _, d := range np.domains {
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}

// oauth2RoundTripper implements the client-credentials grant (RFC 6749
// §4.4): it fetches a token from token_url, caches it until shortly
// before it expires and sends it as a Bearer token.
type oauth2RoundTripper struct {
	cfg    *OAuth2
	client *http.Client
	next   http.RoundTripper

	mu struct {
		sync.Mutex
		token     string
		tokenType string
		expiry    time.Time
		secret    string // the secret the token was obtained with
	}
}

func newOAuth2RoundTripper(cfg *OAuth2, next http.RoundTripper) (*oauth2RoundTripper, error) {
	// The token endpoint gets its own TLS and proxy settings.
	tokenRT, err := NewHTTPRoundTripper(HTTPClientConfig{TLSConfig: cfg.TLSConfig, ProxyConfig: cfg.ProxyConfig, FollowRedirects: true}, HTTPClientOptions{})
	if err != nil {
		return nil, err
	}
	return &oauth2RoundTripper{cfg: cfg, client: &http.Client{Transport: tokenRT, Timeout: time.Minute}, next: next}, nil
}

func (rt *oauth2RoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	secret, err := readSecret(rt.cfg.ClientSecret, rt.cfg.ClientSecretFile)
	if err != nil {
		return nil, fmt.Errorf("unable to read oauth2 client secret: %w", err)
	}
	typ, token, err := rt.token(req, secret)
	if err != nil {
		return nil, err
	}
	req = cloneRequest(req)
	req.Header.Set("Authorization", typ+" "+token)
	return rt.next.RoundTrip(req)
}

func (rt *oauth2RoundTripper) token(req *http.Request, secret string) (string, string, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	// A rotated secret invalidates the cached token.
	if rt.mu.token != "" && rt.mu.secret == secret && (rt.mu.expiry.IsZero() || time.Now().Before(rt.mu.expiry)) {
		return rt.mu.tokenType, rt.mu.token, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	if len(rt.cfg.Scopes) > 0 {
		form.Set("scope", strings.Join(rt.cfg.Scopes, " "))
	}
	for k, v := range rt.cfg.EndpointParams {
		form.Set(k, v)
	}
	treq, err := http.NewRequestWithContext(req.Context(), http.MethodPost, rt.cfg.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", "", fmt.Errorf("oauth2 token request: %w", err)
	}
	treq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	treq.SetBasicAuth(url.QueryEscape(rt.cfg.ClientID), url.QueryEscape(secret))
	resp, err := rt.client.Do(treq)
	if err != nil {
		return "", "", fmt.Errorf("oauth2 token request: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", "", fmt.Errorf("oauth2 token response: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		return "", "", fmt.Errorf("oauth2 token endpoint returned %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	var tok struct {
		AccessToken string          `json:"access_token"`
		TokenType   string          `json:"token_type"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &tok); err != nil {
		return "", "", fmt.Errorf("oauth2 token response: %w", err)
	}
	if tok.AccessToken == "" {
		return "", "", errors.New("oauth2 token response has no access_token")
	}
	typ := tok.TokenType
	if typ == "" || strings.EqualFold(typ, "bearer") {
		typ = "Bearer"
	}
	var expiry time.Time
	var secs float64
	// Some servers send expires_in as a string.
	if err := json.Unmarshal(tok.ExpiresIn, &secs); err != nil {
		var s string
		if json.Unmarshal(tok.ExpiresIn, &s) == nil {
			fmt.Sscanf(s, "%g", &secs)
		}
	}
	if secs > 0 {
		// Renew ten seconds early so a request never carries an expired token.
		expiry = time.Now().Add(time.Duration(secs*float64(time.Second)) - 10*time.Second)
	}
	rt.mu.token, rt.mu.tokenType, rt.mu.expiry, rt.mu.secret = tok.AccessToken, typ, expiry, secret
	return typ, tok.AccessToken, nil
}
