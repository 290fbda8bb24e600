package postgres_test

import (
	"errors"
	"testing"
	"time"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/postgres"
)

// The client store and the replay index, on PostgreSQL (SQLite's are
// exercised through the service tests).
func TestClientsAndReplayStart(t *testing.T) {
	t.Parallel()
	st, _ := open(t, postgres.Options{})
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	c := &latch.Client{Name: "notes", SecretHash: latch.HashSecret([]byte("s")), CreatedAt: now}
	if err := st.CreateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateClient(ctx, c); !errors.Is(err, latch.ErrConflict) {
		t.Errorf("CreateClient(duplicate) = %v, want ErrConflict", err)
	}
	got, err := st.ClientByName(ctx, "notes")
	if err != nil || got.Name != "notes" || !got.SecretHash.Equal(c.SecretHash) || !got.CreatedAt.Equal(now) {
		t.Fatalf("ClientByName = %+v, %v", got, err)
	}
	if list, err := st.ListClients(ctx); err != nil || len(list) != 1 {
		t.Fatalf("ListClients = %v, %v", list, err)
	}
	if err := st.DeleteClient(ctx, "notes"); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{st.DeleteClient(ctx, "notes"), func() error { _, err := st.ClientByName(ctx, "notes"); return err }()} {
		if !errors.Is(err, latch.ErrNotFound) {
			t.Errorf("after delete: %v, want ErrNotFound", err)
		}
	}
	if after, err := st.RevocationReplayStart(ctx, now); err != nil || after != 0 {
		t.Errorf("RevocationReplayStart on no revocations = %d, %v", after, err)
	}
}
