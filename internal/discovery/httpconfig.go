package discovery

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
)

// This file holds the HTTP client configuration shared by everything that
// makes HTTP requests from the server file: scrape configs, alertmanagers,
// remote write/read and the HTTP-based discovery mechanisms. It sits in
// package discovery because the mechanisms may import only this package;
// config re-exports the types under the same names.

// Secret is a string that is printed as "<secret>" when a configuration is
// marshalled (for /api/v1/status/config and `String()`), so credentials do
// not leak through the API. An empty secret prints as nothing.
type Secret string

const secretMarker = "<secret>"

// MarshalYAML hides the value.
func (s Secret) MarshalYAML() (any, error) {
	if s == "" {
		return nil, nil
	}
	return secretMarker, nil
}

// UnmarshalYAML reads the plain string.
func (s *Secret) UnmarshalYAML(unmarshal func(any) error) error {
	var v string
	if err := unmarshal(&v); err != nil {
		return err
	}
	*s = Secret(v)
	return nil
}

// MarshalJSON hides the value.
func (s Secret) MarshalJSON() ([]byte, error) {
	if s == "" {
		return json.Marshal("")
	}
	return json.Marshal(secretMarker)
}

// JoinDir resolves a relative path against dir. Empty and absolute paths are
// returned unchanged. Configurations call it from SetDirectory so that files
// named in a config file are relative to that file, not to the process.
func JoinDir(dir, path string) string {
	if path == "" || filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(dir, path)
}

// DirectorySetter is implemented by configurations holding file paths.
type DirectorySetter interface {
	// SetDirectory resolves relative file paths against dir.
	SetDirectory(dir string)
}

// URL is a URL in a configuration. It prints with any password redacted.
type URL struct {
	*url.URL
}

// UnmarshalYAML parses the scalar as a URL.
func (u *URL) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err != nil {
		return err
	}
	parsed, err := url.Parse(s)
	if err != nil {
		return err
	}
	u.URL = parsed
	return nil
}

// MarshalYAML prints the URL with the password redacted.
func (u URL) MarshalYAML() (any, error) {
	if u.URL == nil {
		return nil, nil
	}
	return u.Redacted(), nil
}

// MarshalJSON prints the URL with the password redacted.
func (u URL) MarshalJSON() ([]byte, error) {
	if u.URL == nil {
		return []byte("null"), nil
	}
	return json.Marshal(u.Redacted())
}

// String returns the full URL, or "" for none.
func (u URL) String() string {
	if u.URL == nil {
		return ""
	}
	return u.URL.String()
}

// TLSVersion is a TLS protocol version written as TLS10 … TLS13.
type TLSVersion uint16

var tlsVersions = []struct {
	name string
	v    TLSVersion
}{
	{"TLS10", tls.VersionTLS10},
	{"TLS11", tls.VersionTLS11},
	{"TLS12", tls.VersionTLS12},
	{"TLS13", tls.VersionTLS13},
}

// UnmarshalYAML reads a version name.
func (v *TLSVersion) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err != nil {
		return err
	}
	for _, tv := range tlsVersions {
		if tv.name == s {
			*v = tv.v
			return nil
		}
	}
	return fmt.Errorf("unknown TLS version: %s", s)
}

// String returns the version name.
func (v TLSVersion) String() string {
	for _, tv := range tlsVersions {
		if tv.v == v {
			return tv.name
		}
	}
	return fmt.Sprintf("TLSVersion(%d)", uint16(v))
}

// MarshalYAML prints the version name.
func (v TLSVersion) MarshalYAML() (any, error) {
	if v == 0 {
		return nil, nil
	}
	return v.String(), nil
}

// TLSConfig configures TLS for an HTTP client. Each of the CA, certificate
// and key comes inline or from a file, never both.
type TLSConfig struct {
	CA                 string     `yaml:"ca,omitempty" json:"ca,omitempty"`
	Cert               string     `yaml:"cert,omitempty" json:"cert,omitempty"`
	Key                Secret     `yaml:"key,omitempty" json:"key,omitempty"`
	CAFile             string     `yaml:"ca_file,omitempty" json:"ca_file,omitempty"`
	CertFile           string     `yaml:"cert_file,omitempty" json:"cert_file,omitempty"`
	KeyFile            string     `yaml:"key_file,omitempty" json:"key_file,omitempty"`
	ServerName         string     `yaml:"server_name,omitempty" json:"server_name,omitempty"`
	InsecureSkipVerify bool       `yaml:"insecure_skip_verify" json:"insecure_skip_verify"`
	MinVersion         TLSVersion `yaml:"min_version,omitempty" json:"min_version,omitempty"`
	MaxVersion         TLSVersion `yaml:"max_version,omitempty" json:"max_version,omitempty"`
}

