package latch

import "sync"

// hub wakes subscribers when revocations may have been committed. Values
// are coalesced: a subscriber that is slow to read sees one wake-up for many
// revocations and reads them all with Store.RevocationsAfter.
type hub struct {
	mu   sync.Mutex
	subs map[chan struct{}]struct{}
}

func (h *hub) subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	if h.subs == nil {
		h.subs = make(map[chan struct{}]struct{})
	}
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.subs, ch)
		h.mu.Unlock()
	}
}

func (h *hub) wake() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
}

// SubscribeRevocations returns a channel that receives a value whenever a
// revocation may have been committed: at once for revocations this service
// makes, and for other processes and nodes as soon as the revocation
// follower learns of them. Read what changed with Store.RevocationsAfter.
// Call cancel when done.
func (s *Service) SubscribeRevocations() (ch <-chan struct{}, cancel func()) {
	return s.revHub.subscribe()
}

// Store returns the service's store, for adapters that read events
// (the revocation feed) directly.
func (s *Service) Store() Store { return s.store }
