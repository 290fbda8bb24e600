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
	k2key, err := cli.Service.RotateKey(t.Context(), 0)
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
	if _, err := b.Service.RotateKey(t.Context(), 0); err != nil {
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
	server.Clock.Advance(time.Second)
	k, err := cli.Service.RotateKey(t.Context(), 0)
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

// TestKeyPrepublication follows a rotation with the default pre-publication
// across two nodes on one clock: the new key is in every node's JWKS at
// once but signs nothing until its time; then both nodes sign with it at
// that instant without re-reading their keys, each verifies the other's
// tokens, and the old key's retirement counts from the activation, not
// from the rotation.
func TestKeyPrepublication(t *testing.T) {
	a := latchtest.New(t, latchtest.Options{})
	b := latchtest.New(t, latchtest.Options{DBPath: a.DBPath, Clock: a.Clock})
	clock := a.Clock
	g := signup(t, a, "pre@example.com")
	k1 := kidOf(t, g.AccessToken)

	cli := latchtest.New(t, latchtest.Options{DBPath: a.DBPath, Clock: clock, KeysReadOnly: true})
	k2key, err := cli.Service.RotateKey(t.Context(), latch.DefaultKeyPrepublish)
	if err != nil {
		t.Fatal(err)
	}
	k2, activates := k2key.ID, k2key.CreatedAt
	if want := clock.Now().Add(latch.DefaultKeyPrepublish); !activates.Equal(want) {
		t.Fatalf("the new key signs from %v, want %v", activates, want)
	}
	assertKeys(t, cli.Service, "pending", "signing")

	// Both nodes reload (their periodic reload) well before the activation.
	clock.Advance(30 * time.Second)
	for _, n := range []*latchtest.Env{a, b} {
		if err := n.Service.ReloadKeys(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := jwksIDs(n.Service); len(got) != 2 || got[0] != k1 || got[1] != k2 {
			t.Fatalf("JWKS while pending = %v, want [%s %s]", got, k1, k2)
		}
	}
	sets := []*token.KeySet{a.Service.KeySet(), b.Service.KeySet()}

	// A millisecond before its time the new key signs nothing.
	clock.Set(activates.Add(-time.Millisecond))
	if kid := kidOf(t, login(t, a, "pre@example.com", laptop).AccessToken); kid != k1 {
		t.Fatalf("signed with %s before the activation, want %s", kid, k1)
	}
	// At its time both nodes sign with it, and each accepts the other's
	// tokens, all without a reload.
	clock.Set(activates)
	ga, gb := login(t, a, "pre@example.com", laptop), login(t, b, "pre@example.com", phone)
	for _, g := range []*latch.Grant{ga, gb} {
		if kid := kidOf(t, g.AccessToken); kid != k2 {
			t.Fatalf("signed with %s at the activation, want %s", kid, k2)
		}
	}
	mustAuth(t, a, gb.AccessToken)
	mustAuth(t, b, ga.AccessToken)
	mustAuth(t, b, g.AccessToken) // the old key still verifies
	if a.Service.KeySet() != sets[0] || b.Service.KeySet() != sets[1] {
		t.Fatal("a node re-read its keys to switch: the pending key should have sufficed")
	}
	assertKeys(t, cli.Service, "signing", "verifying")

	// k1 retires KeyPropagation + TTL + leeway after k2 began to sign.
	retire := activates.Add(latch.KeyPropagation + latch.DefaultPolicy().AccessTTL + token.MaxLeeway)
	clock.Set(retire.Add(-time.Millisecond))
	if err := a.Service.ReloadKeys(t.Context()); err != nil || retiredAt(t, a, k1) {
		t.Fatalf("retired before its last token can have expired (%v)", err)
	}
	clock.Set(retire)
	if err := a.Service.ReloadKeys(t.Context()); err != nil || !retiredAt(t, a, k1) {
		t.Fatalf("not retired at %v (%v)", retire, err)
	}
	if got := jwksIDs(a.Service); len(got) != 1 || got[0] != k2 {
		t.Fatalf("JWKS after retirement = %v, want [%s]", got, k2)
	}
}

// A rotation that cannot wait (--activate-in 0) signs at once even while
// an earlier rotation's key is pending; the pending key keeps its date and
// takes over then. Rotations in one instant get distinct dates, and the
// pre-publication is bounded.
func TestKeyRotateOrder(t *testing.T) {
	a := latchtest.New(t, latchtest.Options{})
	g := signup(t, a, "order@example.com")
	k1 := kidOf(t, g.AccessToken)
	a.Clock.Advance(time.Second)
	k2, err := a.Service.RotateKey(t.Context(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	k3, err := a.Service.RotateKey(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if !k3.CreatedAt.Equal(a.Clock.Now()) {
		t.Fatalf("the immediate rotation signs from %v, want now (%v)", k3.CreatedAt, a.Clock.Now())
	}
	assertKeys(t, a.Service, "pending", "signing", "verifying")
	if kid := kidOf(t, login(t, a, "order@example.com", laptop).AccessToken); kid != k3.ID {
		t.Fatalf("signed with %s, want the immediate key %s (not %s)", kid, k3.ID, k1)
	}
	a.Clock.Set(k2.CreatedAt)
	if kid := kidOf(t, login(t, a, "order@example.com", laptop).AccessToken); kid != k2.ID {
		t.Fatalf("at the pending key's time signed with %s, want %s", kid, k2.ID)
	}
	assertKeys(t, a.Service, "signing", "verifying", "verifying")

	// Two rotations in one instant with one pre-publication: distinct dates.
	k4, err := a.Service.RotateKey(t.Context(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	k5, err := a.Service.RotateKey(t.Context(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !k5.CreatedAt.After(k4.CreatedAt) {
		t.Fatalf("two rotations share the date %v", k4.CreatedAt)
	}
	for _, d := range []time.Duration{-time.Second, latch.MaxKeyPrepublish + time.Millisecond, 1000000 * time.Hour} {
		if _, err := a.Service.RotateKey(t.Context(), d); err == nil {
			t.Errorf("a pre-publication of %v was accepted", d)
		}
	}

	// Immediate rotation with nothing pending: signs at once.
	b := latchtest.New(t, latchtest.Options{})
	signup(t, b, "now@example.com")
	b.Clock.Advance(time.Second)
	k, err := b.Service.RotateKey(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if kid := kidOf(t, login(t, b, "now@example.com", laptop).AccessToken); kid != k.ID {
		t.Fatalf("an immediate rotation signs with %s, want %s", kid, k.ID)
	}
}

// A node whose clock is behind the one that created the database sees the
// only key dated in its future: it must still sign with it, not with
// nothing.
func TestOnlyKeyAheadOfClockStillSigns(t *testing.T) {
	a := latchtest.New(t, latchtest.Options{})
	behind := latchtest.NewClock()
	behind.Set(a.Clock.Now().Add(-2 * time.Second))
	b := latchtest.New(t, latchtest.Options{DBPath: a.DBPath, Clock: behind})
	g := signup(t, b, "skew@example.com")
	if kid, want := kidOf(t, g.AccessToken), a.Service.KeySet().Signer().ID; kid != want {
		t.Fatalf("signed with %s, want %s", kid, want)
	}
	assertKeys(t, b.Service, "signing")
}