// SetDirectory resolves the file paths against dir.
func (c *TLSConfig) SetDirectory(dir string) {
	c.CAFile = JoinDir(dir, c.CAFile)
	c.CertFile = JoinDir(dir, c.CertFile)
	c.KeyFile = JoinDir(dir, c.KeyFile)
}

// UnmarshalYAML decodes and validates.
func (c *TLSConfig) UnmarshalYAML(unmarshal func(any) error) error {
	type plain TLSConfig
	if err := unmarshal((*plain)(c)); err != nil {
		return err
	}
	return c.Validate()
}

// Validate checks that each item comes from one place and that a client
// certificate comes with its key.
func (c *TLSConfig) Validate() error {
	if c.CA != "" && c.CAFile != "" {
		return errors.New("at most one of ca, ca_file & ca_ref must be configured")
	}
	if c.Cert != "" && c.CertFile != "" {
		return errors.New("at most one of cert, cert_file & cert_ref must be configured")
	}
	if c.Key != "" && c.KeyFile != "" {
		return errors.New("at most one of key and key_file must be configured")
	}
	hasCert, hasKey := c.Cert != "" || c.CertFile != "", c.Key != "" || c.KeyFile != ""
	if hasCert && !hasKey {
		return errors.New("exactly one of key or key_file must be configured when a client certificate is configured")
	}
	if hasKey && !hasCert {
		return errors.New("exactly one of cert or cert_file must be configured when a client key is configured")
	}
	if c.MinVersion != 0 && c.MaxVersion != 0 && c.MaxVersion < c.MinVersion {
		return errors.New("tls_config.max_version must be greater than or equal to tls_config.min_version if both are specified")
	}
	return nil
}

// BasicAuth is HTTP basic authentication; each part inline or from a file
// read at request time.
type BasicAuth struct {
	Username     string `yaml:"username,omitempty" json:"username,omitempty"`
	UsernameFile string `yaml:"username_file,omitempty" json:"username_file,omitempty"`
	Password     Secret `yaml:"password,omitempty" json:"password,omitempty"`
	PasswordFile string `yaml:"password_file,omitempty" json:"password_file,omitempty"`
}

// SetDirectory resolves the file paths against dir.
func (a *BasicAuth) SetDirectory(dir string) {
	if a == nil {
		return
	}
	a.UsernameFile = JoinDir(dir, a.UsernameFile)
	a.PasswordFile = JoinDir(dir, a.PasswordFile)
}

// Authorization is an Authorization header "<type> <credentials>", the
// credentials inline or from a file read at request time.
type Authorization struct {
	Type            string `yaml:"type,omitempty" json:"type,omitempty"`
	Credentials     Secret `yaml:"credentials,omitempty" json:"credentials,omitempty"`
	CredentialsFile string `yaml:"credentials_file,omitempty" json:"credentials_file,omitempty"`
}

// SetDirectory resolves the file path against dir.
func (a *Authorization) SetDirectory(dir string) {
	if a == nil {
		return
	}
	a.CredentialsFile = JoinDir(dir, a.CredentialsFile)
}

// OAuth2 configures the OAuth 2.0 client-credentials grant.
type OAuth2 struct {
	ClientID         string            `yaml:"client_id,omitempty" json:"client_id,omitempty"`
	ClientSecret     Secret            `yaml:"client_secret,omitempty" json:"client_secret,omitempty"`
	ClientSecretFile string            `yaml:"client_secret_file,omitempty" json:"client_secret_file,omitempty"`
	Scopes           []string          `yaml:"scopes,omitempty" json:"scopes,omitempty"`
	TokenURL         string            `yaml:"token_url,omitempty" json:"token_url,omitempty"`
	EndpointParams   map[string]string `yaml:"endpoint_params,omitempty" json:"endpoint_params,omitempty"`
	TLSConfig        TLSConfig         `yaml:"tls_config,omitempty" json:"tls_config,omitempty"`
	ProxyConfig      `yaml:",inline"`
}

