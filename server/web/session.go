package web

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/latchauth/latch"
)

// errSignedOut means the request carries no usable session: Private expires
// the cookies and sends the browser to /login.
var errSignedOut = errors.New("web: no live browser session")

// session authenticates a page request from its cookies. An access token
// that has expired, been superseded or cannot be read is exchanged through
// Service.Refresh, with the very rotation and reuse rules of POST
// /v1/refresh: a stale refresh cookie replayed after rotation revokes the
// session. New cookies are set on w before the page runs.
//
// Only an authentication failure signs the browser out; when the store
// cannot answer, the error is returned and the cookies stay (fail closed,
// but do not forget a session that may be fine).
func (h *Handler) session(w http.ResponseWriter, r *http.Request) (*latch.Principal, error) {
	ctx := r.Context()
	c, err := h.cookies.read(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errSignedOut, err)
	}
	if c.access != "" {
		p, err := h.svc.Authenticate(ctx, c.access)
		if err == nil {
			return p, nil
		}
		if !refreshable(err) {
			return nil, signedOutIf(err)
		}
	}
	if c.refresh == "" {
		return nil, errSignedOut
	}
	g, err := h.svc.Refresh(ctx, c.refresh, h.device(r))
	if err != nil {
		return nil, signedOutIf(err)
	}
	h.cookies.set(w, g, h.now())
	p, err := h.svc.Authenticate(ctx, g.AccessToken)
	if err != nil {
		return nil, signedOutIf(err)
	}
	return p, nil
}

// refreshable reports whether an Authenticate failure may be cured by the
// refresh token. A revoked, expired or disabled session cannot be, and
// asking would only cost a store read.
func refreshable(err error) bool {
	e, ok := errors.AsType[*latch.Error](err)
	if !ok || e.Kind != latch.KindUnauthenticated {
		return false
	}
	switch e.Code {
	case latch.CodeSessionRevoked, latch.CodeSessionExpired:
		return false
	}
	return true
}

// signedOutIf turns an authentication failure into errSignedOut and leaves
// every other error (store unavailable, hashing busy) as it is.
func signedOutIf(err error) error {
	if e, ok := errors.AsType[*latch.Error](err); ok && e.Kind == latch.KindUnauthenticated {
		return fmt.Errorf("%w: %w", errSignedOut, err)
	}
	return err
}
