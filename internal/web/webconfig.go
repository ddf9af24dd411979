package web

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"go.yaml.in/yaml/v2"
	"golang.org/x/crypto/bcrypt"
)

// WebConfig is the --web.config.file, in the format of the Prometheus
// exporter toolkit, so one file serves Vigil, Prometheus and the
// exporters: TLS for the listener, extra response headers, and basic
// authentication with bcrypt-hashed passwords.
type WebConfig struct {
	TLSConfig  TLSServerConfig   `yaml:"tls_server_config"`
	HTTPConfig HTTPServerConfig  `yaml:"http_server_config"`
	Users      map[string]string `yaml:"basic_auth_users"`
}

// TLSServerConfig configures TLS; without a certificate the server
// speaks plain HTTP.
type TLSServerConfig struct {
	CertFile                 string   `yaml:"cert_file"`
	KeyFile                  string   `yaml:"key_file"`
	Cert                     string   `yaml:"cert"` // inline PEM, instead of cert_file
	Key                      string   `yaml:"key"`  // inline PEM, instead of key_file
	ClientAuth               string   `yaml:"client_auth_type"`
	ClientCAFile             string   `yaml:"client_ca_file"`
	ClientCA                 string   `yaml:"client_ca"` // inline PEM
	CipherSuites             []string `yaml:"cipher_suites"`
	CurvePreferences         []string `yaml:"curve_preferences"`
	MinVersion               string   `yaml:"min_version"`
	MaxVersion               string   `yaml:"max_version"`
	PreferServerCipherSuites bool     `yaml:"prefer_server_cipher_suites"`
	ClientAllowedSANs        []string `yaml:"client_allowed_sans"`
}

// HTTPServerConfig holds HTTP settings.
type HTTPServerConfig struct {
	// HTTP2 is on unless set to false.
	HTTP2   *bool             `yaml:"http2"`
	Headers map[string]string `yaml:"headers"`
}

// allowedHeaders are the security headers the file may set; the toolkit
// refuses others, so a file that works here works there.
var allowedHeaders = []string{
	"Content-Security-Policy",
	"X-Frame-Options",
	"X-Content-Type-Options",
	"X-XSS-Protection",
	"Strict-Transport-Security",
}

// LoadWebConfig reads and validates the file. Relative certificate paths
// are resolved against the file's directory.
func LoadWebConfig(path string) (*WebConfig, error) {
	content, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c := &WebConfig{}
	if err := yaml.UnmarshalStrict(content, c); err != nil {
		return nil, fmt.Errorf("parsing web config %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	t := &c.TLSConfig
	for _, p := range []*string{&t.CertFile, &t.KeyFile, &t.ClientCAFile} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("web config %s: %w", path, err)
	}
	return c, nil
}

func (c *WebConfig) validate() error {
	t := c.TLSConfig
	hasCert, hasKey := t.CertFile != "" || t.Cert != "", t.KeyFile != "" || t.Key != ""
	switch {
	case t.CertFile != "" && t.Cert != "":
		return errors.New("cert and cert_file are mutually exclusive")
	case t.KeyFile != "" && t.Key != "":
		return errors.New("key and key_file are mutually exclusive")
	case t.ClientCAFile != "" && t.ClientCA != "":
		return errors.New("client_ca and client_ca_file are mutually exclusive")
	case hasCert && !hasKey:
		return errors.New("missing key_file")
	case hasKey && !hasCert:
		return errors.New("missing cert_file")
	}
	if _, err := clientAuthType(t.ClientAuth); err != nil {
		return err
	}
	if (t.ClientCAFile != "" || t.ClientCA != "") && (t.ClientAuth == "" || t.ClientAuth == "NoClientCert") {
		return errors.New("client CAs have been configured without a client_auth_type")
	}
	if len(t.ClientAllowedSANs) > 0 && t.ClientAuth != "RequireAndVerifyClientCert" {
		return errors.New("client_allowed_sans requires client_auth_type RequireAndVerifyClientCert")
	}
	for _, v := range []string{t.MinVersion, t.MaxVersion} {
		if _, err := tlsVersion(v); err != nil {
			return err
		}
	}
	for _, s := range t.CipherSuites {
		if _, err := cipherSuite(s); err != nil {
			return err
		}
	}
	for _, s := range t.CurvePreferences {
		if _, err := curveID(s); err != nil {
			return err
		}
	}
	for h := range c.HTTPConfig.Headers {
		if !slices.Contains(allowedHeaders, http.CanonicalHeaderKey(h)) {
			return fmt.Errorf("HTTP header %q can not be configured", h)
		}
	}
	for user, hash := range c.Users {
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return fmt.Errorf("basic_auth_users: password hash of user %q is not a bcrypt hash: %w", user, err)
		}
	}
	return nil
}

