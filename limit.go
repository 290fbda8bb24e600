package latch

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"log/slog"
	"net/netip"
	"sync"
	"time"
)

// LimitStore keeps the counters of the abuse limits, so they hold across
// every node that shares the store. It is separate from Store: a store
// without it gets per-process counters (logged at start). Each counter is
// one time per key (a GCRA "theoretical arrival time"); the arithmetic is
// fixed here so that every store applies exactly the same rule.
type LimitStore interface {
	// ChargeLimit atomically applies, for key:
	//
	//	t := max(stored, now) + cost     // a missing key counts as stored = now
	//	if t <= now + window { stored = t; return t, true }
	//	return stored, false
	//
	// Callers guarantee cost <= window. A negative cost gives events back
	// (a refund of one charged before an attempt that was no failure).
	ChargeLimit(ctx context.Context, key LimitKey, now time.Time, cost, window time.Duration) (time.Time, bool, error)
	// LimitTime returns the stored time of key, zero if there is none.
	LimitTime(ctx context.Context, key LimitKey) (time.Time, error)
	// ResetLimit deletes key.
	ResetLimit(ctx context.Context, key LimitKey) error
	// PruneLimits deletes every key whose time is before t (such a key
	// means the same as a missing one) and returns how many.
	PruneLimits(ctx context.Context, t time.Time) (int64, error)
}

// LimitKey names one counter: an HMAC of the limit's name and its subject
// (an IP prefix, an email key, a user id) under a key derived from the
// installation secret, so the table holds neither emails nor addresses and
// every key has the same small size.
type LimitKey [sha256.Size]byte

// Limit allows Burst events at once and then one per Per (a token bucket
// of Burst tokens refilled every Per, kept as one time by GCRA). Over any
// span d, at most Burst + d/Per events pass.
type Limit struct {
	Burst int
	Per   time.Duration
}

func (l Limit) cost() time.Duration   { return l.Per }
func (l Limit) window() time.Duration { return time.Duration(l.Burst) * l.Per }
func (l Limit) on() bool              { return l.Burst > 0 && l.Per > 0 }

// Limits are the abuse limits. docs/design.md explains each choice.
type Limits struct {
	// Requests per client IP (IPv6: per /64) on the credential endpoints.
	LoginPerIP, SignupPerIP, RefreshPerIP, PasswordPerIP Limit
	// LoginFailuresPerClient counts wrong passwords for one account from
	// one client IP: the owner mistyping, or one guesser. It never affects
	// other clients.
	LoginFailuresPerClient Limit
	// LoginFailuresPerAccount counts wrong passwords for one account from
	// everywhere (ASVS 2.2.1: at most 100 an hour). Once exhausted, only
	// clients that have held a session of the account in the last 30 days
	// may keep trying (each under LoginFailuresPerClient), so a guesser
	// with many addresses cannot lock the owner out.
	LoginFailuresPerAccount Limit
	// PasswordFailuresPerAccount counts wrong current passwords on a
	// password change: a stolen access token must not become an oracle.
	PasswordFailuresPerAccount Limit
	// RefreshPerAccount bounds refreshes per user, across sessions.
	RefreshPerAccount Limit
	// Off turns every limit off (benchmarks and load tests only).
	Off bool
}

// DefaultLimits returns latch's documented defaults.
func DefaultLimits() Limits {
	return Limits{
		LoginPerIP:                 Limit{Burst: 30, Per: 2 * time.Second},
		SignupPerIP:                Limit{Burst: 10, Per: time.Minute},
		RefreshPerIP:               Limit{Burst: 300, Per: 100 * time.Millisecond},
		PasswordPerIP:              Limit{Burst: 10, Per: 30 * time.Second},
		LoginFailuresPerClient:     Limit{Burst: 5, Per: time.Minute},
		LoginFailuresPerAccount:    Limit{Burst: 10, Per: 40 * time.Second}, // 10 + 3600/40 = 100 an hour
		PasswordFailuresPerAccount: Limit{Burst: 5, Per: time.Minute},
		RefreshPerAccount:          Limit{Burst: 60, Per: time.Second},
	}
}

// limiter applies Limits against a LimitStore, with a local memory of
// exhausted keys: once the store says a key is exhausted until t, this
// process refuses it until t without asking again, so a flood from one
// client costs no database writes.
type limiter struct {
	store  LimitStore
	key    []byte
	logger func() *slog.Logger
	// unavailable turns a store failure into the client's error (and
	// counts it in the service's statistics).
	unavailable func(error) *Error

	mu      sync.Mutex
	blocked map[LimitKey]time.Time
}

const maxBlocked = 50_000

func newLimiter(st LimitStore, key []byte, logger func() *slog.Logger, unavailable func(error) *Error) *limiter {
	return &limiter{store: st, key: key, logger: logger, unavailable: unavailable, blocked: make(map[LimitKey]time.Time)}
}

