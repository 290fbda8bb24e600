package latch

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/latchauth/latch/password"
	"github.com/latchauth/latch/token"
)

// PasswordHasher hashes and checks passwords. *password.Hasher implements it.
type PasswordHasher interface {
	Hash(ctx context.Context, password string) (string, error)
	Verify(ctx context.Context, password, encoded string) (ok, rehash bool, err error)
}

// Config is what NewService needs besides its collaborators.
type Config struct {
	Issuer   string
	Audience string
	Policy   Policy
	Now      func() time.Time // nil means time.Now
	Rand     io.Reader        // nil means crypto/rand.Reader
	Logger   *slog.Logger     // nil means discard
	Cache    CacheConfig
	// Limits are the abuse limits; the zero value means DefaultLimits.
	Limits Limits
	// LimitStore keeps the limit counters. When nil, the store is used if
	// it implements LimitStore; otherwise counters are per process.
	LimitStore LimitStore
	// KeysReadOnly stops the service from marking keys retired in the
	// store (admin commands: the access-token TTL that decides retirement
	// is the server's). Expired keys are still never used.
	KeysReadOnly bool
	// Stateless skips the session check and verifies every signature: a
	// benchmark baseline only, never a production mode (a stolen token
	// would live until it expires).
	Stateless bool
}

// ownLeeway is the clock-skew allowance when latch checks tokens it minted
// itself: only the skew between latch nodes (NTP keeps it far below this),
// so an expired token is refused within seconds, not the 30 s that other
// verifiers (guard, other languages) may allow.
const ownLeeway = 5 * time.Second

// Service applies every authentication rule: sign-up, login, refresh,
// per-request authentication, logout and revocation. Stores only persist.
type Service struct {
	store    Store
	secret   *Secret
	refresh  *RefreshKeys
	hasher   PasswordHasher
	verifier *token.Verifier
	keys     atomic.Pointer[token.KeySet]

	issuer, audience string
	// Policy holds the lifetimes; set it before first use.
	Policy Policy
	// Now, Rand and Logger may be replaced before first use (tests do).
	Now    func() time.Time
	Rand   io.Reader
	Logger *slog.Logger
	// OnRevoke, if set, is called after every revocation this service makes
	// (caches and the revocation feed listen here). It must not block.
	OnRevoke func(Revocation)

	// dummyHash is verified against when an email is unknown, so an unknown
	// email costs the same password-hash verification as a wrong password.
	dummyHash string

	// Per-request caches (cache.go); nil when disabled. cacheTrusted is set
	// by the revocation follower only while it is caught up. heard counts
	// revocation notices received and applied the value heard had when the
	// last successful catch-up began: while they differ, a notice has
	// arrived that is not applied yet and the session cache is not used.
	tokens         *tokenCache
	sessions       *sessionCache
	users          *userCache
	cacheTrusted   atomic.Bool
	heard, applied atomic.Uint64
	stateless      bool

	// Abuse limits (limit.go); limits is nil when they are off.
	lim    Limits
	limits *limiter

	keysReadOnly  bool
	lastKeyReload atomic.Int64 // unix nanos, rate-limits reloads on unknown kid
	touching      sync.Map     // SessionID -> struct{}: last-seen writes in flight
	touchSlots    chan struct{}
	bg            sync.WaitGroup
	revHub        hub
	counters      counters // Stats
}

// NewService checks the secret against the store, loads (or on first start
// creates) the signing key, and prepares the dummy password hash.
func NewService(ctx context.Context, st Store, secret *Secret, hasher PasswordHasher, cfg Config) (*Service, error) {
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("latch: issuer and audience are required")
	}
	if cfg.Policy == (Policy{}) {
		cfg.Policy = DefaultPolicy()
	}
	s := &Service{
		store:        st,
		secret:       secret,
		refresh:      secret.RefreshKeys(),
		hasher:       hasher,
		issuer:       cfg.Issuer,
		audience:     cfg.Audience,
		Policy:       cfg.Policy,
		Now:          cfg.Now,
		Rand:         cfg.Rand,
		Logger:       cfg.Logger,
		touchSlots:   make(chan struct{}, 4),
		stateless:    cfg.Stateless,
		keysReadOnly: cfg.KeysReadOnly,
	}
	if !cfg.Cache.Disabled {
		n, m := cfg.Cache.Tokens, cfg.Cache.Sessions
		if n <= 0 {
			n = 100_000
		}
		if m <= 0 {
			m = 100_000
		}
		// A cached session is re-read at least once per grace window, so a
		// rotation on another node is seen before the tokens it superseded
		// must die. A zero window means every request reads the store.
		ttl := min(cfg.Policy.RefreshGrace, 10*time.Second)
		s.tokens = newTokenCache(n)
		s.users = newUserCache(m)
		if ttl > 0 {
			s.sessions = newSessionCache(m, ttl)
		}
	}
	if cfg.Limits == (Limits{}) {
		cfg.Limits = DefaultLimits()
	}
	if !cfg.Limits.Off {
		ls := cfg.LimitStore
		if ls == nil {
			ls, _ = st.(LimitStore)
		}
		if ls == nil {
			s.logger().Warn("the store keeps no limit counters: abuse limits are counted per process")
			ls = newMemLimits()
		}
		s.lim, s.limits = cfg.Limits, newLimiter(ls, secret.derive("limit keys"), s.logger, s.unavailable)
	}
	s.verifier = &token.Verifier{Issuer: cfg.Issuer, Audience: cfg.Audience, Leeway: ownLeeway, Keys: keyLookup{s}}
	if err := checkSecret(ctx, st, secret); err != nil {
		return nil, err
	}
	if err := s.ReloadKeys(ctx); err != nil {
		return nil, err
	}
	// A random password nobody knows, hashed with the current parameters.
	dummy := make([]byte, 32)
	if _, err := io.ReadFull(s.rand(), dummy); err != nil {
		return nil, err
	}
	h, err := hasher.Hash(ctx, string(dummy))
	if err != nil {
		return nil, fmt.Errorf("latch: prepare dummy hash: %w", err)
	}
	s.dummyHash = h
	return s, nil
}

