package latch

import (
	"hash/maphash"
	"sync"
	"time"

	"github.com/latchauth/latch/token"
)

// The hot path: a token seen before skips the signature check, and a
// session seen recently skips the database read. Neither cache ever decides
// alone: the token cache only remembers that a signature was good (exp is
// checked on every use), and the session cache is trusted only while the
// revocation follower is connected and caught up (see follower.go);
// otherwise every request reads the store.
//
// Only tokens that passed the full check (signature, claims and a live
// session) are inserted, so an attacker sending unknown or invalid tokens
// can neither grow memory nor evict the working set. Both caches have a
// fixed capacity; when a shard is full an arbitrary entry is evicted.

const cacheShards = 64

// CacheConfig sizes the per-request caches.
type CacheConfig struct {
	// Disabled makes every request verify the signature and read the store
	// (the baseline the benchmarks compare against).
	Disabled bool
	// Tokens and Sessions cap the entries; defaults 100,000 each.
	Tokens   int
	Sessions int
}

// tokenKey is a 128-bit keyed hash of the exact token bytes. The two seeds
// are random per process and never leave it, so nobody can aim a forged
// token at a cached one's key.
type tokenKey [2]uint64

type tokenCache struct {
	seeds  [2]maphash.Seed
	shards [cacheShards]tokenShard
}

type tokenShard struct {
	mu  sync.RWMutex
	m   map[tokenKey]cachedClaims
	cap int
}

// cachedClaims is a verified token's claims, compact (times as Unix
// seconds, stored inline in the map): a hundred thousand of them must fit
// in little memory. The issuer and audience are the service's own.
type cachedClaims struct {
	sub      UserID
	sid      SessionID
	jti      string
	gen      uint64
	iat, exp int64
}

func compactClaims(c *token.Claims) cachedClaims {
	return cachedClaims{sub: UserID(c.Subject), sid: SessionID(c.SessionID), jti: c.ID, gen: c.Generation,
		iat: c.IssuedAt.Unix(), exp: c.ExpiresAt.Unix()}
}

// claims expands e with the service's issuer and audience.
func (e *cachedClaims) claims(issuer, audience string) token.Claims {
	return token.Claims{Issuer: issuer, Audience: audience, Subject: string(e.sub), SessionID: string(e.sid), ID: e.jti,
		Generation: e.gen, IssuedAt: time.Unix(e.iat, 0), ExpiresAt: time.Unix(e.exp, 0)}
}

func newTokenCache(capacity int) *tokenCache {
	c := &tokenCache{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}
	per := max(capacity/cacheShards, 1)
	for i := range c.shards {
		c.shards[i] = tokenShard{m: make(map[tokenKey]cachedClaims), cap: per}
	}
	return c
}

func (c *tokenCache) key(raw string) tokenKey {
	return tokenKey{maphash.String(c.seeds[0], raw), maphash.String(c.seeds[1], raw)}
}

func (c *tokenCache) get(k tokenKey) (cachedClaims, bool) {
	sh := &c.shards[k[0]%cacheShards]
	sh.mu.RLock()
	v, ok := sh.m[k]
	sh.mu.RUnlock()
	return v, ok
}

