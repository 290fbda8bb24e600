package latch_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/password"
)

// dev returns a device at ip.
func dev(ip string) latch.Device { return latch.Device{IP: ip, UserAgent: "test"} }

// retryOf returns the Retry-After of a rate_limited error, or -1.
func retryOf(err error) int {
	if codeOf(err) != latch.CodeRateLimited || kindOf(err) != latch.KindRateLimited {
		return -1
	}
	le, _ := err.(*latch.Error)
	return le.RetryAfter
}

// countingLimits counts how often the limit store is charged.
type countingLimits struct {
	latch.LimitStore
	charges atomic.Int64
}

func (c *countingLimits) ChargeLimit(ctx context.Context, k latch.LimitKey, now time.Time, cost, window time.Duration) (time.Time, bool, error) {
	c.charges.Add(1)
	return c.LimitStore.ChargeLimit(ctx, k, now, cost, window)
}

// A guesser at one client gets five wrong passwords, then one a minute; the
// refused attempts cost no password hashing; the owner elsewhere is not
// affected, and a correct password at the guesser's client is refused too
// while it is limited (else the limit would be an oracle).
func TestLoginFailuresPerClient(t *testing.T) {
	h := &countingHasher{PasswordHasher: password.New(password.Options{Params: latchtest.TestParams})}
	env := latchtest.New(t, latchtest.Options{Hasher: h})
	signup(t, env, "owner@example.com")
	guesser := dev("203.0.113.9")
	for i := range 5 {
		if _, err := env.Service.Login(t.Context(), "owner@example.com", fmt.Sprintf("guess number %d", i), guesser); codeOf(err) != latch.CodeInvalidCredentials {
			t.Fatalf("guess %d = %v, want invalid_credentials", i, err)
		}
	}
	before := h.verifies.Load()
	_, err := env.Service.Login(t.Context(), "owner@example.com", "guess number 6", guesser)
	if r := retryOf(err); r < 1 || r > 60 {
		t.Fatalf("sixth guess = %v (Retry-After %d), want rate_limited within a minute", err, r)
	}
	if _, err := env.Service.Login(t.Context(), "owner@example.com", testPassword, guesser); retryOf(err) < 1 {
		t.Fatalf("correct password from the limited client = %v, want rate_limited", err)
	}
	if n := h.verifies.Load() - before; n != 0 {
		t.Errorf("refused attempts ran %d password verifications", n)
	}
	login(t, env, "owner@example.com", dev("198.51.100.20")) // the owner, elsewhere

	env.Clock.Advance(time.Minute)
	if _, err := env.Service.Login(t.Context(), "owner@example.com", "guess number 7", guesser); codeOf(err) != latch.CodeInvalidCredentials {
		t.Fatalf("a minute later = %v, want one more try", err)
	}
	if _, err := env.Service.Login(t.Context(), "owner@example.com", testPassword, guesser); retryOf(err) < 1 {
		t.Fatalf("right after it = %v, want rate_limited", err)
	}
	// A success resets the client's counter.
	env.Clock.Advance(time.Minute)
	login(t, env, "owner@example.com", guesser)
	for i := range 5 {
		if _, err := env.Service.Login(t.Context(), "owner@example.com", "typo", guesser); codeOf(err) != latch.CodeInvalidCredentials {
			t.Fatalf("typo %d after a success = %v", i, err)
		}
	}
}

// An unknown email is limited exactly like a known one, so the limits
// cannot be used to learn who has an account.
// The password work is the same too (TestLoginSameWork, under limits).
func TestLoginLimitsSameForUnknownEmail(t *testing.T) {
	h := &countingHasher{PasswordHasher: password.New(password.Options{Params: latchtest.TestParams})}
	env := latchtest.New(t, latchtest.Options{Hasher: h})
	signup(t, env, "known@example.com")
	var got [2][]string
	for i, email := range []string{"known@example.com", "nobody@example.com"} {
		for range 7 {
			before := h.verifies.Load()
			_, err := env.Service.Login(t.Context(), email, "wrong password", dev("203.0.113.50"))
			got[i] = append(got[i], fmt.Sprintf("%s/%d/%d verifications", codeOf(err), max(retryOf(err), 0), h.verifies.Load()-before))
		}
	}
	if fmt.Sprint(got[0]) != fmt.Sprint(got[1]) {
		t.Fatalf("known email: %v\nunknown email: %v", got[0], got[1])
	}
}