// TLSEnabled reports whether the listener must speak TLS.
func (c *WebConfig) TLSEnabled() bool {
	return c != nil && (c.TLSConfig.CertFile != "" || c.TLSConfig.Cert != "")
}

// HTTP2Enabled reports whether HTTP/2 may be negotiated.
func (c *WebConfig) HTTP2Enabled() bool {
	return c == nil || c.HTTPConfig.HTTP2 == nil || *c.HTTPConfig.HTTP2
}

func clientAuthType(s string) (tls.ClientAuthType, error) {
	switch s {
	case "", "NoClientCert":
		return tls.NoClientCert, nil
	case "RequestClientCert":
		return tls.RequestClientCert, nil
	case "RequireAnyClientCert", "RequireClientCert":
		return tls.RequireAnyClientCert, nil
	case "VerifyClientCertIfGiven":
		return tls.VerifyClientCertIfGiven, nil
	case "RequireAndVerifyClientCert":
		return tls.RequireAndVerifyClientCert, nil
	}
	return 0, fmt.Errorf("invalid client_auth_type %q", s)
}

func tlsVersion(s string) (uint16, error) {
	switch s {
	case "":
		return 0, nil
	case "TLS10":
		return tls.VersionTLS10, nil
	case "TLS11":
		return tls.VersionTLS11, nil
	case "TLS12":
		return tls.VersionTLS12, nil
	case "TLS13":
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("unknown TLS version: %s", s)
}

func cipherSuite(name string) (uint16, error) {
	for _, cs := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		if cs.Name == name {
			return cs.ID, nil
		}
	}
	return 0, fmt.Errorf("unknown cipher: %s", name)
}

func curveID(name string) (tls.CurveID, error) {
	switch name {
	case "CurveP256":
		return tls.CurveP256, nil
	case "CurveP384":
		return tls.CurveP384, nil
	case "CurveP521":
		return tls.CurveP521, nil
	case "X25519":
		return tls.X25519, nil
	case "X25519MLKEM768":
		return tls.X25519MLKEM768, nil
	}
	return 0, fmt.Errorf("unknown curve: %s", name)
}