func (c *tokenCache) put(k tokenKey, v cachedClaims) {
	sh := &c.shards[k[0]%cacheShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.m[k]; !ok && len(sh.m) >= sh.cap {
		for old := range sh.m { // map order is random: random eviction
			delete(sh.m, old)
			break
		}
	}
	sh.m[k] = v
}

func (c *tokenCache) len() int {
	n := 0
	for i := range c.shards {
		c.shards[i].mu.RLock()
		n += len(c.shards[i].m)
		c.shards[i].mu.RUnlock()
	}
	return n
}

// sessionCache holds recently read sessions. An entry is fresh for at most ttl: no longer than the
// refresh grace window, so a rotation made on another node (which sends no
// revocation) is seen before any token it superseded must die.
type sessionCache struct {
	seed   maphash.Seed
	ttl    time.Duration
	shards [cacheShards]sessionShard
}

type sessionShard struct {
	mu sync.Mutex
	m  map[SessionID]compactSession
	// epoch counts invalidations in this shard. A reader records it before
	// reading the store and inserts only if it has not moved, so a
	// revocation that lands during the read is never overwritten by the
	// stale row.
	epoch uint64
	cap   int
}

type cachedSession struct {
	sess     Session
	loadedAt time.Time
}

// compactSession is how a cachedSession is stored: only what the
// per-request checks read (not the revoke reason, hashes or device), times
// as Unix nanoseconds (0 for a zero time), inline in the map. The session
// id is the map key.
type compactSession struct {
	user                                        UserID
	expires, lastSeen, rotated, revoked, loaded int64
	gen                                         uint64
	reason                                      RevokeReason
	disabled                                    bool
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

func (e *cachedSession) compact() compactSession {
	s := &e.sess
	return compactSession{user: s.UserID, expires: nanos(s.ExpiresAt), lastSeen: nanos(s.LastSeenAt), rotated: nanos(s.RotatedAt),
		revoked: nanos(s.RevokedAt), loaded: nanos(e.loadedAt), gen: s.Generation, disabled: s.UserDisabled}
}

func (c *compactSession) expand(id SessionID) cachedSession {
	return cachedSession{loadedAt: fromNanos(c.loaded), sess: Session{
		ID: id, UserID: c.user, ExpiresAt: fromNanos(c.expires), LastSeenAt: fromNanos(c.lastSeen),
		RotatedAt: fromNanos(c.rotated), RevokedAt: fromNanos(c.revoked),
		Generation: c.gen, UserDisabled: c.disabled,
	}}
}

func newSessionCache(capacity int, ttl time.Duration) *sessionCache {
	c := &sessionCache{seed: maphash.MakeSeed(), ttl: ttl}
	per := max(capacity/cacheShards, 1)
	for i := range c.shards {
		c.shards[i] = sessionShard{m: make(map[SessionID]compactSession), cap: per}
	}
	return c
}

func (c *sessionCache) shard(id SessionID) *sessionShard {
	return &c.shards[maphash.String(c.seed, string(id))%cacheShards]
}

// get returns a fresh entry (by value) and whether there was one, plus the
// shard epoch to pass to put after a store read.
func (c *sessionCache) get(id SessionID, now time.Time) (cachedSession, uint64, bool) {
	sh := c.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	ce, ok := sh.m[id]
	if !ok {
		return cachedSession{}, sh.epoch, false
	}
	e := ce.expand(id)
	if now.Sub(e.loadedAt) >= c.ttl || now.Before(e.loadedAt) {
		return cachedSession{}, sh.epoch, false
	}
	return e, sh.epoch, true
}

// put stores e unless the shard was invalidated since epoch was read, or
// the entry already there is newer (see newer).
func (c *sessionCache) put(e *cachedSession, epoch uint64) {
	sh := c.shard(e.sess.ID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.epoch != epoch {
		return
	}
	old, ok := sh.m[e.sess.ID]
	if ok {
		if o := old.expand(e.sess.ID); newer(&o.sess, &e.sess) {
			return
		}
	}
	if !ok && len(sh.m) >= sh.cap {
		for old := range sh.m {
			delete(sh.m, old)
			break
		}
	}
	sh.m[e.sess.ID] = e.compact()
}

// update applies fn to a cached entry in place (rotation, last seen), if
// present, unless that would make it older (see newer).
func (c *sessionCache) update(id SessionID, fn func(*cachedSession)) {
	sh := c.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if ce, ok := sh.m[id]; ok {
		e := ce.expand(id)
		cp := e
		fn(&cp)
		if !newer(&e.sess, &cp.sess) {
			sh.m[id] = cp.compact()
		}
	}
}

// newer reports whether cached state a is known to be later than b, which
// must then not replace it. A session only moves forward: its generation
// grows and a revocation is final. Two reads that straddle a revocation
// can reach the cache in either order (the older one was slower), and so
// can a rotation's update and a read of the revoked row; without this
// check the older state would win and a node that had already refused a
// token would accept it again until the revocation notice arrived, or for
// a whole TTL if the notice had been applied in between.
func newer(a, b *Session) bool {
	return (a.Revoked() && !b.Revoked()) || a.Generation > b.Generation
}

// invalidate drops a session and bumps its shard's epoch.
func (c *sessionCache) invalidate(id SessionID) {
	sh := c.shard(id)
	sh.mu.Lock()
	sh.epoch++
	delete(sh.m, id)
	sh.mu.Unlock()
}

// invalidateAll drops everything (the follower lost track of revocations).
func (c *sessionCache) invalidateAll() {
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		sh.epoch++
		clear(sh.m)
		sh.mu.Unlock()
	}
}

func (c *sessionCache) len() int {
	n := 0
	for i := range c.shards {
		c.shards[i].mu.Lock()
		n += len(c.shards[i].m)
		c.shards[i].mu.Unlock()
	}
	return n
}

// userCache keeps the public fields of users for /v1/me. Users never change
// email, and disabling one revokes every session, so entries need no
// invalidation.
type userCache struct {
	mu  sync.RWMutex
	m   map[UserID]*User
	cap int
}

func newUserCache(capacity int) *userCache {
	return &userCache{m: make(map[UserID]*User), cap: max(capacity, 1)}
}

func (c *userCache) get(id UserID) *User {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[id]
}

func (c *userCache) put(u *User) {
	pub := &User{ID: u.ID, Email: u.Email, CreatedAt: u.CreatedAt} // never the hash
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[u.ID]; !ok && len(c.m) >= c.cap {
		for old := range c.m {
			delete(c.m, old)
			break
		}
	}
	c.m[u.ID] = pub
}
