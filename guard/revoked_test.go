package guard

import (
	"testing"
	"time"
)

func sid(n byte) [16]byte { return [16]byte{15: n} }

func TestRevokedSetExpiry(t *testing.T) {
	s := newRevokedSet(100)
	t0 := time.Unix(1_800_000_000, 0)
	keep := 15*time.Minute + 30*time.Second + dropMargin
	s.add(sid(1), t0, t0, keep)
	s.add(sid(2), t0.Add(time.Minute), t0.Add(time.Minute), keep)
	if !s.has(sid(1)) || !s.has(sid(2)) {
		t.Fatal("entries missing")
	}
	// Just before every token of session 1 must have expired: still there.
	s.prune(t0.Add(keep), keep)
	if !s.has(sid(1)) {
		t.Fatal("dropped session 1 while its tokens could be accepted")
	}
	s.prune(t0.Add(keep+time.Second), keep)
	if s.has(sid(1)) || !s.has(sid(2)) {
		t.Fatalf("after its window: has(1)=%v has(2)=%v, want false true", s.has(sid(1)), s.has(sid(2)))
	}
	if !s.floor.IsZero() {
		t.Error("expiry must not raise the floor")
	}
}

func TestRevokedSetEvictionRaisesFloor(t *testing.T) {
	s := newRevokedSet(3)
	t0 := time.Unix(1_800_000_000, 0)
	for i := range byte(5) {
		s.add(sid(i), t0.Add(time.Duration(i)*time.Second), t0, time.Hour)
	}
	if len(s.byID) != 3 || s.has(sid(0)) || s.has(sid(1)) || !s.has(sid(4)) {
		t.Fatalf("set = %v", s.byID)
	}
	if want := t0.Add(time.Second); !s.floor.Equal(want) || s.evicted != 2 {
		t.Fatalf("floor = %v (evicted %d), want %v: the newest evicted revocation", s.floor, s.evicted, want)
	}
	// Duplicates do not grow the set.
	s.add(sid(4), t0.Add(4*time.Second), t0, time.Hour)
	if len(s.byID) != 3 {
		t.Fatalf("duplicate grew the set to %d", len(s.byID))
	}
	s.raiseFloor(t0)
	if !s.floor.Equal(t0.Add(time.Second)) {
		t.Error("raiseFloor lowered the floor")
	}
}

func TestParseUUID(t *testing.T) {
	u, ok := parseUUID("7a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d")
	if !ok || u[0] != 0x7a || u[15] != 0x6d {
		t.Fatalf("parseUUID = %x, %v", u, ok)
	}
	for _, bad := range []string{"", "7a2b3c4d5e6f4a8b9c0d1e2f3a4b5c6d", "7a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6g", "{7a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6}"} {
		if _, ok := parseUUID(bad); ok {
			t.Errorf("parseUUID(%q) accepted", bad)
		}
	}
}