// TestLoginAccountUnderAttack: a guesser with a fresh address for every try
// exhausts the account's counter. From then on unknown clients are refused
// before any hashing, but the owner's own client, which held a session of
// the account, still signs in: a stranger cannot lock the owner out.
func TestLoginAccountUnderAttack(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	signup(t, env, "target@example.com") // from laptop
	home := dev("192.0.2.77")
	login(t, env, "target@example.com", home)

	limited := 0
	for i := range 40 {
		_, err := env.Service.Login(t.Context(), "target@example.com", "guess", dev(fmt.Sprintf("203.0.113.%d", i+1)))
		switch {
		case codeOf(err) == latch.CodeInvalidCredentials:
		case retryOf(err) > 0:
			limited++
		default:
			t.Fatalf("guess %d = %v", i, err)
		}
	}
	if limited < 25 {
		t.Fatalf("only %d of 40 distributed guesses were limited", limited)
	}
	login(t, env, "target@example.com", home)
	login(t, env, "target@example.com", laptop)
	if _, err := env.Service.Login(t.Context(), "target@example.com", testPassword, dev("198.51.100.99")); retryOf(err) < 1 {
		t.Fatalf("a new client during the attack = %v, want rate_limited", err)
	}
	// The lock is not long: when the guessing stops it drains.
	env.Clock.Advance(time.Minute)
	login(t, env, "target@example.com", dev("198.51.100.99"))
}

// ASVS 2.2.1: however many addresses a guesser has, at most 100 wrong
// passwords for one account reach the password check in any hour.
func TestLoginAtMost100FailuresPerHour(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	signup(t, env, "asvs@example.com")
	start := env.Clock.Now()
	var checked []time.Time // when each guess reached the password check
	ip := 0
	for env.Clock.Now().Sub(start) < 2*time.Hour {
		for range 2 { // two fresh addresses every 10 seconds
			ip++
			_, err := env.Service.Login(t.Context(), "asvs@example.com", "guess", dev(fmt.Sprintf("10.%d.%d.%d", ip>>16&255, ip>>8&255, ip&255)))
			if codeOf(err) == latch.CodeInvalidCredentials {
				checked = append(checked, env.Clock.Now())
			} else if retryOf(err) < 1 {
				t.Fatalf("guess = %v", err)
			}
		}
		env.Clock.Advance(10 * time.Second)
	}
	most := 0
	for i, at := range checked {
		n := 0
		for _, later := range checked[i:] {
			if later.Sub(at) < time.Hour {
				n++
			}
		}
		most = max(most, n)
	}
	if most > 100 {
		t.Fatalf("%d wrong passwords reached the check within one hour, ASVS allows 100", most)
	}
	if most < 80 {
		t.Errorf("only %d guesses an hour got through: the limit is tighter than designed", most)
	}
	t.Logf("%d guesses from %d addresses over 2h; at most %d in any hour", len(checked), ip, most)
}

