package latch_test

// Cases from ../shared/cases/README.md: scenarios real users reported
// against other servers, each replayed against latch with its expected
// outcome. Times use the injected clock; the grace window is 10s unless
// the case sets it.

import (
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/internal/latchtest"
)

// C01 (supabase/supabase#36354): logout with scope all kills device B's
// unexpired access token on its very next request.
func TestCaseC01LogoutAll(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	signup(t, env, "c01@example.com")
	a := login(t, env, "c01@example.com", laptop)
	b := login(t, env, "c01@example.com", phone)
	if err := env.Service.Logout(t.Context(), mustAuth(t, env, a.AccessToken), latch.ScopeAll, laptop); err != nil {
		t.Fatal(err)
	}
	if got := authCode(t, env, b.AccessToken); got != latch.CodeSessionRevoked {
		t.Fatalf("B after A's logout-all = %q, want session_revoked", got)
	}
}

// C02 (supabase/auth-js#213, supabase/auth#466): parallel and delayed
// in-window refreshes converge on one successor; the replay after the
// window is theft and kills the successor's pair too.
func TestCaseC02GraceConverges(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	r0 := signup(t, env, "c02@example.com")

	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		succ  = map[string]bool{}
		pairs []*latch.Grant
	)
	for range 5 {
		wg.Go(func() {
			g, err := env.Service.Refresh(t.Context(), r0.RefreshToken, laptop)
			if err != nil {
				t.Errorf("parallel refresh = %v", err)
				return
			}
			mu.Lock()
			succ[g.RefreshToken] = true
			pairs = append(pairs, g)
			mu.Unlock()
		})
	}
	wg.Wait()
	for _, at := range []time.Duration{1200 * time.Millisecond, 7300 * time.Millisecond} { // +1.2s, +8.5s
		env.Clock.Advance(at)
		g, err := env.Service.Refresh(t.Context(), r0.RefreshToken, laptop)
		if err != nil {
			t.Fatalf("refresh at +%v = %v, want 200", at, err)
		}
		succ[g.RefreshToken] = true
		pairs = append(pairs, g)
	}
	if len(succ) != 1 {
		t.Fatalf("in-window refreshes produced %d successors, want exactly 1", len(succ))
	}
	env.Clock.Advance(2 * time.Second) // +10.5s: past the window
	_, err := env.Service.Refresh(t.Context(), r0.RefreshToken, laptop)
	if codeOf(err) != latch.CodeRefreshTokenReused {
		t.Fatalf("replay after the window = %v, want refresh_token_reused", err)
	}
	for _, g := range pairs {
		if got := authCode(t, env, g.AccessToken); got != latch.CodeSessionRevoked {
			t.Fatalf("R1's access token after theft = %q, want session_revoked", got)
		}
		if _, err := env.Service.Refresh(t.Context(), g.RefreshToken, laptop); err == nil {
			t.Fatal("R1 still refreshes after theft")
		}
	}
}

// C03 (supabase/auth-js#203): the losing duplicate never revokes the winner.
func TestCaseC03LosingDuplicate(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	r0 := signup(t, env, "c03@example.com")
	first := refresh(t, env, r0.RefreshToken)
	env.Clock.Advance(50 * time.Millisecond)
	refresh(t, env, r0.RefreshToken) // the duplicate
	env.Clock.Advance(time.Second)
	g := refresh(t, env, first.RefreshToken)
	mustAuth(t, env, g.AccessToken)
}