// tlsConfig builds the TLS configuration for one handshake. It reads the
// certificate files every time, so renewed certificates take effect
// without a restart.
func (c *WebConfig) tlsConfig() (*tls.Config, error) {
	t := c.TLSConfig
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if v, _ := tlsVersion(t.MinVersion); v != 0 {
		cfg.MinVersion = v
	}
	if v, _ := tlsVersion(t.MaxVersion); v != 0 {
		cfg.MaxVersion = v
	}
	var cert tls.Certificate
	var err error
	if t.CertFile != "" {
		cert, err = tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	} else {
		certPEM, keyPEM := []byte(t.Cert), []byte(t.Key)
		if t.KeyFile != "" {
			keyPEM, err = os.ReadFile(t.KeyFile)
		}
		if err == nil {
			cert, err = tls.X509KeyPair(certPEM, keyPEM)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("failed to load X509KeyPair: %w", err)
	}
	cfg.Certificates = []tls.Certificate{cert}
	for _, s := range t.CipherSuites {
		id, _ := cipherSuite(s)
		cfg.CipherSuites = append(cfg.CipherSuites, id)
	}
	for _, s := range t.CurvePreferences {
		id, _ := curveID(s)
		cfg.CurvePreferences = append(cfg.CurvePreferences, id)
	}
	cfg.ClientAuth, _ = clientAuthType(t.ClientAuth)
	if t.ClientCAFile != "" || t.ClientCA != "" {
		pem := []byte(t.ClientCA)
		if t.ClientCAFile != "" {
			if pem, err = os.ReadFile(t.ClientCAFile); err != nil {
				return nil, err
			}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("no client CA certificates could be parsed")
		}
		cfg.ClientCAs = pool
	}
	if len(t.ClientAllowedSANs) > 0 {
		allowed := t.ClientAllowedSANs
		cfg.VerifyPeerCertificate = func(_ [][]byte, chains [][]*x509.Certificate) error {
			for _, chain := range chains {
				if len(chain) == 0 {
					continue
				}
				leaf := chain[0]
				sans := append(append([]string{}, leaf.DNSNames...), leaf.EmailAddresses...)
				for _, ip := range leaf.IPAddresses {
					sans = append(sans, ip.String())
				}
				for _, u := range leaf.URIs {
					sans = append(sans, u.String())
				}
				for _, s := range sans {
					if slices.Contains(allowed, s) {
						return nil
					}
				}
			}
			return errors.New("client certificate has no allowed subject alternative name")
		}
	}
	// The per-client configuration replaces the server's, ALPN included.
	cfg.NextProtos = []string{"h2", "http/1.1"}
	if !c.HTTP2Enabled() {
		cfg.NextProtos = []string{"http/1.1"}
	}
	return cfg, nil
}

// webConfigSource re-reads the file when it changes, so password and
// certificate changes apply without a restart, as with the toolkit.
type webConfigSource struct {
	path string

	mu struct {
		sync.Mutex
		cfg     *WebConfig
		modTime time.Time
		size    int64
		// authCache remembers bcrypt outcomes: a comparison costs tens of
		// milliseconds by design, far too much for every request.
		authCache map[[32]byte]bool
	}
}

func newWebConfigSource(path string) (*webConfigSource, error) {
	s := &webConfigSource{path: path}
	if _, err := s.get(); err != nil {
		return nil, err
	}
	return s, nil
}

// get returns the current configuration. When the file changed into
// something invalid, the last good configuration stays in force and the
// error is returned once, so it is logged once per change.
func (s *webConfigSource) get() (*WebConfig, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fi, statErr := os.Stat(s.path)
	if statErr == nil && s.mu.cfg != nil && fi.ModTime().Equal(s.mu.modTime) && fi.Size() == s.mu.size {
		return s.mu.cfg, nil
	}
	if statErr == nil {
		s.mu.modTime, s.mu.size = fi.ModTime(), fi.Size()
	}
	cfg, err := LoadWebConfig(s.path)
	if err != nil {
		return s.mu.cfg, err
	}
	s.mu.cfg = cfg
	s.mu.authCache = map[[32]byte]bool{}
	return cfg, nil
}

// dummyHash is compared against when the user does not exist, so a wrong
// user name costs as much time as a wrong password.
var dummyHash = func() []byte {
	h, err := bcrypt.GenerateFromPassword([]byte("vigil-dummy-password"), bcrypt.DefaultCost)
	if err != nil {
		panic(err)
	}
	return h
}()

// authenticate checks basic-auth credentials against the users of cfg.
func (s *webConfigSource) authenticate(cfg *WebConfig, user, pass string) bool {
	hash, ok := cfg.Users[user]
	key := sha256.Sum256([]byte(user + "\x00" + hash + "\x00" + pass))
	s.mu.Lock()
	cached, hit := s.mu.authCache[key]
	s.mu.Unlock()
	if hit {
		return cached && ok
	}
	h := []byte(hash)
	if !ok {
		h = dummyHash
	}
	good := bcrypt.CompareHashAndPassword(h, []byte(pass)) == nil && ok
	s.mu.Lock()
	if len(s.mu.authCache) > 1000 {
		s.mu.authCache = map[[32]byte]bool{}
	}
	s.mu.authCache[key] = good
	s.mu.Unlock()
	return good
}

// wrap adds the configured headers and basic authentication to h.
func (s *webConfigSource) wrap(h http.Handler, logger interface{ Error(string, ...any) }) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cfg, err := s.get()
		if err != nil {
			logger.Error("Reading web config file failed", "file", s.path, "err", err)
		}
		if cfg == nil {
			http.Error(w, "Internal Server Error", http.StatusInternalServerError)
			return
		}
		for k, v := range cfg.HTTPConfig.Headers {
			w.Header().Set(k, v)
		}
		if len(cfg.Users) > 0 {
			user, pass, ok := r.BasicAuth()
			if !ok || !s.authenticate(cfg, user, pass) {
				w.Header().Set("WWW-Authenticate", "Basic")
				http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// serverTLSConfig returns a TLS configuration that rebuilds itself from
// the file for every client.
func (s *webConfigSource) serverTLSConfig() *tls.Config {
	return &tls.Config{
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			cfg, err := s.get()
			if cfg == nil {
				return nil, err
			}
			return cfg.tlsConfig()
		},
	}
}
