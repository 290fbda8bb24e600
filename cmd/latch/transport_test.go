package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// their paths and a pool that trusts the certificate.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "latch test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// latch serves HTTPS itself with --tls-cert/--tls-key: the API works over
// TLS, the issuer becomes https://, plain HTTP and TLS below 1.2 are refused.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	base, _, _ := startServe(t, dir, "--tls-cert", certFile, "--tls-key", keyFile)
	addr := strings.TrimPrefix(base, "http://")
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}

	resp, err := client.Post("https://"+addr+"/v1/signup", "application/json", strings.NewReader(`{"email":"tls@example.com","password":"correct horse battery"}`))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	resp.Body.Close()
	if resp.StatusCode != 201 || resp.TLS == nil {
		t.Fatalf("signup over TLS = %d %v", resp.StatusCode, m)
	}
	at := m["access_token"].(string)
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(at, ".")[1])
	var claims struct{ Iss string }
	json.Unmarshal(payload, &claims)
	if !strings.HasPrefix(claims.Iss, "https://127.0.0.1:") { // the issuer derives from --addr
		t.Errorf("iss = %q, want https://", claims.Iss)
	}
	req, _ := http.NewRequest("GET", "https://"+addr+"/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+at)
	if resp, err := client.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("me over TLS = %v %v", resp, err)
	}

	if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP to the TLS port = %d, want 400", resp.StatusCode)
		}
	}
	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}}}
	if resp, err := old.Get("https://" + addr + "/healthz"); err == nil {
		resp.Body.Close()
		t.Error("a TLS 1.1 client was served")
	}
}

// A slowloris cannot pin connections: a client that trickles its headers
// is cut off at --read-header-timeout, one that trickles its body at
// --read-timeout; oversized headers get 431 at once.
func TestSlowClientsCutOff(t *testing.T) {
	dir := t.TempDir()
	base, _, _ := startServe(t, dir, "--read-header-timeout", "1s", "--read-timeout", "2s")
	addr := strings.TrimPrefix(base, "http://")

	// trickle writes the start of a request, then one byte every 200ms, and
	// returns how long the server kept the connection.
	trickle := func(start, drip string) time.Duration {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		began := time.Now()
		if _, err := io.WriteString(c, start); err != nil {
			t.Fatal(err)
		}
		closed := make(chan struct{})
		go func() { io.Copy(io.Discard, c); close(closed) }() // ends when the server closes
		for i := 0; ; i++ {
			select {
			case <-closed:
				return time.Since(began)
			case <-time.After(200 * time.Millisecond):
			}
			if time.Since(began) > 10*time.Second {
				t.Fatal("the server kept a trickling connection for 10s")
			}
			c.Write([]byte{drip[i%len(drip)]})
		}
	}
	if d := trickle("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ", "a"); d > 3*time.Second {
		t.Errorf("slow headers held the connection %v, want about 1s", d)
	}
	if d := trickle("POST /v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", " "); d > 5*time.Second {
		t.Errorf("slow body held the connection %v, want about 2s", d)
	}

	req, _ := http.NewRequest("GET", base+"/healthz", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 40<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("40 KiB header = %d, want 431", resp.StatusCode)
	}
	// The server is still fine for everyone else.
	if code, _ := call(t, "GET", base+"/healthz", "", ""); code != 200 {
		t.Fatalf("healthz = %d", code)
	}
}

