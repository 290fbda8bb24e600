package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"

	"github.com/latchauth/latch"
)

var eventTests = []test{
	{"Audit", testAudit},
	{"SigningKeys", testSigningKeys},
	{"Meta", testMeta},
	{"Ping", testPing},
	{"MillisecondTimes", testMillisecondTimes},
	{"FailClosedAfterClose", testFailClosedAfterClose},
	{"NULBytes", testNULBytes},
}

func testAudit(t *testing.T, st latch.Store) {
	alice, bob := latch.UserID(uuid.NewString()), latch.UserID(uuid.NewString())
	var evs []*latch.AuditEvent // in append order
	for i, e := range []latch.AuditEvent{
		{Type: latch.AuditSignup, UserID: alice, Outcome: "ok"},
		{Type: latch.AuditLoginFailed, Email: "Who@Example.com", Outcome: latch.CodeInvalidCredentials, Detail: "unknown email"},
		{Type: latch.AuditLogin, UserID: alice, SessionID: latch.SessionID(uuid.NewString()), Outcome: "ok"},
		{Type: latch.AuditLogin, UserID: bob, SessionID: latch.SessionID(uuid.NewString()), Outcome: "ok"},
		{Type: latch.AuditLogout, UserID: alice, Outcome: "ok", Detail: "détail ✓"},
	} {
		e.At, e.IP, e.UserAgent = at(100*i+7), fmt.Sprintf("203.0.113.%d", i), "agent "+fmt.Sprint(i)
		must(t, "AppendAudit", st.AppendAudit(t.Context(), &e))
		if e.ID <= 0 || (len(evs) > 0 && e.ID <= evs[len(evs)-1].ID) {
			t.Fatalf("AppendAudit assigned id %d; want positive and increasing", e.ID)
		}
		evs = append(evs, &e)
	}
	newest := func(idx ...int) []*latch.AuditEvent {
		var out []*latch.AuditEvent
		for _, i := range idx {
			out = append(out, evs[i])
		}
		return out
	}
	for _, tc := range []struct {
		name string
		q    latch.AuditQuery
		want []*latch.AuditEvent
	}{
		{"everything, newest first", latch.AuditQuery{}, newest(4, 3, 2, 1, 0)},
		{"by user", latch.AuditQuery{UserID: alice}, newest(4, 2, 0)},
		{"since, inclusive", latch.AuditQuery{Since: evs[2].At}, newest(4, 3, 2)},
		{"limit", latch.AuditQuery{Limit: 2}, newest(4, 3)},
		{"all filters", latch.AuditQuery{UserID: alice, Since: evs[1].At, Limit: 1}, newest(4)},
		{"no match", latch.AuditQuery{UserID: latch.UserID(uuid.NewString())}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := st.AuditEvents(t.Context(), tc.q)
			must(t, "AuditEvents", err)
			if diff := gocmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("AuditEvents(%+v) (-want +got):\n%s", tc.q, diff)
			}
		})
	}
}

func testSigningKeys(t *testing.T, st latch.Store) {
	if ks, err := st.SigningKeys(t.Context()); err != nil || len(ks) != 0 {
		t.Fatalf("SigningKeys on an empty store = %v, %v; want none", ks, err)
	}
	older := &latch.StoredKey{ID: "older-kid", Algorithm: "EdDSA", PublicKey: []byte{1, 2, 3, 0}, SealedKey: []byte{0, 9, 8, 7, 255}, CreatedAt: at(1000)}
	newer := &latch.StoredKey{ID: "newer-kid", Algorithm: "EdDSA", PublicKey: []byte{4, 5}, SealedKey: []byte{6}, CreatedAt: at(2000)}
	for _, k := range []*latch.StoredKey{older, newer} {
		must(t, "AddSigningKey", st.AddSigningKey(t.Context(), k))
	}
	dup := *older
	dup.SealedKey = []byte("overwrite")
	wantErr(t, "AddSigningKey(same id)", st.AddSigningKey(t.Context(), &dup), latch.ErrConflict)

	must(t, "SetSigningKeyRetired", st.SetSigningKeyRetired(t.Context(), older.ID, at(3000)))
	must(t, "SetSigningKeyRetired again", st.SetSigningKeyRetired(t.Context(), older.ID, at(4000)))
	wantErr(t, "SetSigningKeyRetired(unknown)", st.SetSigningKeyRetired(t.Context(), "no-such-kid", at(3000)), latch.ErrNotFound)

	retired := *older
	retired.RetiredAt = at(3000) // the first retirement time is kept
	ks, err := st.SigningKeys(t.Context())
	must(t, "SigningKeys", err)
	if diff := gocmp.Diff([]*latch.StoredKey{newer, &retired}, ks); diff != "" {
		t.Errorf("SigningKeys, newest first (-want +got):\n%s", diff)
	}
}

