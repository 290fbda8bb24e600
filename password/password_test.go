package password

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var cheap = Params{Memory: 64, Time: 1, Threads: 1}

func TestDefaultParamsMeetOWASP(t *testing.T) {
	if DefaultParams.Memory < 19*1024 || DefaultParams.Time < 2 || DefaultParams.Threads < 1 {
		t.Fatalf("DefaultParams %+v below OWASP m=19MiB t=2 p=1", DefaultParams)
	}
}

func TestHashVerify(t *testing.T) {
	h := New(Options{Params: cheap})
	enc, err := h.Hash(t.Context(), "hunter2hunter2")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("PHC string = %q", enc)
	}
	if ok, rehash, err := h.Verify(t.Context(), "hunter2hunter2", enc); !ok || rehash || err != nil {
		t.Fatalf("Verify(right) = %v %v %v", ok, rehash, err)
	}
	if ok, _, err := h.Verify(t.Context(), "hunter2hunter3", enc); ok || err != nil {
		t.Fatalf("Verify(wrong) = %v %v", ok, err)
	}
	enc2, _ := h.Hash(t.Context(), "hunter2hunter2")
	if enc == enc2 {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
	stronger := New(Options{Params: Params{Memory: 128, Time: 1, Threads: 1}})
	if ok, rehash, _ := stronger.Verify(t.Context(), "hunter2hunter2", enc); !ok || !rehash {
		t.Fatalf("stronger hasher: ok=%v rehash=%v, want true true", ok, rehash)
	}
}

func TestMalformedHashes(t *testing.T) {
	h := New(Options{Params: cheap})
	good, _ := h.Hash(t.Context(), "password123")
	parts := strings.Split(good, "$")
	for _, bad := range []string{
		"",
		"plaintext",
		"$argon2i$v=19$m=64,t=1,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=18$m=64,t=1,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=99999999,t=1,p=1$" + parts[4] + "$" + parts[5], // would allocate ~100 GiB
		"$argon2id$v=19$m=64,t=1000,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=64,t=1,p=0$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$t=1,m=64,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=64,t=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=64,t=1,p=1,x=2$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=64,t=1,p=1$!!$" + parts[5],
		"$argon2id$v=19$m=64,t=1,p=1$" + parts[4] + "$",
	} {
		if _, _, err := h.Verify(t.Context(), "password123", bad); !errors.Is(err, ErrMalformedHash) {
			t.Errorf("Verify(%q) = %v, want ErrMalformedHash", bad, err)
		}
	}
}

// A flood queues briefly, then is refused: memory stays bounded.
func TestBoundedConcurrency(t *testing.T) {
	h := New(Options{Params: cheap, Slots: 1, MaxQueue: 1, QueueWait: 20 * time.Millisecond})
	release, err := h.acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// One caller may wait, and times out.
	start := time.Now()
	if _, err := h.Hash(t.Context(), "password123"); !errors.Is(err, ErrBusy) {
		t.Fatalf("Hash while busy = %v, want ErrBusy", err)
	}
	if d := time.Since(start); d < 15*time.Millisecond {
		t.Errorf("gave up after %v, want to queue ~20ms first", d)
	}
	// With the queue full, the next caller is refused at once.
	waiter := make(chan error, 1)
	go func() { _, err := h.Hash(t.Context(), "password123"); waiter <- err }()
	time.Sleep(5 * time.Millisecond)
	if _, err := h.Hash(t.Context(), "password123"); !errors.Is(err, ErrBusy) {
		t.Fatalf("Hash with full queue = %v, want ErrBusy", err)
	}
	release()
	if err := <-waiter; err != nil && !errors.Is(err, ErrBusy) {
		t.Fatal(err)
	}
	if _, err := h.Hash(t.Context(), "password123"); err != nil {
		t.Fatalf("Hash after release = %v", err)
	}
}