// Close waits for background writes (last-seen updates) to finish.
func (s *Service) Close() { s.bg.Wait() }

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) rand() io.Reader {
	if s.Rand != nil {
		return s.Rand
	}
	return rand.Reader
}

var discard = slog.New(slog.DiscardHandler)

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return discard
}

func (s *Service) newID() (string, error) {
	u, err := uuid.NewRandomFromReader(s.rand())
	if err != nil {
		return "", fmt.Errorf("generate id: %w", err)
	}
	return u.String(), nil
}

// Device describes the client of a request, recorded on its session.
type Device struct {
	IP        string
	UserAgent string
}

// maxUserAgent bounds what a client can make latch store per session.
const maxUserAgent = 512

func (d Device) clean() Device {
	ua := strings.ToValidUTF8(d.UserAgent, "\uFFFD")
	if len(ua) > maxUserAgent {
		ua = ua[:maxUserAgent]
		for !utf8.ValidString(ua) {
			ua = ua[:len(ua)-1]
		}
	}
	return Device{IP: d.IP, UserAgent: ua}
}

// Grant is the result of a sign-up, login or refresh.
type Grant struct {
	User         *User
	Session      *Session
	AccessToken  string
	ExpiresIn    time.Duration
	RefreshToken string
}

// Principal is an authenticated request: a verified access token whose
// session was live when it was checked.
type Principal struct {
	UserID    UserID
	SessionID SessionID
	Claims    token.Claims
}

type principalKey struct{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the request's principal, if it was authenticated.
func PrincipalFrom(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok
}

// mint signs an access token for the session at generation gen.
func (s *Service) mint(uid UserID, sid SessionID, gen uint64, now time.Time) (string, error) {
	jti, err := s.newID()
	if err != nil {
		return "", err
	}
	return token.Sign(s.keys.Load().SignerAt(now), &token.Claims{
		Issuer: s.issuer, Audience: s.audience, Subject: string(uid), SessionID: string(sid), ID: jti,
		Generation: gen, IssuedAt: now, ExpiresAt: now.Add(s.Policy.AccessTTL),
	})
}

// hasherError maps a hashing failure: capacity exhaustion is a 503 with
// Retry-After, anything else internal.
func hasherError(err error) error {
	if errors.Is(err, password.ErrBusy) {
		return &Error{Kind: KindUnavailable, Code: CodeBusy, Message: "too many sign-in attempts are being processed; retry shortly", RetryAfter: 1, Err: err}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Kind: KindUnavailable, Code: CodeUnavailable, Message: "request cancelled", Err: err}
	}
	return fmt.Errorf("password hash: %w", err)
}

// audit records a security event in the audit table and the log. A failure
// to write it is logged, never shown to the client.
func (s *Service) audit(ctx context.Context, e *AuditEvent) {
	if e.At.IsZero() {
		e.At = s.now()
	}
	level := slog.LevelInfo
	if e.Outcome != "ok" {
		level = slog.LevelWarn
	}
	s.logger().LogAttrs(ctx, level, "security event", slog.Bool("audit", true),
		slog.String("event", string(e.Type)), slog.String("outcome", e.Outcome),
		slog.String("user_id", string(e.UserID)), slog.String("session_id", string(e.SessionID)),
		slog.String("ip", e.IP))
	if err := s.store.AppendAudit(context.WithoutCancel(ctx), e); err != nil {
		s.counters.storeErrors.Add(1)
		s.logger().Error("write audit event", "event", string(e.Type), "err", err)
	}
}
