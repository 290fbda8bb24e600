package server

import (
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/latchauth/latch"
)

type credentialsRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type userResponse struct {
	ID        latch.UserID `json:"id"`
	Email     string       `json:"email"`
	CreatedAt timestamp    `json:"created_at"`
}

func newUserResponse(u *latch.User) *userResponse {
	if u == nil {
		return nil
	}
	return &userResponse{ID: u.ID, Email: u.Email, CreatedAt: jsonTime(u.CreatedAt)}
}

// timestamp is the form of every time in responses: UTC, millisecond
// precision (what the stores keep), always three fraction digits, so
// every time has one fixed width and sorts as text.
type timestamp time.Time

func jsonTime(t time.Time) timestamp { return timestamp(t.UTC().Truncate(time.Millisecond)) }

func (t timestamp) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(`"2006-01-02T15:04:05.000Z"`))
	b = append(b, '"')
	b = time.Time(t).AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	return append(b, '"'), nil
}

// tokenResponse is the body of signup, login and refresh. It follows the
// OAuth 2.0 token response (RFC 6749 §5.1) member names.
type tokenResponse struct {
	User         *userResponse   `json:"user,omitempty"`
	AccessToken  string          `json:"access_token"`
	TokenType    string          `json:"token_type"`
	ExpiresIn    int64           `json:"expires_in"`
	RefreshToken string          `json:"refresh_token"`
	SessionID    latch.SessionID `json:"session_id"`
}

// writeGrant sends tokens. Token responses must never be cached (RFC 6749 §5.1).
func writeGrant(w http.ResponseWriter, status int, g *latch.Grant) error {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	return encode(w, status, tokenResponse{
		User:         newUserResponse(g.User),
		AccessToken:  g.AccessToken,
		TokenType:    "Bearer",
		ExpiresIn:    int64(g.ExpiresIn / time.Second),
		RefreshToken: g.RefreshToken,
		SessionID:    g.Session.ID,
	})
}

func (s *Server) signup(w http.ResponseWriter, r *http.Request) error {
	req, err := decode[credentialsRequest](w, r)
	if err != nil {
		return err
	}
	g, err := s.latch.Signup(r.Context(), req.Email, req.Password, s.deviceOf(r))
	if err != nil {
		return err
	}
	logGrant(r, g)
	return writeGrant(w, http.StatusCreated, g)
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	req, err := decode[credentialsRequest](w, r)
	if err != nil {
		return err
	}
	g, err := s.latch.Login(r.Context(), req.Email, req.Password, s.deviceOf(r))
	if err != nil {
		return err
	}
	logGrant(r, g)
	return writeGrant(w, http.StatusOK, g)
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

func (s *Server) refresh(w http.ResponseWriter, r *http.Request) error {
	req, err := decode[refreshRequest](w, r)
	if err != nil {
		return err
	}
	if req.RefreshToken == "" {
		return &latch.Error{Kind: latch.KindInvalid, Code: latch.CodeValidationFailed, Field: "refresh_token", Message: "refresh_token is required"}
	}
	g, err := s.latch.Refresh(r.Context(), req.RefreshToken, s.deviceOf(r))
	if err != nil {
		return err
	}
	logGrant(r, g)
	return writeGrant(w, http.StatusOK, g)
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	u, err := s.latch.Me(r.Context(), principal(r))
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, newUserResponse(u))
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if err := rejectBody(r); err != nil {
		return err
	}
	q := r.URL.Query()
	if len(q["scope"]) > 1 {
		return &httpError{status: http.StatusBadRequest, code: "invalid_request", field: "scope", message: "scope given more than once"}
	}
	scope := latch.LogoutScope(q.Get("scope"))
	if err := s.latch.Logout(r.Context(), principal(r), scope, s.deviceOf(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type sessionResponse struct {
	ID           latch.SessionID `json:"id"`
	CreatedAt    timestamp       `json:"created_at"`
	LastSeenAt   timestamp       `json:"last_seen_at"`
	ExpiresAt    timestamp       `json:"expires_at"`
	IP           string          `json:"ip"`
	UserAgent    string          `json:"user_agent"`
	Current      bool            `json:"current"`
	Active       bool            `json:"active"`
	RevokedAt    *timestamp      `json:"revoked_at"`
	RevokeReason *string         `json:"revoke_reason"`
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) error {
	views, err := s.latch.Sessions(r.Context(), principal(r))
	if err != nil {
		return err
	}
	out := struct {
		Sessions []sessionResponse `json:"sessions"`
	}{Sessions: make([]sessionResponse, 0, len(views))}
	for _, v := range views {
		sr := sessionResponse{
			ID: v.ID, CreatedAt: jsonTime(v.CreatedAt), LastSeenAt: jsonTime(v.LastSeenAt), ExpiresAt: jsonTime(v.ExpiresAt),
			IP: v.IP, UserAgent: v.UserAgent, Current: v.Current, Active: v.EndedAt.IsZero(),
		}
		if !v.EndedAt.IsZero() {
			at, reason := jsonTime(v.EndedAt), string(v.EndReason)
			sr.RevokedAt, sr.RevokeReason = &at, &reason
		}
		out.Sessions = append(out.Sessions, sr)
	}
	return encode(w, http.StatusOK, out)
}

func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if !isCanonicalUUID(id) {
		return &latch.Error{Kind: latch.KindNotFound, Code: latch.CodeNotFound, Message: "no such session"}
	}
	if err := s.latch.RevokeSession(r.Context(), principal(r), latch.SessionID(id), s.deviceOf(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type passwordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	req, err := decode[passwordRequest](w, r)
	if err != nil {
		return err
	}
	if err := s.latch.ChangePassword(r.Context(), principal(r), req.CurrentPassword, req.NewPassword, s.deviceOf(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) jwks(w http.ResponseWriter, r *http.Request) error {
	// Short public caching: verifiers refetch on an unknown kid anyway.
	w.Header().Set("Cache-Control", "public, max-age=60")
	return encode(w, http.StatusOK, s.latch.KeySet().JWKS())
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	return encode(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz reports whether this node can serve: it is not shutting down, the
// store answers and the schema is current.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if s.draining.Load() {
		return &latch.Error{Kind: latch.KindUnavailable, Code: latch.CodeUnavailable, Message: "shutting down", RetryAfter: 1, Err: errDraining}
	}
	if err := s.store.Ping(r.Context()); err != nil {
		return &latch.Error{Kind: latch.KindUnavailable, Code: latch.CodeUnavailable, Message: "the database is unreachable", RetryAfter: 1, Err: err}
	}
	if s.ready != nil {
		if err := s.ready(r.Context()); err != nil {
			return &latch.Error{Kind: latch.KindUnavailable, Code: latch.CodeUnavailable, Message: "not ready: " + err.Error(), RetryAfter: 1, Err: err}
		}
	}
	return encode(w, http.StatusOK, map[string]string{"status": "ready"})
}

// errDraining marks the expected not-ready answer of a node that is
// shutting down (logged as information, not as a failure).
var errDraining = errors.New("draining")

// rejectBody refuses a body on endpoints that take none, so a client that
// thinks it is sending parameters learns it is not.
func rejectBody(r *http.Request) error {
	// Read rather than trust Content-Length: a chunked body has none.
	if n, _ := io.ReadFull(r.Body, make([]byte, 1)); n > 0 || r.ContentLength > 0 {
		return badRequest("invalid_request", "this endpoint takes no request body")
	}
	return nil
}
