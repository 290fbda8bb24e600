package guard

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/latchauth/latch/token"
)

const (
	// keyRefetchEvery rate-limits JWKS fetches caused by an unknown kid, so
	// tokens with made-up key ids cannot make guard hammer latch.
	keyRefetchEvery = time.Second
	// keyMaxAge bounds how long a fetched key set is used without a check,
	// so a key latch withdrew stops verifying here too.
	keyMaxAge    = 5 * time.Minute
	fetchTimeout = 5 * time.Second
	maxJWKSBytes = 1 << 20
)

// keyCache holds latch's verification keys from its JWKS. It implements
// token.KeyLookup for access tokens and SETs alike.
type keyCache struct {
	url    string
	client *http.Client

	set atomic.Pointer[token.KeySet]

	mu        sync.Mutex
	inflight  chan struct{} // closed when the running fetch ends
	lastFetch time.Time
	lastErr   error
}

// PublicKey implements token.KeyLookup.
func (k *keyCache) PublicKey(kid string) (ed25519.PublicKey, bool) {
	ks := k.set.Load()
	if ks == nil {
		return nil, false
	}
	return ks.PublicKey(kid)
}

func (k *keyCache) loaded() bool { return k.set.Load() != nil }

var errRateLimited = errors.New("guard: JWKS fetched moments ago")

// refresh fetches the JWKS unless a fetch ran within keyRefetchEvery (then
// it returns errRateLimited). Callers arriving during a fetch wait for it
// instead of starting another.
func (k *keyCache) refresh(ctx context.Context) error {
	k.mu.Lock()
	if ch := k.inflight; ch != nil {
		k.mu.Unlock()
		select {
		case <-ch:
			k.mu.Lock()
			defer k.mu.Unlock()
			return k.lastErr
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// Real elapsed time, not the injected clock: this limits load on latch.
	if !k.lastFetch.IsZero() && time.Since(k.lastFetch) < keyRefetchEvery {
		k.mu.Unlock()
		return errRateLimited
	}
	ch := make(chan struct{})
	k.inflight, k.lastFetch = ch, time.Now()
	k.mu.Unlock()

	err := k.fetch(ctx)

	k.mu.Lock()
	k.inflight, k.lastErr = nil, err
	k.mu.Unlock()
	close(ch)
	return err
}

func (k *keyCache) fetch(ctx context.Context) error {
	// The fetch serves everyone waiting, so one caller's cancellation
	// must not fail it for the rest.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", k.url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return fmt.Errorf("guard: fetch JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("guard: fetch JWKS: status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes))
	if err != nil {
		return fmt.Errorf("guard: fetch JWKS: %w", err)
	}
	ks, err := token.ParseJWKS(body)
	if err != nil {
		return err
	}
	k.set.Store(ks)
	return nil
}

// keepFresh refetches the key set every keyMaxAge until ctx ends.
func (k *keyCache) keepFresh(ctx context.Context, logf func(error)) {
	t := time.NewTicker(keyMaxAge)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := k.refresh(ctx); err != nil && !errors.Is(err, errRateLimited) {
				logf(err)
			}
		}
	}
}
