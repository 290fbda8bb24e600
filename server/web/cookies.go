package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/token"
)

// cookieScheme fixes the names and attributes of latch's two cookies at
// start-up, from the public URL; request headers never change them.
//
//	https:                 __Host-latch_at, __Host-latch_rt  Secure; HttpOnly; SameSite=Lax; Path=/
//	http on loopback only: latch_at, latch_rt                HttpOnly; SameSite=Lax; Path=/
//
// Neither sets Domain, so they are host-only. The __Host- prefix makes the
// browser refuse the name unless Secure, Path=/ and no Domain, so a sibling
// subdomain cannot plant or shadow them.
type cookieScheme struct {
	access, refresh string
	secure          bool
}

func newCookieScheme(u *url.URL) (cookieScheme, error) {
	switch {
	case u.Scheme == "https":
		return cookieScheme{access: "__Host-latch_at", refresh: "__Host-latch_rt", secure: true}, nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return cookieScheme{access: "latch_at", refresh: "latch_rt"}, nil
	case u.Scheme == "http":
		return cookieScheme{}, fmt.Errorf("web: pages need an https public URL; plain http is allowed only on localhost, not %q", u.Host)
	}
	return cookieScheme{}, fmt.Errorf("web: public URL scheme %q is not http or https", u.Scheme)
}

// set is the only place latch writes cookies. With a grant it stores both
// tokens until the session's absolute expiry; with nil it expires both.
// Either way the name, Path, Domain, Secure, HttpOnly and SameSite are the
// same, so a browser replaces or deletes exactly the cookie it holds (C14).
// An earlier Set-Cookie for the same names in this response (a refresh
// before a sign-out) is dropped, so the browser sees one decision.
func (c cookieScheme) set(w http.ResponseWriter, g *latch.Grant, now time.Time) {
	access, refresh, maxAge := "", "", -1 // MaxAge<0 sends Max-Age=0: delete now
	if g != nil {
		access, refresh = g.AccessToken, g.RefreshToken
		// Max-Age, not Expires: relative, so a browser with a wrong clock
		// keeps the cookie exactly as long as the session lives.
		maxAge = max(1, int((g.Session.ExpiresAt.Sub(now)+time.Second-1)/time.Second))
	}
	h := w.Header()
	if old := h["Set-Cookie"]; len(old) > 0 {
		h["Set-Cookie"] = slices.DeleteFunc(slices.Clone(old), c.isOurs)
	}
	for _, ck := range []*http.Cookie{
		{Name: c.access, Value: access},
		{Name: c.refresh, Value: refresh},
	} {
		ck.Path, ck.MaxAge, ck.Secure, ck.HttpOnly, ck.SameSite = "/", maxAge, c.secure, true, http.SameSiteLaxMode
		h.Add("Set-Cookie", ck.String())
	}
}

// isOurs reports whether a Set-Cookie line names one of our cookies.
func (c cookieScheme) isOurs(line string) bool {
	name, _, _ := strings.Cut(line, "=")
	return name == c.access || name == c.refresh
}

// sessionCookies are the raw token values a request carried. Either may be
// empty. They are credentials: never log or echo them.
type sessionCookies struct {
	access, refresh string
}

// Errors from decode. Both mean "no usable browser session".
var (
	errDuplicateCookie = errors.New("web: session cookie sent more than once")
	errMalformedCookie = errors.New("web: malformed session cookie")
)

// maxRefreshCookie bounds a refresh token cookie; latch's are 85 bytes.
const maxRefreshCookie = 256

// decode finds latch's cookies in the request's Cookie header lines
// (RFC 6265 §5.4: "name=value" pairs separated by "; "). Other cookies are
// skipped whatever their form, so a stray cookie from another app on the
// same host never locks anyone out. Ours must appear at most once each
// (a second copy could only have been planted, since __Host- cookies have a
// single possible Domain and Path) and hold only token characters; the
// service then verifies them fully.
func (c cookieScheme) decode(lines []string) (sessionCookies, error) {
	var sc sessionCookies
	seenAccess, seenRefresh := false, false
	for _, line := range lines {
		for part := range strings.SplitSeq(line, ";") {
			name, value, ok := strings.Cut(strings.Trim(part, " \t"), "=")
			if !ok {
				continue
			}
			var dst *string
			switch name {
			case c.access:
				if seenAccess {
					return sessionCookies{}, errDuplicateCookie
				}
				seenAccess, dst = true, &sc.access
				if len(value) > token.MaxTokenBytes || !isTokenChars(value, true) {
					return sessionCookies{}, errMalformedCookie
				}
			case c.refresh:
				if seenRefresh {
					return sessionCookies{}, errDuplicateCookie
				}
				seenRefresh, dst = true, &sc.refresh
				if len(value) > maxRefreshCookie || !isTokenChars(value, false) {
					return sessionCookies{}, errMalformedCookie
				}
			default:
				continue
			}
			*dst = value
		}
	}
	return sc, nil
}

// isTokenChars reports whether s holds only base64url characters, and dots
// when dots is set (a compact JWS). Quotes, spaces and every byte a browser
// would not send unescaped are refused.
func isTokenChars(s string, dots bool) bool {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !('A' <= b && b <= 'Z' || 'a' <= b && b <= 'z' || '0' <= b && b <= '9' || b == '-' || b == '_' || dots && b == '.') {
			return false
		}
	}
	return true
}

// read decodes the request's cookies.
func (c cookieScheme) read(r *http.Request) (sessionCookies, error) {
	return c.decode(r.Header.Values("Cookie"))
}
