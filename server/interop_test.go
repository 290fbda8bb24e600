package server_test

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/latchtest"
)

// joseVersion is the npm jose release the interop test uses; it is pinned
// in testdata/jose/package-lock.json, which .ci/run installs.
const joseVersion = "6.2.17"

// joseDir finds the installed jose package, or skips the test; with
// LATCH_REQUIRE_NODE=1 (set in CI) a missing Node or jose fails it instead.
func joseDir(t *testing.T) (node, dir string) {
	t.Helper()
	missing := func(why string) {
		if os.Getenv("LATCH_REQUIRE_NODE") == "1" {
			t.Fatalf("LATCH_REQUIRE_NODE=1 but %s", why)
		}
		t.Skipf("%s; install with: mkdir -p ~/.cache/latch/jose && cp server/testdata/jose/package*.json ~/.cache/latch/jose && (cd ~/.cache/latch/jose && npm ci)", why)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed")
	}
	dir = os.Getenv("LATCH_JOSE_DIR")
	if dir == "" {
		cache, _ := os.UserCacheDir()
		dir = filepath.Join(cache, "latch", "jose")
	}
	b, err := os.ReadFile(filepath.Join(dir, "node_modules", "jose", "package.json"))
	var pkg struct{ Version string }
	if err != nil || json.Unmarshal(b, &pkg) != nil || pkg.Version != joseVersion {
		missing("jose " + joseVersion + " is not installed in " + dir)
	}
	return node, dir
}

// verify.mjs verifies one JWT with jose against a remote JWKS.
const verifyScript = `import * as jose from 'jose';
const [jwksURL, issuer, audience, typ, jwt] = process.argv.slice(2);
const jwks = jose.createRemoteJWKSet(new URL(jwksURL));
try {
  const { payload, protectedHeader } = await jose.jwtVerify(jwt, jwks, { issuer, audience, typ, algorithms: ['EdDSA'] });
  console.log(JSON.stringify({ ok: true, alg: protectedHeader.alg, payload }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, code: e.code }));
}
`

type joseResult struct {
	OK      bool           `json:"ok"`
	Code    string         `json:"code"`
	Alg     string         `json:"alg"`
	Payload map[string]any `json:"payload"`
}

// Another language's JOSE library accepts latch's access tokens and event
// tokens with nothing but the JWKS, and refuses tampered ones.
func TestInteropNodeJose(t *testing.T) {
	node, dir := joseDir(t)
	work := t.TempDir()
	if err := os.Symlink(filepath.Join(dir, "node_modules"), filepath.Join(work, "node_modules")); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(work, "verify.mjs")
	os.WriteFile(script, []byte(verifyScript), 0o600)
	h := newHarness(t, latchtest.Options{})
	jwks := h.srv.URL + "/.well-known/jwks.json"
	verify := func(aud, typ, jwt string) joseResult {
		t.Helper()
		out, err := exec.CommandContext(t.Context(), node, script, jwks, "http://latch.test", aud, typ, jwt).Output()
		if err != nil {
			t.Fatalf("node: %v", err)
		}
		var r joseResult
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("node printed %q", out)
		}
		return r
	}
	// The test clock is fixed in 2026; jose uses the real clock, so mint
	// with the real time.
	h.env.Clock.Set(timeNow())
	g := h.signup("interop@example.com")
	at := g.str(t, "access_token")
	r := verify("http://latch.test", "at+jwt", at)
	if !r.OK || r.Alg != "EdDSA" || r.Payload["sid"] != g.str(t, "session_id") {
		t.Fatalf("jose rejected a latch access token: %+v", r)
	}
	parts := strings.Split(at, ".")
	tampered := []string{
		parts[0] + "." + parts[1] + "." + flip(parts[2]),            // signature
		parts[0] + "." + flip(parts[1]) + "." + parts[2],            // claims
		strings.Replace(at, parts[0], encodeHeader(t, parts[0]), 1), // header: another kid
	}
	for i, bad := range tampered {
		if r := verify("http://latch.test", "at+jwt", bad); r.OK {
			t.Errorf("jose accepted tampered token %d", i)
		}
	}
	if r := verify("http://other.example", "at+jwt", at); r.OK || r.Code != "ERR_JWT_CLAIM_VALIDATION_FAILED" {
		t.Errorf("jose accepted the wrong audience: %+v", r)
	}

	// The revocation feed's SETs verify the same way (typ secevent+jwt).
	h.do("POST", "/v1/logout", "", bearer(at))
	c, _, _ := h.env.Service.AddClient(t.Context(), "node")
	evs, err := h.env.Service.FeedEvents(t.Context(), c, 0, 10)
	if err != nil || len(evs) != 1 {
		t.Fatal(evs, err)
	}
	r = verify("node", "secevent+jwt", evs[0].SET)
	ev, _ := r.Payload["events"].(map[string]any)["https://schemas.openid.net/secevent/caep/event-type/session-revoked"].(map[string]any)
	if !r.OK || ev["reason_admin"].(map[string]any)["en"] != "logout" {
		t.Fatalf("jose on a SET: %+v", r)
	}
	if r := verify("node", "at+jwt", evs[0].SET); r.OK {
		t.Error("jose accepted a SET as an access token")
	}
}

func timeNow() time.Time { return time.Now() }

// flip changes one base64url character in the middle of s.
func flip(s string) string {
	i := len(s) / 2
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

// encodeHeader returns the header segment with another key id.
func encodeHeader(t *testing.T, seg string) string {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	json.Unmarshal(b, &h)
	h["kid"] = strings.Repeat("x", 43)
	b, _ = json.Marshal(h)
	return base64.RawURLEncoding.EncodeToString(b)
}