// SetDirectory resolves the file paths against dir.
func (o *OAuth2) SetDirectory(dir string) {
	if o == nil {
		return
	}
	o.ClientSecretFile = JoinDir(dir, o.ClientSecretFile)
	o.TLSConfig.SetDirectory(dir)
}

// ProxyConfig selects an HTTP proxy.
type ProxyConfig struct {
	ProxyURL             URL                 `yaml:"proxy_url,omitempty" json:"proxy_url,omitempty"`
	NoProxy              string              `yaml:"no_proxy,omitempty" json:"no_proxy,omitempty"`
	ProxyFromEnvironment bool                `yaml:"proxy_from_environment,omitempty" json:"proxy_from_environment,omitempty"`
	ProxyConnectHeader   map[string][]Secret `yaml:"proxy_connect_header,omitempty" json:"proxy_connect_header,omitempty"`
}

// Validate checks that the proxy options fit together.
func (c *ProxyConfig) Validate() error {
	hasURL := c.ProxyURL.URL != nil && c.ProxyURL.String() != ""
	if len(c.ProxyConnectHeader) > 0 && !c.ProxyFromEnvironment && !hasURL {
		return errors.New("if proxy_connect_header is configured, proxy_url or proxy_from_environment must also be configured")
	}
	if c.ProxyFromEnvironment && hasURL {
		return errors.New("if proxy_from_environment is configured, proxy_url must not be configured")
	}
	if c.ProxyFromEnvironment && c.NoProxy != "" {
		return errors.New("if proxy_from_environment is configured, no_proxy must not be configured")
	}
	if c.ProxyURL.URL == nil && c.NoProxy != "" {
		return errors.New("if no_proxy is configured, proxy_url must also be configured")
	}
	return nil
}

// Header is one configured HTTP header: plain values, secret values and
// values read from files at request time.
type Header struct {
	Values  []string `yaml:"values,omitempty" json:"values,omitempty"`
	Secrets []Secret `yaml:"secrets,omitempty" json:"secrets,omitempty"`
	Files   []string `yaml:"files,omitempty" json:"files,omitempty"`
}

// reservedHeaders may not be set through http_headers: they are set by the
// client itself or change the connection.
var reservedHeaders = map[string]bool{
	"Authorization": true, "Host": true, "Content-Encoding": true, "Content-Length": true,
	"Content-Type": true, "User-Agent": true, "Connection": true, "Keep-Alive": true,
	"Proxy-Authenticate": true, "Proxy-Authorization": true, "Www-Authenticate": true,
	"Accept-Encoding": true, "X-Prometheus-Remote-Write-Version": true,
	"X-Prometheus-Remote-Read-Version": true, "X-Prometheus-Scrape-Timeout-Seconds": true,
	"X-Amz-Date": true, "X-Amz-Security-Token": true, "X-Amz-Content-Sha256": true,
}

// HTTPClientConfig is the HTTP client part shared by scrape configs,
// alertmanagers, remote endpoints and HTTP-based discovery. It is inlined
// into those YAML mappings.
type HTTPClientConfig struct {
	BasicAuth     *BasicAuth     `yaml:"basic_auth,omitempty" json:"basic_auth,omitempty"`
	Authorization *Authorization `yaml:"authorization,omitempty" json:"authorization,omitempty"`
	OAuth2        *OAuth2        `yaml:"oauth2,omitempty" json:"oauth2,omitempty"`
	// BearerToken and BearerTokenFile are the legacy spelling of
	// authorization; Validate moves them there.
	BearerToken     Secret    `yaml:"bearer_token,omitempty" json:"bearer_token,omitempty"`
	BearerTokenFile string    `yaml:"bearer_token_file,omitempty" json:"bearer_token_file,omitempty"`
	TLSConfig       TLSConfig `yaml:"tls_config,omitempty" json:"tls_config,omitempty"`
	FollowRedirects bool      `yaml:"follow_redirects" json:"follow_redirects"`
	EnableHTTP2     bool      `yaml:"enable_http2" json:"enable_http2"`
	ProxyConfig     `yaml:",inline"`
	HTTPHeaders     map[string]Header `yaml:"http_headers,omitempty" json:"http_headers,omitempty"`
}

