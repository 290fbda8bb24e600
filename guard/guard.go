// Package guard lets a Go service trust latch access tokens without asking
// latch on every request, and still refuse a token the moment its session
// ends.
//
// A [Guard] verifies each bearer token locally (Ed25519, keys from latch's
// JWKS, refetched on an unknown kid at most once a second) and follows
// latch's revocation feed: a Server-Sent Events stream of signed CAEP
// session-revoked events, which it verifies with the same keys. A token
// whose session was revoked is refused; latch delivers a revocation to
// guard within milliseconds of the logout.
//
// guard fails closed. It vouches for a token only while it knows it is up
// to date: it has caught up with the feed once (see below), and it heard
// from the feed within [Config.StaleAfter] (latch heartbeats even when
// nothing happens). Otherwise the token is refused with 503, or, with
// [Introspect], checked by calling latch's RFC 7662 introspection endpoint.
//
// Catch-up: a token may have been issued, and its session revoked, before
// guard started. On its first connection guard asks for no particular event;
// latch then replays every revocation of the last access-token lifetime
// (plus leeway), which covers every session that can still have an
// unexpired token, and marks the end of the replay with a "sync" event.
// guard refuses to vouch for anything before that sync, and afterwards for
// tokens issued before the replay window began. Later connections resume
// exactly after the last event seen (Last-Event-ID).
//
// The set of revoked sessions is bounded: see the comment on revokedSet in
// revoked.go for when an entry may be dropped and what eviction does.
//
// guard checks that the session was not revoked. It does not see refresh
// rotations, so an access token that latch itself would call superseded
// (an older generation after the refresh grace window) is accepted here
// until it expires; use introspection where that matters.
package guard

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/latchauth/latch/token"
)

// Fallback says what guard does with a token it cannot vouch for because
// it is not up to date with the revocation feed.
type Fallback int

const (
	// FailClosed refuses with 503 and Retry-After (the default).
	FailClosed Fallback = iota
	// Introspect asks latch (RFC 7662), one call per request, until the
	// feed is current again.
	Introspect
)

// Config configures a Guard. URL, ClientID and ClientSecret are required.
type Config struct {
	// URL is where latch is reached, such as "https://auth.example.com".
	URL string
	// Issuer and Audience are the iss and aud of latch's tokens; both
	// default to URL (latch's own default).
	Issuer, Audience string
	// ClientID and ClientSecret come from `latch clients add NAME`.
	ClientID, ClientSecret string
	// StaleAfter is how long guard keeps vouching for tokens after it last
	// heard from the feed (default 30s). Revocations that happen while the
	// feed is down reach guard at most this late.
	StaleAfter time.Duration
	// Fallback applies while guard is not up to date.
	Fallback Fallback
	// MaxRevoked bounds the revoked sessions kept in memory (default 100000).
	MaxRevoked int
	// Realm is the RFC 6750 realm in challenges (default "latch").
	Realm string
	// HTTPClient reaches latch (default: a client with no overall timeout,
	// which the feed needs; guard sets per-request deadlines itself).
	HTTPClient *http.Client
	Logger     *slog.Logger     // nil means discard
	Now        func() time.Time // nil means time.Now
}

// Guard verifies latch access tokens for one service. Create it with New,
// run [Guard.Run] in a goroutine, and wrap handlers with [Guard.Require].
type Guard struct {
	cfg      Config
	keys     *keyCache
	verifier *token.Verifier
	sets     *token.SETVerifier
	logger   *slog.Logger

	mu        sync.RWMutex
	revoked   *revokedSet
	synced    bool          // some connection has caught up
	connected bool          // the current connection has caught up
	lastHeard time.Time     // when the feed last proved guard current
	ttl       time.Duration // access-token lifetime latch announced
	lastID    string        // Last-Event-ID to resume from; "" for a fresh replay
}

// New checks cfg and returns a Guard. It does no I/O.
func New(cfg Config) (*Guard, error) {
	cfg.URL = strings.TrimRight(cfg.URL, "/")
	if cfg.URL == "" || cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("guard: URL, ClientID and ClientSecret are required")
	}
	if !strings.HasPrefix(cfg.URL, "http://") && !strings.HasPrefix(cfg.URL, "https://") {
		return nil, errors.New("guard: URL must be an absolute http(s) URL")
	}
	if cfg.Issuer == "" {
		cfg.Issuer = cfg.URL
	}
	if cfg.Audience == "" {
		cfg.Audience = cfg.Issuer
	}
	if cfg.StaleAfter <= 0 {
		cfg.StaleAfter = 30 * time.Second
	}
	if cfg.MaxRevoked <= 0 {
		cfg.MaxRevoked = 100_000
	}
	if cfg.Realm == "" {
		cfg.Realm = "latch"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	g := &Guard{cfg: cfg, logger: cfg.Logger, revoked: newRevokedSet(cfg.MaxRevoked)}
	if g.logger == nil {
		g.logger = slog.New(slog.DiscardHandler)
	}
	g.logger = g.logger.With("component", "guard")
	g.keys = &keyCache{url: cfg.URL + "/.well-known/jwks.json", client: cfg.HTTPClient}
	g.verifier = &token.Verifier{Issuer: cfg.Issuer, Audience: cfg.Audience, Leeway: token.MaxLeeway, Keys: g.keys}
	g.sets = &token.SETVerifier{Issuer: cfg.Issuer, Audience: cfg.ClientID, Keys: g.keys}
	return g, nil
}

// Status is a snapshot of what guard knows, for readiness checks and logs.
type Status struct {
	// Current reports whether guard vouches for tokens right now.
	Current     bool
	Connected   bool      // a feed connection is open and caught up
	Synced      bool      // caught up with the feed at least once
	LastHeard   time.Time // last sign of life from a caught-up feed
	LastEventID string
	Revoked     int       // sessions in the revoked set
	Floor       time.Time // tokens issued up to this (plus leeway) are not vouched for
}

// Status reports guard's view of the feed.
func (g *Guard) Status() Status {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return Status{
		Current: g.currentLocked(g.cfg.Now()), Connected: g.connected, Synced: g.synced, LastHeard: g.lastHeard, LastEventID: g.lastID,
		Revoked: len(g.revoked.byID), Floor: g.revoked.floor,
	}
}

func (g *Guard) currentLocked(now time.Time) bool {
	return g.synced && now.Sub(g.lastHeard) <= g.cfg.StaleAfter
}

type claimsKey struct{}

// ClaimsFrom returns the verified claims that [Guard.Require] put in the
// request's context.
func ClaimsFrom(ctx context.Context) (*token.Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*token.Claims)
	return c, ok
}

// Require is middleware that lets a request through only with a valid
// access token of a session guard knows to be live. Refusals are RFC 9457
// problem JSON with an RFC 6750 challenge, in latch's own shape.
func (g *Guard) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := bearer(r)
		if err == nil {
			var c *token.Claims
			if c, err = g.Check(r.Context(), raw); err == nil {
				next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), claimsKey{}, c)))
				return
			}
		}
		g.refuse(w, r, err)
	})
}
