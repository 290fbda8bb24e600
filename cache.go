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
	m   map[tokenKey]*cachedClaims
	cap int
}

// cachedClaims keeps what per-request checks need; the issuer and audience
// are the service's own strings, shared.
type cachedClaims struct {
	claims token.Claims
}

func newTokenCache(capacity int) *tokenCache {
	c := &tokenCache{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}
	per := max(capacity/cacheShards, 1)
	for i := range c.shards {
		c.shards[i] = tokenShard{m: make(map[tokenKey]*cachedClaims), cap: per}
	}
	return c
}

func (c *tokenCache) key(raw string) tokenKey {
	return tokenKey{maphash.String(c.seeds[0], raw), maphash.String(c.seeds[1], raw)}
}

func (c *tokenCache) get(k tokenKey) *cachedClaims {
	sh := &c.shards[k[0]%cacheShards]
	sh.mu.RLock()
	v := sh.m[k]
	sh.mu.RUnlock()
	return v
}

func (c *tokenCache) put(k tokenKey, v *cachedClaims) {
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
	m  map[SessionID]*cachedSession
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

func newSessionCache(capacity int, ttl time.Duration) *sessionCache {
	c := &sessionCache{seed: maphash.MakeSeed(), ttl: ttl}
	per := max(capacity/cacheShards, 1)
	for i := range c.shards {
		c.shards[i] = sessionShard{m: make(map[SessionID]*cachedSession), cap: per}
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
	e := sh.m[id]
	if e == nil || now.Sub(e.loadedAt) >= c.ttl || now.Before(e.loadedAt) {
		return cachedSession{}, sh.epoch, false
	}
	return *e, sh.epoch, true
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
	if ok && newer(&old.sess, &e.sess) {
		return
	}
	if !ok && len(sh.m) >= sh.cap {
		for old := range sh.m {
			delete(sh.m, old)
			break
		}
	}
	sh.m[e.sess.ID] = e
}

// update applies fn to a cached entry in place (rotation, last seen), if
// present, unless that would make it older (see newer).
func (c *sessionCache) update(id SessionID, fn func(*cachedSession)) {
	sh := c.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e := sh.m[id]; e != nil {
		cp := *e
		fn(&cp)
		if !newer(&e.sess, &cp.sess) {
			sh.m[id] = &cp
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