// `latch keys rotate` from the CLI reaches a running server by itself: the
// server publishes the new key within its reload interval but signs with
// it only from its activation, still accepts tokens of the old one, and
// `latch keys list` shows both with their dates.
func TestKeysRotateReachesRunningServer(t *testing.T) {
	dir := t.TempDir()
	base, _, _ := startServe(t, dir, "--key-reload-interval", "1s")
	code, m := call(t, "POST", base+"/v1/signup", `{"email":"rot@example.com","password":"correct horse battery"}`, "")
	if code != 201 {
		t.Fatalf("signup = %d %v", code, m)
	}
	old := m["access_token"].(string)
	for _, bad := range []string{"-1s", "24h0m1s", "1000000h", "soon"} {
		if out, err := cli(t, dir, "", "keys", "rotate", "--activate-in", bad); exitCode(err) != 2 || !strings.Contains(err.Error(), "activate-in") || out != "" {
			t.Fatalf("keys rotate --activate-in %s: exit %d, %v, stdout %q", bad, exitCode(err), err, out)
		}
	}
	const activateIn = 4 * time.Second
	rotated := time.Now()
	out, err := cli(t, dir, "", "keys", "rotate", "--activate-in", activateIn.String())
	if err != nil || !strings.Contains(out, "new signing key") || !strings.Contains(out, "signing from") {
		t.Fatalf("keys rotate: %v %s", err, out)
	}
	newKid := strings.Fields(strings.TrimPrefix(out, "new signing key "))[0]
	newKid = strings.TrimSuffix(newKid, ";")
	if out, err := cli(t, dir, "", "keys", "list"); err != nil || !strings.Contains(out, "pending") || !strings.Contains(out, "SIGNS FROM") {
		t.Fatalf("keys list right after the rotation: %v\n%s", err, out)
	}
	kidOfLogin := func() string {
		code, m := call(t, "POST", base+"/v1/login", `{"email":"rot@example.com","password":"correct horse battery"}`, "")
		if code != 200 {
			t.Fatalf("login = %d %v", code, m)
		}
		hdr, _ := base64.RawURLEncoding.DecodeString(strings.Split(m["access_token"].(string), ".")[0])
		return string(hdr)
	}
	// Published within the reload interval, before it signs anything.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, jwks := call(t, "GET", base+"/.well-known/jwks.json", "", "")
		if strings.Contains(fmt.Sprint(jwks), newKid) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the running server never published the new key")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if hdr := kidOfLogin(); strings.Contains(hdr, newKid) && time.Since(rotated) < activateIn {
		t.Fatal("the server signed with the new key before its activation")
	}
	for !strings.Contains(kidOfLogin(), newKid) {
		if time.Now().After(deadline) {
			t.Fatal("the running server never signed with the rotated key")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if time.Since(rotated) < activateIn-time.Second {
		t.Fatalf("signed with the new key %v after the rotation, before its activation", time.Since(rotated))
	}
	if code, _ := call(t, "GET", base+"/v1/me", "", old); code != 200 {
		t.Fatalf("a token of the previous key = %d, want 200 until it expires", code)
	}
	_, jwks := call(t, "GET", base+"/.well-known/jwks.json", "", "")
	if n := len(jwks["keys"].([]any)); n != 2 {
		t.Fatalf("JWKS has %d keys, want 2", n)
	}
	out, err = cli(t, dir, "", "keys", "list")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "STATUS") || !strings.Contains(lines[1], "signing") || !strings.Contains(lines[2], "verifying") ||
		!strings.Contains(lines[1], newKid) || strings.Count(lines[2], "T") < 2 {
		t.Fatalf("keys list:\n%s", out)
	}
}

// The new options are validated with the rest.
func TestConfigTransportOptions(t *testing.T) {
	var out, errb syncBuffer
	err := run(t.Context(), []string{"serve", "--trusted-proxies", "10.0.0.0/8,not-a-cidr", "--cors-origins", "*,https://ok.example,https://x.example/path",
		"--tls-cert", "c.pem", "--key-reload-interval", "1h", "--read-header-timeout", "0s"}, noEnv, strings.NewReader(""), &out, &errb)
	for _, want := range []string{"--trusted-proxies", `"not-a-cidr"`, "--cors-origins", `"*"`, `"https://x.example/path"`, "--tls-cert", "--key-reload-interval", "--read-header-timeout"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %s", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "ok.example") {
		t.Errorf("a valid origin was reported: %v", err)
	}
}

// Trusting every address as a proxy lets any client choose the address
// latch sees: allowed (a private network may have nothing else), but said
// at start, once per such prefix; narrower prefixes say nothing.
func TestTrustEveryoneWarns(t *testing.T) {
	const warning = "--trusted-proxies trusts every address"
	for _, tc := range []struct {
		proxies string
		warns   int
	}{
		{"0.0.0.0/0", 1},
		{"::/0, 10.0.0.0/8", 1},
		{"0.0.0.0/0,::/0", 2},
		{"10.0.0.0/8, 127.0.0.1", 0},
	} {
		t.Run(tc.proxies, func(t *testing.T) {
			_, logs, stop := startServe(t, t.TempDir(), "--trusted-proxies", tc.proxies)
			stop()
			if got := strings.Count(logs.String(), warning); got != tc.warns {
				t.Errorf("%d warnings, want %d:\n%s", got, tc.warns, logs)
			}
		})
	}
}
