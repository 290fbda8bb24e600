package guard

import (
	"encoding/hex"
	"time"
)

// revokedSet remembers revoked sessions for as long as one of their access
// tokens could still be accepted, and no longer.
//
// Why an entry may be dropped: latch mints a session's tokens only while the
// session is live, so every token of a session revoked at R was issued at or
// before R (a refresh racing the revocation can make it a few milliseconds
// later) and expires by R + ttl, where ttl is the access-token lifetime latch
// announces. guard refuses any token whose exp − iat exceeds ttl, so that
// bound holds for every token it accepts. A verifier accepts a token until
// exp + leeway by its own clock; R is latch's clock, but both sides of the
// comparison are then read on guard's clock, so skew cancels out. An entry
// is therefore dropped once now > R + ttl + leeway + margin.
//
// Why the set is bounded anyway: a flood of revocations must not exhaust
// memory. When the set is full, the oldest entry is evicted and the floor
// rises to its R: guard no longer vouches for any token issued at or before
// the floor (plus the leeway), since it may belong to an evicted session.
// Such tokens are refused or sent to introspection; newer ones are not
// affected. The same floor covers catch-up: guard knows nothing revoked
// before the start of its first replay, so that start is the first floor.
type revokedSet struct {
	max     int
	byID    map[[16]byte]int64 // session → revoked at (unix seconds)
	queue   []revokedEntry     // arrival order, for expiry and eviction
	head    int
	floor   time.Time // tokens issued at or before floor+leeway are not vouched for
	evicted int
}

type revokedEntry struct {
	id [16]byte
	at int64
}

// dropMargin is added to ttl+leeway before an entry is dropped.
const dropMargin = time.Minute

func newRevokedSet(max int) *revokedSet {
	return &revokedSet{max: max, byID: make(map[[16]byte]int64)}
}

// add records that session sid ended at, then drops what has expired.
func (s *revokedSet) add(sid [16]byte, at time.Time, now time.Time, keep time.Duration) {
	s.prune(now, keep)
	if old, ok := s.byID[sid]; ok && old <= at.Unix() {
		return
	}
	for len(s.byID) >= s.max && s.head < len(s.queue) {
		e := s.queue[s.head]
		s.head++
		if cur, ok := s.byID[e.id]; ok && cur == e.at {
			delete(s.byID, e.id)
			s.evicted++
			if t := time.Unix(e.at, 0); t.After(s.floor) {
				s.floor = t
			}
		}
	}
	s.byID[sid] = at.Unix()
	s.queue = append(s.queue, revokedEntry{sid, at.Unix()})
	s.compact()
}

// prune drops entries whose sessions can have no acceptable token left.
// Entries leave in arrival order, which is latch's Seq order; a rare entry
// behind a newer one lingers a little longer, which is harmless.
func (s *revokedSet) prune(now time.Time, keep time.Duration) {
	cutoff := now.Add(-keep).Unix()
	for s.head < len(s.queue) && s.queue[s.head].at < cutoff {
		e := s.queue[s.head]
		s.head++
		if cur, ok := s.byID[e.id]; ok && cur == e.at {
			delete(s.byID, e.id)
		}
	}
	s.compact()
}

func (s *revokedSet) compact() {
	if s.head > 1024 && s.head > len(s.queue)/2 {
		s.queue = append(s.queue[:0], s.queue[s.head:]...)
		s.head = 0
	}
}

func (s *revokedSet) has(sid [16]byte) bool {
	_, ok := s.byID[sid]
	return ok
}

// raiseFloor moves the floor up to t (never down).
func (s *revokedSet) raiseFloor(t time.Time) {
	if t.After(s.floor) {
		s.floor = t
	}
}

// parseUUID reads the canonical lowercase form latch writes (token checks it
// for access tokens and SETs alike).
func parseUUID(s string) ([16]byte, bool) {
	var u [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	hexs := s[:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	if _, err := hex.Decode(u[:], []byte(hexs)); err != nil {
		return u, false
	}
	return u, true
}
