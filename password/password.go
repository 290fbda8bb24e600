// Package password hashes and checks passwords with argon2id
// (golang.org/x/crypto/argon2), stored as PHC strings so parameters can be
// raised later, and bounds how many hashes run at once so a login flood
// queues briefly and is then refused instead of exhausting memory.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"
)

// Normalize returns the form of a password that is hashed and compared:
// Unicode NFKC, as NIST SP 800-63B asks of verifiers that accept Unicode.
// One visible password has several encodings ("é" precomposed, or "e"
// and a combining accent; fullwidth digits from an input method), and
// which one a keyboard, browser or phone sends is not up to the user.
// Hash and Verify apply it; callers need not.
func Normalize(password string) string { return norm.NFKC.String(password) }

// Params are argon2id cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
}

// OWASP's minimum for argon2id (Password Storage Cheat Sheet): 19 MiB, 2 passes, 1 lane.
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1}

// Bounds on parameters read back from a stored hash, so a corrupted or
// hostile row cannot make one verification allocate gigabytes.
const (
	maxMemory  = 1 << 20 // 1 GiB
	maxTime    = 64
	maxThreads = 16
	saltLen    = 16
	keyLen     = 32
)

// Errors.
var (
	// ErrBusy means every hashing slot stayed taken for the whole queue wait.
	ErrBusy = errors.New("password: hashing capacity exhausted")
	// ErrMalformedHash means a stored hash is not a PHC argon2id string latch can read.
	ErrMalformedHash = errors.New("password: malformed hash")
)

// Hasher hashes and verifies passwords. At most Slots hashes run at once;
// a caller waits up to QueueWait for a slot and at most MaxQueue callers wait.
type Hasher struct {
	params    Params
	slots     chan struct{}
	queue     chan struct{}
	queueWait time.Duration
	rand      io.Reader
}

// Options configure a Hasher. Zero values take the defaults.
type Options struct {
	Params    Params        // default DefaultParams
	Slots     int           // concurrent hashes; default runtime.NumCPU()
	MaxQueue  int           // callers waiting for a slot; default 64 per slot
	QueueWait time.Duration // default 2s
	Rand      io.Reader     // salt source; default crypto/rand
}

// New returns a Hasher.
func New(o Options) *Hasher {
	if o.Params == (Params{}) {
		o.Params = DefaultParams
	}
	if o.Slots <= 0 {
		o.Slots = runtime.NumCPU()
	}
	if o.MaxQueue <= 0 {
		o.MaxQueue = 64 * o.Slots
	}
	if o.QueueWait <= 0 {
		o.QueueWait = 2 * time.Second
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	return &Hasher{
		params:    o.Params,
		slots:     make(chan struct{}, o.Slots),
		queue:     make(chan struct{}, o.Slots+o.MaxQueue),
		queueWait: o.QueueWait,
		rand:      o.Rand,
	}
}

// Params returns the parameters new hashes use.
func (h *Hasher) Params() Params { return h.params }

// acquire takes a hashing slot, waiting at most queueWait. The queue channel
// caps how many callers may wait at all: beyond it, refuse at once.
func (h *Hasher) acquire(ctx context.Context) (release func(), err error) {
	select {
	case h.queue <- struct{}{}:
	default:
		return nil, ErrBusy
	}
	t := time.NewTimer(h.queueWait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		return func() { <-h.slots; <-h.queue }, nil
	case <-t.C:
		<-h.queue
		return nil, ErrBusy
	case <-ctx.Done():
		<-h.queue
		return nil, ctx.Err()
	}
}

// Hash returns the PHC string of password under the current parameters.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := io.ReadFull(h.rand, salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	release, err := h.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	key := argon2.IDKey([]byte(Normalize(password)), salt, h.params.Time, h.params.Memory, h.params.Threads, keyLen)
	return encode(h.params, salt, key), nil
}

// Verify reports whether password matches encoded, and whether encoded uses
// weaker parameters than the current ones (rehash it after a successful check).
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok, rehash bool, err error) {
	p, salt, want, err := decode(encoded)
	if err != nil {
		return false, false, err
	}
	release, err := h.acquire(ctx)
	if err != nil {
		return false, false, err
	}
	defer release()
	got := argon2.IDKey([]byte(Normalize(password)), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	ok = subtle.ConstantTimeCompare(got, want) == 1
	rehash = p.Memory < h.params.Memory || p.Time < h.params.Time || p.Threads < h.params.Threads || len(want) < keyLen
	return ok, rehash, nil
}

var b64 = base64.RawStdEncoding.Strict()

// encode formats $argon2id$v=19$m=...,t=...,p=...$salt$key.
func encode(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

func decode(s string) (p Params, salt, key []byte, err error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, ErrMalformedHash
	}
	var m, t, par uint64
	for i, kv := range strings.Split(parts[3], ",") {
		name, val, _ := strings.Cut(kv, "=")
		n, perr := strconv.ParseUint(val, 10, 32)
		if perr != nil || name != [...]string{"m", "t", "p"}[min(i, 2)] || i > 2 {
			return p, nil, nil, ErrMalformedHash
		}
		switch i {
		case 0:
			m = n
		case 1:
			t = n
		case 2:
			par = n
		}
	}
	if m < 8 || m > maxMemory || t < 1 || t > maxTime || par < 1 || par > maxThreads {
		return p, nil, nil, ErrMalformedHash
	}
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return p, nil, nil, ErrMalformedHash
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, ErrMalformedHash
	}
	return Params{Memory: uint32(m), Time: uint32(t), Threads: uint8(par)}, salt, key, nil
}