// Requests per client: sign-ins, sign-ups, refreshes and password changes
// are each capped per IPv4 address and per IPv6 /64.
func TestPerClientLimits(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	signup(t, env, "many@example.com")
	d := latch.DefaultLimits()

	t.Run("login", func(t *testing.T) {
		for i := range d.LoginPerIP.Burst {
			if _, err := env.Service.Login(t.Context(), "many@example.com", testPassword, dev("2001:db8:1:2::10")); err != nil {
				t.Fatalf("login %d: %v", i, err)
			}
		}
		// Same /64, another address: same counter.
		if _, err := env.Service.Login(t.Context(), "many@example.com", testPassword, dev("2001:db8:1:2:ffff::1")); retryOf(err) < 1 {
			t.Fatalf("login past the limit = %v", err)
		}
		login(t, env, "many@example.com", dev("2001:db8:1:3::10")) // next /64
	})
	t.Run("signup", func(t *testing.T) {
		for i := range d.SignupPerIP.Burst {
			if _, err := env.Service.Signup(t.Context(), fmt.Sprintf("s%d@example.com", i), testPassword, dev("192.0.2.200")); err != nil {
				t.Fatalf("signup %d: %v", i, err)
			}
		}
		if _, err := env.Service.Signup(t.Context(), "one-more@example.com", testPassword, dev("::ffff:192.0.2.200")); retryOf(err) < 1 {
			t.Fatalf("signup past the limit (IPv4-mapped form) = %v", err)
		}
		// Invalid input is refused for free and does not count.
		if _, err := env.Service.Signup(t.Context(), "bad email", testPassword, dev("192.0.2.201")); codeOf(err) != latch.CodeValidationFailed {
			t.Fatalf("invalid signup = %v", err)
		}
	})
	t.Run("refresh", func(t *testing.T) {
		g := login(t, env, "many@example.com", dev("192.0.2.210"))
		for i := range d.RefreshPerIP.Burst {
			if _, err := env.Service.Refresh(t.Context(), "latch_rt_garbage", dev("192.0.2.211")); retryOf(err) > 0 {
				t.Fatalf("refresh %d limited early", i)
			}
		}
		if _, err := env.Service.Refresh(t.Context(), g.RefreshToken, dev("192.0.2.211")); retryOf(err) < 1 {
			t.Fatalf("refresh past the limit = %v", err)
		}
		refresh(t, env, g.RefreshToken) // from the laptop: its own counter
	})
}

// A stolen access token must not become a password oracle: wrong current
// passwords on a password change are limited per account.
func TestPasswordChangeFailuresLimited(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	g := signup(t, env, "pw@example.com")
	p := mustAuth(t, env, g.AccessToken)
	for i := range 5 {
		if err := env.Service.ChangePassword(t.Context(), p, fmt.Sprintf("guess %d!!", i), "a brand new passphrase", dev(fmt.Sprintf("203.0.113.%d", i))); codeOf(err) != latch.CodeInvalidCredentials {
			t.Fatalf("guess %d = %v", i, err)
		}
	}
	if err := env.Service.ChangePassword(t.Context(), p, testPassword, "a brand new passphrase", laptop); retryOf(err) < 1 {
		t.Fatalf("after 5 wrong guesses = %v, want rate_limited even for the right password", err)
	}
	env.Clock.Advance(time.Minute)
	if err := env.Service.ChangePassword(t.Context(), p, testPassword, "a brand new passphrase", laptop); err != nil {
		t.Fatalf("a minute later = %v", err)
	}
}

// The limits live in the database: two services on one file (two nodes)
// share them.
func TestLimitsShared(t *testing.T) {
	a := latchtest.New(t, latchtest.Options{})
	b := latchtest.New(t, latchtest.Options{DBPath: a.DBPath, Clock: a.Clock})
	signup(t, a, "shared@example.com")
	for i := range 5 {
		node := []*latchtest.Env{a, b}[i%2]
		if _, err := node.Service.Login(t.Context(), "shared@example.com", "wrong", dev("203.0.113.1")); codeOf(err) != latch.CodeInvalidCredentials {
			t.Fatalf("guess %d = %v", i, err)
		}
	}
	for _, node := range []*latchtest.Env{a, b} {
		if _, err := node.Service.Login(t.Context(), "shared@example.com", "wrong", dev("203.0.113.1")); retryOf(err) < 1 {
			t.Fatalf("sixth guess = %v, want rate_limited on both nodes", err)
		}
	}
}

