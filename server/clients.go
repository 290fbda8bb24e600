package server

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"github.com/latchauth/latch"
)

// basicChallenge is the challenge of every failed client authentication
// (RFC 6749 §2.3.1, RFC 7617).
const basicChallenge = `Basic realm="latch", charset="UTF-8"`

// clientCredentials reads client_secret_basic credentials: one Authorization
// header, scheme Basic, base64 of id ":" secret, each form-urlencoded first
// (RFC 6749 §2.3.1). ok is false when there are no Basic credentials at all.
func clientCredentials(r *http.Request) (id, secret string, ok bool) {
	vals := r.Header.Values("Authorization")
	if len(vals) != 1 {
		return "", "", false
	}
	scheme, rest, _ := strings.Cut(vals[0], " ")
	if !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSpace(rest))
	if err != nil {
		return "", "", false
	}
	encID, encSecret, found := strings.Cut(string(raw), ":")
	if !found {
		return "", "", false
	}
	id, err1 := url.QueryUnescape(encID)
	secret, err2 := url.QueryUnescape(encSecret)
	if err1 != nil || err2 != nil || id == "" {
		return "", "", false
	}
	return id, secret, true
}

// authenticateClient returns the calling client or an invalid_client error.
// Missing and wrong credentials are the same error: both get the Basic
// challenge.
func (s *Server) authenticateClient(r *http.Request) (*latch.Client, error) {
	id, secret, ok := clientCredentials(r)
	if !ok {
		return nil, &latch.Error{Kind: latch.KindUnauthenticated, Code: latch.CodeInvalidClient,
			Message: "this endpoint requires client credentials (HTTP Basic with a client name and secret)"}
	}
	c, err := s.latch.AuthenticateClient(r.Context(), id, secret)
	if err != nil {
		return nil, err
	}
	infoFrom(r.Context()).client = c.Name
	return c, nil
}
