package web

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// selfSignedCert writes a certificate for 127.0.0.1 and its key.
func selfSignedCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "vigil test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile = writeFile(t, dir, "server.crt", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	keyFile = writeFile(t, dir, "server.key", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})))
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func hash(t *testing.T, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func serveWith(t *testing.T, webConfig string) string {
	t.Helper()
	s, err := Listen(Options{ListenAddress: "127.0.0.1:0", WebConfigFile: webConfig})
	if err != nil {
		t.Fatal(err)
	}
	s.SetHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "secret data") }))
	go s.Serve()
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	scheme := "http"
	if s.TLS() {
		scheme = "https"
	}
	return scheme + "://" + s.Addr().String()
}

func TestBasicAuthAndTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSignedCert(t, dir)
	cfg := writeFile(t, dir, "web.yml", `tls_server_config:
  cert_file: `+filepath.Base(certFile)+`
  key_file: `+filepath.Base(keyFile)+`
http_server_config:
  headers:
    X-Frame-Options: deny
basic_auth_users:
  alice: `+hash(t, "wonderland")+`
`)
	base := serveWith(t, cfg)
	if !strings.HasPrefix(base, "https://") {
		t.Fatalf("TLS not enabled: %s", base)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	get := func(user, pass string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+"/", nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	for _, tc := range []struct {
		user, pass string
		code       int
	}{{"", "", 401}, {"alice", "wrong", 401}, {"bob", "wonderland", 401}, {"alice", "wonderland", 200}, {"alice", "wonderland", 200}} {
		resp, body := get(tc.user, tc.pass)
		if resp.StatusCode != tc.code {
			t.Errorf("%s/%s: %d, want %d", tc.user, tc.pass, resp.StatusCode, tc.code)
		}
		if tc.code == 401 && (resp.Header.Get("WWW-Authenticate") != "Basic" || strings.Contains(body, "secret")) {
			t.Errorf("401 response: %v %q", resp.Header, body)
		}
		if resp.Header.Get("X-Frame-Options") != "deny" {
			t.Errorf("configured header missing: %v", resp.Header)
		}
	}
	// Plain HTTP is refused on the TLS port.
	if resp, err := http.Get(strings.Replace(base, "https://", "http://", 1)); err == nil {
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP on the TLS port: %d", resp.StatusCode)
		}
		resp.Body.Close()
	}

	// Changing the file changes the users without a restart.
	time.Sleep(10 * time.Millisecond)
	writeFile(t, dir, "web.yml", `tls_server_config:
  cert_file: server.crt
  key_file: server.key
basic_auth_users:
  carol: `+hash(t, "x")+`
`)
	future := time.Now().Add(time.Second)
	os.Chtimes(cfg, future, future)
	if resp, _ := get("alice", "wonderland"); resp.StatusCode != 401 {
		t.Errorf("removed user still accepted: %d", resp.StatusCode)
	}
	if resp, _ := get("carol", "x"); resp.StatusCode != 200 {
		t.Errorf("new user refused: %d", resp.StatusCode)
	}
}

func TestWebConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct{ content, want string }{
		"unknown field":   {"tls_server_config:\n  cert_fil: x\n", "field cert_fil not found"},
		"missing key":     {"tls_server_config:\n  cert_file: x.crt\n", "missing key_file"},
		"missing cert":    {"tls_server_config:\n  key_file: x.key\n", "missing cert_file"},
		"bad auth type":   {"tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: Sometimes\n", `invalid client_auth_type "Sometimes"`},
		"ca without auth": {"tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: ca.crt\n", "without a client_auth_type"},
		"bad version":     {"tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS99\n", "unknown TLS version: TLS99"},
		"bad cipher":      {"tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [NOPE]\n", "unknown cipher: NOPE"},
		"bad header":      {"http_server_config:\n  headers:\n    Server: vigil\n", `HTTP header "Server" can not be configured`},
		"plain password":  {"basic_auth_users:\n  alice: wonderland\n", `user "alice" is not a bcrypt hash`},
	} {
		p := writeFile(t, dir, strings.ReplaceAll(name, " ", "_")+".yml", tc.content)
		if _, err := Listen(Options{ListenAddress: "127.0.0.1:0", WebConfigFile: p}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", name, err, tc.want)
		}
	}
	// A certificate that does not load fails at startup, not at the first
	// client.
	p := writeFile(t, dir, "nocert.yml", "tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n")
	if _, err := Listen(Options{ListenAddress: "127.0.0.1:0", WebConfigFile: p}); err == nil || !strings.Contains(err.Error(), "X509KeyPair") {
		t.Errorf("missing certificate: %v", err)
	}
}