// C04 (ory/kratos#3513): B changes the password; A's tokens die at once, B
// keeps working, and both events are audited.
func TestCaseC04PasswordChange(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	signup(t, env, "c04@example.com")
	a := login(t, env, "c04@example.com", laptop)
	b := login(t, env, "c04@example.com", phone)
	pb := mustAuth(t, env, b.AccessToken)
	if err := env.Service.ChangePassword(t.Context(), pb, testPassword, "a brand new passphrase", phone); err != nil {
		t.Fatal(err)
	}
	if got := authCode(t, env, a.AccessToken); got != latch.CodeSessionRevoked {
		t.Errorf("A access after password change = %q, want session_revoked", got)
	}
	if _, err := env.Service.Refresh(t.Context(), a.RefreshToken, laptop); codeOf(err) != latch.CodeSessionRevoked {
		t.Errorf("A refresh after password change = %v, want session_revoked", err)
	}
	mustAuth(t, env, b.AccessToken)
	refresh(t, env, b.RefreshToken)
	evs, _ := env.Service.Audit(t.Context(), "c04@example.com", 0, 100)
	if !hasAudit(evs, latch.AuditPasswordChange, b.Session.ID) {
		t.Error("password change not audited")
	}
	s, _ := env.Store.Session(t.Context(), a.Session.ID)
	if s.RevokeReason != latch.ReasonPasswordChange {
		t.Errorf("A's session ended with %q, want password_change", s.RevokeReason)
	}
	// Old password no longer works; wrong current password is refused.
	if _, err := env.Service.Login(t.Context(), "c04@example.com", testPassword, laptop); codeOf(err) != latch.CodeInvalidCredentials {
		t.Errorf("login with old password = %v", err)
	}
	if err := env.Service.ChangePassword(t.Context(), pb, "wrong current", "another new passphrase", phone); codeOf(err) != latch.CodeInvalidCredentials {
		t.Errorf("change with wrong current = %v, want invalid_credentials", err)
	}
}

