package main

import (
	"encoding/json"
	"net/http"
	"sync"

	"github.com/latchauth/latch/guard"
)

// api keeps notes in memory, per user.
type api struct {
	guard *guard.Guard
	mu    sync.Mutex
	notes map[string][]string // user id → notes
}

func newAPI(g *guard.Guard) http.Handler {
	a := &api{guard: g, notes: make(map[string][]string)}
	mux := http.NewServeMux()
	mux.Handle("GET /notes", g.Require(http.HandlerFunc(a.list)))
	mux.Handle("POST /notes", g.Require(http.HandlerFunc(a.add)))
	mux.HandleFunc("GET /readyz", a.ready)
	return mux
}

func (a *api) list(w http.ResponseWriter, r *http.Request) {
	c, _ := guard.ClaimsFrom(r.Context())
	a.mu.Lock()
	notes := append([]string{}, a.notes[c.Subject]...)
	a.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"notes": notes})
}

func (a *api) add(w http.ResponseWriter, r *http.Request) {
	c, _ := guard.ClaimsFrom(r.Context())
	var req struct {
		Text string `json:"text"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10)).Decode(&req); err != nil || req.Text == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "send {\"text\":\"…\"}"})
		return
	}
	a.mu.Lock()
	a.notes[c.Subject] = append(a.notes[c.Subject], req.Text)
	a.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]string{"text": req.Text})
}

// ready reports whether guard is current with latch's revocations.
func (a *api) ready(w http.ResponseWriter, r *http.Request) {
	if !a.guard.Status().Current {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not current with latch"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