// keyOf names the counter of limit name for subject.
func (l *limiter) keyOf(name, subject string) LimitKey {
	m := hmac.New(sha256.New, l.key)
	m.Write([]byte(name))
	m.Write([]byte{0})
	m.Write([]byte(subject))
	var k LimitKey
	m.Sum(k[:0])
	return k
}

// rateLimited is the client error for an exhausted limit.
func rateLimited(retry time.Duration) *Error {
	secs := int((retry + time.Second - 1) / time.Second)
	return &Error{Kind: KindRateLimited, Code: CodeRateLimited, Message: "too many attempts; try again later", RetryAfter: max(secs, 1)}
}

// cached returns how long k is still known to be exhausted.
func (l *limiter) cached(k LimitKey, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	until, ok := l.blocked[k]
	if !ok {
		return 0, false
	}
	if !now.Before(until) {
		delete(l.blocked, k)
		return 0, false
	}
	return until.Sub(now), true
}

func (l *limiter) remember(k LimitKey, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.blocked[k]; !ok && len(l.blocked) >= maxBlocked {
		for old := range l.blocked { // random eviction
			delete(l.blocked, old)
			break
		}
	}
	l.blocked[k] = until
}

func (l *limiter) forget(k LimitKey) {
	l.mu.Lock()
	delete(l.blocked, k)
	l.mu.Unlock()
}

// take charges one event. It returns a *Error: rate_limited when the limit
// is exhausted, unavailable when the store cannot answer (fail closed).
func (l *limiter) take(ctx context.Context, lim Limit, name, subject string, now time.Time) *Error {
	if l == nil || !lim.on() {
		return nil
	}
	k := l.keyOf(name, subject)
	if retry, ok := l.cached(k, now); ok {
		return rateLimited(retry)
	}
	t, ok, err := l.store.ChargeLimit(ctx, k, now, lim.cost(), lim.window())
	if err != nil {
		return l.unavailable(err)
	}
	if ok {
		return nil
	}
	until := t.Add(lim.cost() - lim.window()) // when one more event fits
	l.remember(k, until)
	l.logger().LogAttrs(ctx, slog.LevelWarn, "rate limit reached", slog.Bool("audit", true), slog.String("limit", name),
		slog.Duration("retry_after", until.Sub(now)))
	return rateLimited(until.Sub(now))
}

// room reports whether one more event would pass, without charging it: for
// failure counters, which are checked before the attempt and charged only
// if it fails. retry is how long until it would.
func (l *limiter) room(ctx context.Context, lim Limit, name, subject string, now time.Time) (ok bool, retry time.Duration, e *Error) {
	if l == nil || !lim.on() {
		return true, 0, nil
	}
	k := l.keyOf(name, subject)
	if retry, ok := l.cached(k, now); ok {
		return false, retry, nil
	}
	t, err := l.store.LimitTime(ctx, k)
	if err != nil {
		return false, 0, l.unavailable(err)
	}
	if t.Before(now) {
		t = now
	}
	if next := t.Add(lim.cost()); !next.After(now.Add(lim.window())) {
		return true, 0, nil
	}
	until := t.Add(lim.cost() - lim.window())
	l.remember(k, until)
	return false, until.Sub(now), nil
}

// refund gives back one event charged by take, for an attempt that turned
// out not to be a failure (the right password) or did not happen (the
// hasher was busy). Failure counters are charged before the password is
// checked, not after: otherwise every request arriving while the first
// ones are still hashing would find the counter untouched, and a burst
// would get past any limit.
func (l *limiter) refund(ctx context.Context, lim Limit, name, subject string, now time.Time) {
	if l == nil || !lim.on() {
		return
	}
	k := l.keyOf(name, subject)
	l.forget(k)
	if _, _, err := l.store.ChargeLimit(ctx, k, now, -lim.cost(), lim.window()); err != nil {
		l.logger().Warn("refund limit", "limit", name, "err", err)
	}
}

// reset clears a failure counter (a successful sign-in from that client).
func (l *limiter) reset(ctx context.Context, name, subject string) {
	if l == nil {
		return
	}
	k := l.keyOf(name, subject)
	l.forget(k)
	if err := l.store.ResetLimit(ctx, k); err != nil {
		l.logger().Warn("reset limit", "limit", name, "err", err)
	}
}

// ipSubject is the subject of per-client limits: the IPv4 address, or the
// /64 an IPv6 address is in (one customer's allocation: counting single
// IPv6 addresses would give every client 2^64 fresh counters).
func ipSubject(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return "raw:" + ip
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// PruneLimits deletes counters that have run out, so the table holds only
// clients and accounts seen recently. serve runs it periodically.
func (s *Service) PruneLimits(ctx context.Context) (int64, error) {
	if s.limits == nil {
		return 0, nil
	}
	return s.limits.store.PruneLimits(ctx, s.now())
}