// Once a client is limited, its further requests are refused from memory:
// a flood costs no database writes.
func TestLimitedFloodCostsNoWrites(t *testing.T) {
	cl := &countingLimits{}
	env := latchtest.New(t, latchtest.Options{WrapLimits: func(ls latch.LimitStore) latch.LimitStore { cl.LimitStore = ls; return cl }})
	flood := dev("203.0.113.200")
	for range latch.DefaultLimits().LoginPerIP.Burst + 1 {
		env.Service.Login(t.Context(), "flood@example.com", "x", flood)
	}
	before := cl.charges.Load()
	for range 1000 {
		if _, err := env.Service.Login(t.Context(), "flood@example.com", "x", flood); retryOf(err) < 1 {
			t.Fatalf("flood request = %v", err)
		}
	}
	if n := cl.charges.Load() - before; n != 0 {
		t.Fatalf("1000 refused requests charged the store %d times", n)
	}
}

// Pruning drops counters that have run out.
func TestPruneLimits(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	env.Service.Login(t.Context(), "p@example.com", "wrong", laptop)
	count := func() (n int) {
		env.Store.DB().QueryRow(`SELECT count(*) FROM limits`).Scan(&n)
		return n
	}
	if count() == 0 {
		t.Fatal("no counters written")
	}
	if n, err := env.Service.PruneLimits(t.Context()); err != nil || n != 0 {
		t.Fatalf("PruneLimits right away = %d, %v", n, err)
	}
	env.Clock.Advance(time.Hour)
	if n, err := env.Service.PruneLimits(t.Context()); err != nil || n == 0 || count() != 0 {
		t.Fatalf("PruneLimits an hour later = %d, %v; %d left", n, err, count())
	}
}

// A burst of concurrent guesses gets no more password checks than the same
// guesses one after another: failure counters are charged before the hash,
// not after it (the race a sequential test cannot see).
func TestConcurrentGuessesChargedFirst(t *testing.T) {
	h := &countingHasher{PasswordHasher: password.New(password.Options{Params: latchtest.TestParams, Slots: 2, MaxQueue: 1024})}
	env := latchtest.New(t, latchtest.Options{Hasher: h})
	signup(t, env, "burst@example.com")
	before := h.verifies.Load()
	var wg sync.WaitGroup
	start := make(chan struct{})
	var limited atomic.Int64
	for i := range 25 {
		wg.Go(func() {
			<-start
			_, err := env.Service.Login(t.Context(), "burst@example.com", fmt.Sprintf("wrong guess %d", i), dev("203.0.113.60"))
			if codeOf(err) == latch.CodeRateLimited {
				limited.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if n := h.verifies.Load() - before; n != 5 || limited.Load() != 20 {
		t.Fatalf("25 concurrent guesses from one client: %d password checks, %d limited; want 5 and 20", n, limited.Load())
	}

	// Across many clients the account's budget (10 at once) holds too.
	before = h.verifies.Load()
	for c := range 6 {
		for i := range 5 {
			wg.Go(func() {
				env.Service.Login(t.Context(), "burst@example.com", fmt.Sprintf("guess %d-%d", c, i), dev(fmt.Sprintf("198.51.100.%d", c+1)))
			})
		}
	}
	wg.Wait()
	// The first burst already spent 5 of the account's 10.
	if n := h.verifies.Load() - before; n > 5 {
		t.Fatalf("30 concurrent guesses from 6 clients got %d password checks, want at most the 5 left in the account's budget", n)
	}
	// The owner, from a device that held a session, still signs in.
	login(t, env, "burst@example.com", laptop)
}

// The right password gives the failure counters their event back: an owner
// who signs in often does not use up the account's budget.
func TestRightPasswordRefunds(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	signup(t, env, "often@example.com")
	for i := range 30 {
		if _, err := env.Service.Login(t.Context(), "often@example.com", testPassword, dev(fmt.Sprintf("192.0.2.%d", i+1))); err != nil {
			t.Fatalf("sign-in %d = %v", i, err)
		}
	}
}