func testMeta(t *testing.T, st latch.Store) {
	_, err := st.Meta(t.Context(), "secret_fingerprint")
	wantErr(t, "Meta(absent)", err, latch.ErrNotFound)

	got, err := st.SetMetaIfAbsent(t.Context(), "secret_fingerprint", "first")
	if err != nil || got != "first" {
		t.Fatalf("SetMetaIfAbsent(first) = %q, %v; want first", got, err)
	}
	got, err = st.SetMetaIfAbsent(t.Context(), "secret_fingerprint", "second")
	if err != nil || got != "first" {
		t.Errorf("SetMetaIfAbsent(second) = %q, %v; want the stored first", got, err)
	}

	// Nodes starting together race to record the fingerprint: every one of
	// them must be told the same winner.
	const n = 20
	vals := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			v, err := st.SetMetaIfAbsent(t.Context(), "race", fmt.Sprint("node ", i))
			if err != nil {
				t.Errorf("SetMetaIfAbsent = %v", err)
			}
			vals[i] = v
		})
	}
	wg.Wait()
	stored, err := st.Meta(t.Context(), "race")
	must(t, "Meta", err)
	for i, v := range vals {
		if v != stored {
			t.Errorf("node %d was told %q, but %q is stored", i, v, stored)
		}
	}
	if v, err := st.Meta(t.Context(), "secret_fingerprint"); err != nil || v != "first" {
		t.Errorf("Meta = %q, %v; want first", v, err)
	}
}

func testPing(t *testing.T, st latch.Store) {
	must(t, "Ping", st.Ping(t.Context()))
}

// testMillisecondTimes pins the precision every store keeps: milliseconds,
// with anything finer truncated, whatever the time zone of the input.
func testMillisecondTimes(t *testing.T, st latch.Store) {
	in := time.Date(2026, 3, 1, 14, 30, 15, 123_456_789, time.FixedZone("UTC+5", 5*3600))
	want := time.Date(2026, 3, 1, 9, 30, 15, 123_000_000, time.UTC)
	u := &latch.User{ID: latch.UserID(uuid.NewString()), Email: "clock@example.com", PasswordHash: phc, CreatedAt: in}
	must(t, "CreateUser", st.CreateUser(t.Context(), u))
	if got := user(t, st, u.ID).CreatedAt; !got.Equal(want) {
		t.Errorf("CreatedAt stored %v, read %v; want %v", in, got, want)
	}
	s := newSession(t, st, u.ID, at(0))
	must(t, "RotateRefresh", st.RotateRefresh(t.Context(), s.ID, 0, hashOf("next"), in))
	if got := session(t, st, s.ID); !got.RotatedAt.Equal(want) || !got.LastSeenAt.Equal(want) {
		t.Errorf("RotatedAt %v, LastSeenAt %v; want %v", got.RotatedAt, got.LastSeenAt, want)
	}
	rev, err := st.RevokeSession(t.Context(), s.ID, latch.ReasonLogout, in.Add(time.Second))
	must(t, "RevokeSession", err)
	if w := want.Add(time.Second); !rev.At.Equal(w) || !session(t, st, s.ID).RevokedAt.Equal(w) {
		t.Errorf("revocation at %v, session RevokedAt %v; want %v", rev.At, session(t, st, s.ID).RevokedAt, w)
	}
}

// testFailClosedAfterClose checks that a store that cannot answer says so:
// an error, never an empty success or ErrNotFound that reads as "no such
// session".
func testFailClosedAfterClose(t *testing.T, st latch.Store) {
	u := newUser(t, st, "closed@example.com")
	s := newSession(t, st, u.ID, at(0))
	must(t, "Close", st.Close())
	if err := st.Ping(t.Context()); err == nil {
		t.Errorf("Ping after Close = nil, want an error")
	}
	if _, err := st.Session(t.Context(), s.ID); err == nil || isNotFound(err) {
		t.Errorf("Session after Close = %v, want an error other than ErrNotFound", err)
	}
	if _, err := st.RevokeSession(t.Context(), s.ID, latch.ReasonLogout, now); err == nil || isNotFound(err) {
		t.Errorf("RevokeSession after Close = %v, want an error other than ErrNotFound", err)
	}
	if _, err := st.UserByEmail(t.Context(), u.EmailKey()); err == nil || isNotFound(err) {
		t.Errorf("UserByEmail after Close = %v, want an error other than ErrNotFound", err)
	}
}

// testNULBytes: request text may carry NUL bytes (JSON "\u0000"), which
// some databases cannot store. A lookup by such a key is simply not found,
// and a failed login with such an email is still audited.
func testNULBytes(t *testing.T, st latch.Store) {
	const evil = "evil\x00@example.com"
	_, err := st.UserByEmail(t.Context(), evil)
	wantErr(t, "UserByEmail(NUL)", err, latch.ErrNotFound)
	_, err = st.UserByID(t.Context(), "id\x00")
	wantErr(t, "UserByID(NUL)", err, latch.ErrNotFound)
	_, err = st.Session(t.Context(), "id\x00")
	wantErr(t, "Session(NUL)", err, latch.ErrNotFound)
	_, err = st.RevokeSession(t.Context(), "id\x00", latch.ReasonLogout, now)
	wantErr(t, "RevokeSession(NUL)", err, latch.ErrNotFound)

	e := &latch.AuditEvent{At: now, Type: latch.AuditLoginFailed, Email: evil, UserAgent: "ua\x00", Outcome: latch.CodeInvalidCredentials}
	must(t, "AppendAudit(NUL)", st.AppendAudit(t.Context(), e))
	evs, err := st.AuditEvents(t.Context(), latch.AuditQuery{})
	must(t, "AuditEvents", err)
	if len(evs) != 1 || evs[0].ID != e.ID || evs[0].Type != latch.AuditLoginFailed {
		t.Errorf("AuditEvents = %+v, want the failed login", evs)
	}
}
