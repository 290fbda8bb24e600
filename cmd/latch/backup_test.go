package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchauth/latch/sqlite"
)

// Backups taken while the server keeps writing are consistent snapshots
// and usable: a server started on one accepts a token issued before it.
func TestBackupWhileServing(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "latch.db")
	s := launch(t, "--db", db)
	code, m := call(t, "POST", s.base+"/v1/signup", `{"email":"keeper@example.com","password":"correct horse battery"}`, "")
	if code != 201 {
		t.Fatalf("signup = %d", code)
	}
	keeper := m["access_token"].(string)

	// Writers: rotate refresh tokens, and log in and out (each logout
	// revokes a session and appends a revocation event in one transaction).
	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var writes atomic.Int64
	for w := range 2 {
		wg.Go(func() {
			email := "writer" + strconv.Itoa(w) + "@example.com"
			_, m := call(t, "POST", s.base+"/v1/signup", `{"email":"`+email+`","password":"correct horse battery"}`, "")
			rt := m["refresh_token"].(string)
			for i := 0; ctx.Err() == nil && i < 2000; i++ {
				if i%10 == 9 {
					code, m := call(t, "POST", s.base+"/v1/login", `{"email":"`+email+`","password":"correct horse battery"}`, "")
					if code == 200 {
						call(t, "POST", s.base+"/v1/logout", "", m["access_token"].(string))
					}
				} else {
					code, m := call(t, "POST", s.base+"/v1/refresh", `{"refresh_token":"`+rt+`"}`, "")
					if code != 200 {
						t.Errorf("refresh = %d %v", code, m)
						return
					}
					rt = m["refresh_token"].(string)
				}
				writes.Add(1)
			}
		})
	}
	var backups []string
	for i := range 3 {
		for start, deadline := writes.Load(), time.Now().Add(20*time.Second); writes.Load() < start+20; {
			if time.Now().After(deadline) {
				t.Fatal("the writers stalled")
			}
			time.Sleep(5 * time.Millisecond)
		}
		to := filepath.Join(dir, "backup-"+strconv.Itoa(i)+".db")
		out, err := cli(t, dir, "", "backup", "--to", to)
		if err != nil || !strings.Contains(out, "integrity and schema verified") {
			t.Fatalf("backup: %v\n%s", err, out)
		}
		backups = append(backups, to)
	}
	stop()
	wg.Wait()
	t.Logf("%d writes while 3 backups were taken", writes.Load())

	for _, b := range backups {
		if fi, err := os.Stat(b); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v; want 0600", b, fi.Mode(), err)
		}
		if err := sqlite.Verify(t.Context(), b); err != nil {
			t.Fatal(err)
		}
		// A snapshot never holds half a transaction: every revoked session
		// has its revocation event, and every event its revoked session.
		st, err := sqlite.Open(t.Context(), b)
		if err != nil {
			t.Fatal(err)
		}
		var revoked, events int
		st.DB().QueryRow(`SELECT count(*) FROM sessions WHERE revoked_at IS NOT NULL`).Scan(&revoked)
		st.DB().QueryRow(`SELECT count(*) FROM revocations`).Scan(&events)
		st.Close()
		if revoked != events {
			t.Errorf("%s: %d revoked sessions but %d revocation events", b, revoked, events)
		}
	}
	if err := s.stop(t); err != nil {
		t.Fatal(err)
	}

	// The last backup serves: same secret, and the keeper's token works.
	restored := filepath.Join(dir, "restored")
	os.Mkdir(restored, 0o700)
	if err := os.Rename(backups[2], filepath.Join(restored, "latch.db")); err != nil {
		t.Fatal(err)
	}
	r := launch(t, "--db", filepath.Join(restored, "latch.db"), "--secret-file", filepath.Join(dir, "latch.secret"))
	if code, m := call(t, "GET", r.base+"/v1/me", "", keeper); code != 200 || m["email"] != "keeper@example.com" {
		t.Fatalf("me on the restored backup = %d %v", code, m)
	}

	// The target must not exist: a backup never overwrites.
	if _, err := cli(t, dir, "", "backup", "--to", backups[0]); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("backup over an existing file: %v", err)
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, ".backup-*")); len(matches) > 0 {
		t.Errorf("temporary files left behind: %v", matches)
	}
}
