package server

import (
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/token"
)

// The standard OAuth endpoints answer in their RFCs' formats, not problem
// JSON: errors are RFC 6749 §5.2 {"error","error_description"} objects. This
// is the one documented exception to latch's error envelope (docs/api.md).

// oauthError is an RFC 6749 §5.2 error response.
type oauthError struct {
	status      int
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

func (e *oauthError) Error() string { return e.Code + ": " + e.Description }

func invalidRequest(desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, Code: "invalid_request", Description: desc}
}

// oauth adapts a handler whose errors are written in RFC 6749 §5.2 form.
func (s *Server) oauth(h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		oe, ok := errors.AsType[*oauthError](err)
		if !ok {
			oe = &oauthError{status: http.StatusInternalServerError, Code: "server_error"}
			if le, isLatch := errors.AsType[*latch.Error](err); isLatch {
				switch le.Kind {
				case latch.KindUnauthenticated:
					oe = &oauthError{status: http.StatusUnauthorized, Code: "invalid_client", Description: "client authentication failed"}
				case latch.KindUnavailable:
					oe = &oauthError{status: http.StatusServiceUnavailable, Code: "temporarily_unavailable", Description: le.Message}
					w.Header().Set("Retry-After", strconv.Itoa(max(le.RetryAfter, 1)))
				}
			}
			if oe.status >= 500 {
				s.logger.LogAttrs(r.Context(), slog.LevelError, "request failed", slog.Any("err", err))
			}
		}
		if oe.status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", basicChallenge)
		}
		encode(w, oe.status, oe)
	})
}

// parseForm reads an application/x-www-form-urlencoded body. Parameters may
// appear at most once (RFC 6749 §3.2); client credentials go in the
// Authorization header only, since a client may use one method (§2.3).
func parseForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, invalidRequest("the request body must be application/x-www-form-urlencoded")
	}
	if encoded(r) {
		return nil, invalidRequest(errContentEncoding.message)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		return nil, invalidRequest("the request body could not be read or is over 64 KiB")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, invalidRequest("the request body is not valid form encoding")
	}
	for name, vals := range form {
		if len(vals) > 1 {
			return nil, invalidRequest("parameter " + quote(name) + " appears more than once")
		}
	}
	if form.Has("client_secret") || form.Has("client_id") {
		return nil, invalidRequest("send client credentials with HTTP Basic (client_secret_basic), not in the body")
	}
	if form.Get("token") == "" {
		return nil, invalidRequest("the token parameter is required")
	}
	return form, nil
}

// introspectionResponse is RFC 7662 §2.2. Inactive tokens get only
// {"active":false}: every other member is omitted.
type introspectionResponse struct {
	Active    bool    `json:"active"`
	TokenType string  `json:"token_type,omitempty"`
	Issuer    string  `json:"iss,omitempty"`
	Audience  string  `json:"aud,omitempty"`
	Subject   string  `json:"sub,omitempty"`
	SessionID string  `json:"sid,omitempty"`
	ID        string  `json:"jti,omitempty"`
	Gen       *uint64 `json:"gen,omitempty"`
	IssuedAt  int64   `json:"iat,omitempty"`
	ExpiresAt int64   `json:"exp,omitempty"`
	ClientID  string  `json:"client_id,omitempty"`
}

func (s *Server) introspect(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authenticateClient(r)
	if err != nil {
		return err
	}
	form, err := parseForm(w, r)
	if err != nil {
		return err
	}
	in, err := s.latch.Introspect(r.Context(), c, form.Get("token"))
	if err != nil {
		return err
	}
	resp := introspectionResponse{Active: in.Active}
	if in.Active {
		gen := in.Generation
		resp = introspectionResponse{
			Active: true, TokenType: in.TokenType, Issuer: s.latch.Issuer(), Subject: string(in.UserID),
			SessionID: string(in.SessionID), ID: in.ID, Gen: &gen, ExpiresAt: in.ExpiresAt.Unix(), ClientID: c.Name,
		}
		if in.TokenType == latch.TokenTypeAccess {
			resp.Audience = s.latch.Audience()
		}
		if !in.IssuedAt.IsZero() {
			resp.IssuedAt = in.IssuedAt.Unix()
		}
	}
	return encode(w, http.StatusOK, resp)
}

// revoke is RFC 7009: 200 with an empty body whether or not the token was
// known, so the endpoint tells a caller nothing about foreign tokens.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authenticateClient(r)
	if err != nil {
		return err
	}
	form, err := parseForm(w, r)
	if err != nil {
		return err
	}
	// token_type_hint is optional and needs no lookup: the two token types
	// have disjoint formats. Unknown hints are ignored (RFC 7009 §2.1).
	if err := s.latch.RevokeToken(r.Context(), c, form.Get("token")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// metadata is the RFC 8414 subset latch implements. latch has no
// authorization or token endpoint (sign-in is its own JSON API), so the
// members about those are absent.
type metadata struct {
	Issuer                   string   `json:"issuer"`
	JWKSURI                  string   `json:"jwks_uri"`
	IntrospectionEndpoint    string   `json:"introspection_endpoint"`
	IntrospectionAuthMethods []string `json:"introspection_endpoint_auth_methods_supported"`
	RevocationEndpoint       string   `json:"revocation_endpoint"`
	RevocationAuthMethods    []string `json:"revocation_endpoint_auth_methods_supported"`
	AccessTokenSigningAlgs   []string `json:"access_token_signing_alg_values_supported"`
	EventsEndpoint           string   `json:"latch_events_endpoint"`
	EventsSigningAlgs        []string `json:"latch_events_signing_alg_values_supported"`
	EventsAuthMethods        []string `json:"latch_events_endpoint_auth_methods_supported"`
}

func (s *Server) metadata(w http.ResponseWriter, r *http.Request) error {
	iss := s.latch.Issuer()
	basic := []string{"client_secret_basic"}
	algs := []string{token.Algorithm}
	w.Header().Set("Cache-Control", "public, max-age=300")
	return encode(w, http.StatusOK, metadata{
		Issuer: iss, JWKSURI: iss + "/.well-known/jwks.json",
		IntrospectionEndpoint: iss + "/v1/introspect", IntrospectionAuthMethods: basic,
		RevocationEndpoint: iss + "/v1/revoke", RevocationAuthMethods: basic,
		AccessTokenSigningAlgs: algs,
		EventsEndpoint:         iss + "/v1/events", EventsSigningAlgs: algs, EventsAuthMethods: basic,
	})
}
