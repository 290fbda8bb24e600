package latch_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/token"
)

// kidOf returns the kid in an access token's header.
func kidOf(t *testing.T, at string) string {
	t.Helper()
	hdr, err := base64.RawURLEncoding.DecodeString(at[:strings.IndexByte(at, '.')])
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Kid string }
	if err := json.Unmarshal(hdr, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

func jwksIDs(svc *latch.Service) []string {
	var ids []string
	for _, k := range svc.KeySet().JWKS().Keys {
		ids = append(ids, k.KeyID)
	}
	return ids
}

// TestKeyRotationLifecycle follows a rotation made by another process (the
// CLI) through a running server, on an injected clock: the server keeps
// verifying the old key's tokens, signs with the new key from its next
// reload, and drops and retires the old key exactly when the last token it
// can have signed has expired. The JWKS lists exactly the keys in use.
func TestKeyRotationLifecycle(t *testing.T) {
	server := latchtest.New(t, latchtest.Options{})
	clock := server.Clock
	g := signup(t, server, "keys@example.com")
	k1 := kidOf(t, g.AccessToken)

	// The CLI: another service on the same file, which never retires keys.
	cli := latchtest.New(t, latchtest.Options{DBPath: server.DBPath, Clock: clock, KeysReadOnly: true})
	// Same instant as the first key: the rotation must still take.
	k2key, err := cli.Service.RotateKey(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	k2, rotatedAt := k2key.ID, k2key.CreatedAt

	// Until it reloads (at most KeyPropagation later) the server still
	// signs with k1; tokens it mints then must live their full TTL.
	clock.Advance(latch.KeyPropagation - time.Second)
	late := login(t, server, "keys@example.com", laptop)
	if kidOf(t, late.AccessToken) != k1 {
		t.Fatal("the server switched keys before reloading")
	}
	if err := server.Service.ReloadKeys(t.Context()); err != nil {
		t.Fatal(err)
	}
	fresh := login(t, server, "keys@example.com", phone)
	if kidOf(t, fresh.AccessToken) != k2 {
		t.Fatalf("after reload the server signs with %s, want %s", kidOf(t, fresh.AccessToken), k2)
	}
	if got := jwksIDs(server.Service); len(got) != 2 || got[0] != k2 || got[1] != k1 {
		t.Fatalf("JWKS = %v, want [%s %s]", got, k2, k1)
	}
	assertKeys(t, server.Service, "signing", "verifying")

	// The late k1 token works until its own expiry.
	clock.Set(late.Session.CreatedAt.Add(latch.DefaultPolicy().AccessTTL - time.Second))
	mustAuth(t, server, late.AccessToken)
	if err := server.Service.ReloadKeys(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := jwksIDs(server.Service); len(got) != 2 {
		t.Fatalf("old key dropped while its tokens may live: JWKS %v", got)
	}

	// Past the retirement time: the admin service drops k1 but does not
	// write; the server retires it in the store; the JWKS is k2 alone.
	clock.Set(rotatedAt.Add(latch.KeyPropagation + latch.DefaultPolicy().AccessTTL + token.MaxLeeway - time.Millisecond))
	if err := server.Service.ReloadKeys(t.Context()); err != nil || retiredAt(t, server, k1) {
		t.Fatalf("retired a millisecond early (%v)", err)
	}
	clock.Advance(time.Millisecond)
	if err := cli.Service.ReloadKeys(t.Context()); err != nil {
		t.Fatal(err)
	}
	if retiredAt(t, server, k1) {
		t.Fatal("an admin command marked a key retired")
	}
	if err := server.Service.ReloadKeys(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !retiredAt(t, server, k1) {
		t.Fatal("the server did not mark the old key retired")
	}
	if got := jwksIDs(server.Service); len(got) != 1 || got[0] != k2 {
		t.Fatalf("JWKS after retirement = %v, want [%s]", got, k2)
	}
	assertKeys(t, server.Service, "signing", "retired")
	// A k1 token is now an unknown key: refused, even one re-dated by a forger.
	if code := authCode(t, server, late.AccessToken); code != latch.CodeInvalidToken && code != latch.CodeTokenExpired {
		t.Fatalf("k1 token after retirement = %q", code)
	}
}

func retiredAt(t *testing.T, env *latchtest.Env, kid string) bool {
	t.Helper()
	var retired *int64
	if err := env.Store.DB().QueryRow(`SELECT retired_at FROM signing_keys WHERE id = ?`, kid).Scan(&retired); err != nil {
		t.Fatal(err)
	}
	return retired != nil
}

func assertKeys(t *testing.T, svc *latch.Service, states ...string) {
	t.Helper()
	ks, err := svc.Keys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range ks {
		got = append(got, k.State)
		if k.CreatedAt.IsZero() || (k.State == "verifying") != !k.RetiresAt.IsZero() || (k.State == "retired") != !k.RetiredAt.IsZero() {
			t.Errorf("key %+v: dates do not match its state", k)
		}
	}
	if strings.Join(got, ",") != strings.Join(states, ",") {
		t.Fatalf("key states = %v, want %v", got, states)
	}
}

// A node that has not reloaded yet meets a token signed with the new key:
// the unknown kid makes it re-read its own store once, and the token works.
func TestUnknownKidReloadsFromStore(t *testing.T) {
	a := latchtest.New(t, latchtest.Options{})
	b := latchtest.New(t, latchtest.Options{DBPath: a.DBPath, Clock: a.Clock})
	signup(t, a, "kid@example.com")
	if _, err := b.Service.RotateKey(t.Context()); err != nil {
		t.Fatal(err)
	}
	g := login(t, b, "kid@example.com", laptop)
	a.Clock.Advance(2 * time.Second) // past the reload rate limit
	mustAuth(t, a, g.AccessToken)
}

// The background loop picks up a rotation by itself.
func TestMaintenancePicksUpRotation(t *testing.T) {
	server := latchtest.New(t, latchtest.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		server.Service.RunMaintenance(ctx, latch.MaintenanceConfig{KeyReload: 5 * time.Millisecond})
	}()
	defer func() { cancel(); <-done }()
	cli := latchtest.New(t, latchtest.Options{DBPath: server.DBPath, Clock: server.Clock, KeysReadOnly: true})
	k, err := cli.Service.RotateKey(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for server.Service.KeySet().Signer().ID != k.ID {
		if time.Now().After(deadline) {
			t.Fatal("the running service never started signing with the rotated key")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