// C05 (keycloak/keycloak#45647): 50 refreshes at once with R0: no errors,
// one successor, and afterwards exactly one refresh token of the session works.
func TestCaseC05FiftyAtOnce(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	r0 := signup(t, env, "c05@example.com")
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		succ = map[string]bool{}
	)
	start := make(chan struct{})
	for range 50 {
		wg.Go(func() {
			<-start
			g, err := env.Service.Refresh(t.Context(), r0.RefreshToken, laptop)
			if err != nil {
				if kindOf(err) == latch.KindUnavailable || kindOf(err) == latch.KindInternal {
					t.Errorf("server-side failure: %v", err)
				}
				return
			}
			mu.Lock()
			succ[g.RefreshToken] = true
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	if len(succ) != 1 {
		t.Fatalf("%d distinct successors, want 1", len(succ))
	}
	var r1 string
	for k := range succ {
		r1 = k
	}
	env.Clock.Advance(11 * time.Second)
	refresh(t, env, r1) // the one working token
}

// C06 (keycloak/keycloak#50999): grace 0; R1→R2→R3 quickly; R1 is reuse,
// decided by generation, not timestamps.
func TestCaseC06OrderByGeneration(t *testing.T) {
	p := latch.DefaultPolicy()
	p.RefreshGrace = 0
	env := latchtest.New(t, latchtest.Options{Policy: p})
	r1 := signup(t, env, "c06@example.com")
	r2 := refresh(t, env, r1.RefreshToken) // all at the same instant
	env.Clock.Advance(200 * time.Millisecond)
	refresh(t, env, r2.RefreshToken)
	_, err := env.Service.Refresh(t.Context(), r1.RefreshToken, laptop)
	if codeOf(err) != latch.CodeRefreshTokenReused {
		t.Fatalf("R1 after R3 = %v, want refresh_token_reused", err)
	}
	s, _ := env.Store.Session(t.Context(), r1.Session.ID)
	if s.RevokeReason != latch.ReasonRefreshReuse {
		t.Fatalf("session reason = %q, want refresh_token_reuse", s.RevokeReason)
	}
}

// C07 (keycloak/keycloak#51312): refresh racing logout, 200 times: nothing
// either call returned survives the logout.
func TestCaseC07RefreshRacesLogout(t *testing.T) {
	// 200 sign-ins from one client at one instant: limits off, this is
	// about the race (limits: limit_test.go).
	env := latchtest.New(t, latchtest.Options{Limits: latch.Limits{Off: true}})
	signup(t, env, "c07@example.com")
	for i := range 200 {
		g := login(t, env, "c07@example.com", laptop)
		p := mustAuth(t, env, g.AccessToken)
		var (
			wg sync.WaitGroup
			ng *latch.Grant
		)
		start := make(chan struct{})
		wg.Go(func() {
			<-start
			ng, _ = env.Service.Refresh(t.Context(), g.RefreshToken, laptop)
		})
		wg.Go(func() {
			<-start
			if err := env.Service.Logout(t.Context(), p, latch.ScopeCurrent, laptop); err != nil {
				t.Errorf("logout: %v", err)
			}
		})
		close(start)
		wg.Wait()
		toks := []string{g.AccessToken}
		if ng != nil {
			toks = append(toks, ng.AccessToken)
			if _, err := env.Service.Refresh(t.Context(), ng.RefreshToken, laptop); err == nil {
				t.Fatalf("round %d: refresh token from the race outlived the logout", i)
			}
		}
		for _, tok := range toks {
			if authCode(t, env, tok) == "" {
				t.Fatalf("round %d: an access token outlived the logout", i)
			}
		}
	}
}

// C08 (keycloak/keycloak#16081): reuse in S1 revokes S1 only; S2 works and
// the session list shows why S1 ended.
func TestCaseC08ReuseIsolated(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	signup(t, env, "c08@example.com")
	s1 := login(t, env, "c08@example.com", laptop)
	s2 := login(t, env, "c08@example.com", phone)
	refresh(t, env, s1.RefreshToken)
	env.Clock.Advance(11 * time.Second)
	if _, err := env.Service.Refresh(t.Context(), s1.RefreshToken, laptop); codeOf(err) != latch.CodeRefreshTokenReused {
		t.Fatalf("replay = %v, want refresh_token_reused", err)
	}
	p2 := mustAuth(t, env, s2.AccessToken)
	refresh(t, env, s2.RefreshToken)
	views, err := env.Service.Sessions(t.Context(), p2)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range views {
		switch v.ID {
		case s1.Session.ID:
			if v.EndReason != latch.ReasonRefreshReuse {
				t.Errorf("S1 listed as %q, want refresh_token_reuse", v.EndReason)
			}
		case s2.Session.ID:
			if !v.EndedAt.IsZero() || !v.Current {
				t.Errorf("S2 listed as ended=%v current=%v, want live and current", v.EndedAt, v.Current)
			}
		}
	}
}

// C11 (ory/hydra#1651): after logout both the access and refresh token fail.
func TestCaseC11LogoutKillsBoth(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	g := signup(t, env, "c11@example.com")
	if err := env.Service.Logout(t.Context(), mustAuth(t, env, g.AccessToken), latch.ScopeCurrent, laptop); err != nil {
		t.Fatal(err)
	}
	if got := authCode(t, env, g.AccessToken); got == "" {
		t.Error("access token works after logout")
	}
	if _, err := env.Service.Refresh(t.Context(), g.RefreshToken, laptop); kindOf(err) != latch.KindUnauthenticated {
		t.Errorf("refresh after logout = %v, want 401", err)
	}
}

// C12 (better-auth#6893): "sign out other sessions" kills B; A survives.
func TestCaseC12LogoutOthers(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	signup(t, env, "c12@example.com")
	a := login(t, env, "c12@example.com", laptop)
	b := login(t, env, "c12@example.com", phone)
	if err := env.Service.Logout(t.Context(), mustAuth(t, env, a.AccessToken), latch.ScopeOthers, laptop); err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(time.Second)
	if got := authCode(t, env, b.AccessToken); got != latch.CodeSessionRevoked {
		t.Fatalf("B after sign-out-others = %q, want session_revoked", got)
	}
	mustAuth(t, env, a.AccessToken)
}

// C13 (authelia#1638): an admin disables the user; the token dies within
// 10ms (here: on the next call), refresh fails, and a new login is refused.
func TestCaseC13AdminDisable(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	g := signup(t, env, "c13@example.com")
	if err := env.Service.SetUserDisabled(t.Context(), "c13@example.com", true); err != nil {
		t.Fatal(err)
	}
	if got := authCode(t, env, g.AccessToken); got == "" {
		t.Error("access token works after disable")
	}
	if _, err := env.Service.Refresh(t.Context(), g.RefreshToken, laptop); kindOf(err) != latch.KindUnauthenticated {
		t.Errorf("refresh after disable = %v, want 401", err)
	}
	if _, err := env.Service.Login(t.Context(), "c13@example.com", testPassword, laptop); codeOf(err) != latch.CodeAccountDisabled {
		t.Errorf("login after disable = %v, want account_disabled", err)
	}
}