// DefaultHTTPClientConfig follows redirects and allows HTTP/2.
var DefaultHTTPClientConfig = HTTPClientConfig{
	FollowRedirects: true,
	EnableHTTP2:     true,
}

// UnmarshalYAML applies the defaults, decodes and validates. (When the
// struct is inlined into a larger mapping this method is not called; the
// enclosing type applies defaults and calls Validate.)
func (c *HTTPClientConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultHTTPClientConfig
	type plain HTTPClientConfig
	if err := unmarshal((*plain)(c)); err != nil {
		return err
	}
	return c.Validate()
}

// SetDirectory resolves every file path against dir.
func (c *HTTPClientConfig) SetDirectory(dir string) {
	if c == nil {
		return
	}
	c.TLSConfig.SetDirectory(dir)
	c.BasicAuth.SetDirectory(dir)
	c.Authorization.SetDirectory(dir)
	c.OAuth2.SetDirectory(dir)
	c.BearerTokenFile = JoinDir(dir, c.BearerTokenFile)
	for name, h := range c.HTTPHeaders {
		for i, f := range h.Files {
			h.Files[i] = JoinDir(dir, f)
		}
		c.HTTPHeaders[name] = h
	}
}

// Validate checks that at most one authentication method is configured and
// the parts fit together, then moves a legacy bearer token into
// Authorization with type Bearer (and defaults an empty type to Bearer).
func (c *HTTPClientConfig) Validate() error {
	hasBearer := c.BearerToken != "" || c.BearerTokenFile != ""
	if c.BearerToken != "" && c.BearerTokenFile != "" {
		return errors.New("at most one of bearer_token & bearer_token_file must be configured")
	}
	if (c.BasicAuth != nil || c.OAuth2 != nil) && hasBearer {
		return errors.New("at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured")
	}
	if c.BasicAuth != nil && c.BasicAuth.Username != "" && c.BasicAuth.UsernameFile != "" {
		return errors.New("at most one of basic_auth username, username_file & username_ref must be configured")
	}
	if c.BasicAuth != nil && c.BasicAuth.Password != "" && c.BasicAuth.PasswordFile != "" {
		return errors.New("at most one of basic_auth password, password_file & password_ref must be configured")
	}
	if c.Authorization != nil {
		if hasBearer {
			return errors.New("authorization is not compatible with bearer_token & bearer_token_file")
		}
		if c.Authorization.Credentials != "" && c.Authorization.CredentialsFile != "" {
			return errors.New("at most one of authorization credentials & credentials_file must be configured")
		}
		c.Authorization.Type = strings.TrimSpace(c.Authorization.Type)
		if c.Authorization.Type == "" {
			c.Authorization.Type = "Bearer"
		}
		if strings.EqualFold(c.Authorization.Type, "basic") {
			return errors.New(`authorization type cannot be set to "basic", use "basic_auth" instead`)
		}
		if c.BasicAuth != nil || c.OAuth2 != nil {
			return errors.New("at most one of basic_auth, oauth2 & authorization must be configured")
		}
	} else if hasBearer {
		c.Authorization = &Authorization{Type: "Bearer", Credentials: c.BearerToken, CredentialsFile: c.BearerTokenFile}
		c.BearerToken, c.BearerTokenFile = "", ""
	}
	if c.OAuth2 != nil {
		if c.BasicAuth != nil {
			return errors.New("at most one of basic_auth, oauth2 & authorization must be configured")
		}
		if c.OAuth2.ClientID == "" {
			return errors.New("oauth2 client_id must be configured")
		}
		if c.OAuth2.TokenURL == "" {
			return errors.New("oauth2 token_url must be configured")
		}
		if c.OAuth2.ClientSecret != "" && c.OAuth2.ClientSecretFile != "" {
			return errors.New("at most one of oauth2 client_secret, client_secret_file & client_secret_ref must be configured using grant-type=client_credentials")
		}
		if err := c.OAuth2.ProxyConfig.Validate(); err != nil {
			return err
		}
	}
	if err := c.ProxyConfig.Validate(); err != nil {
		return err
	}
	for name := range c.HTTPHeaders {
		if reservedHeaders[http.CanonicalHeaderKey(name)] {
			return fmt.Errorf("setting header %q is not allowed", http.CanonicalHeaderKey(name))
		}
	}
	return nil
}
