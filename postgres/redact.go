package postgres

import (
	"net/url"
	"strings"
)

// IsURL reports whether dsn names a PostgreSQL database rather than a file.
func IsURL(dsn string) bool {
	l := strings.ToLower(dsn)
	return strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://")
}

// Redact returns the URL fit for logs and error messages: any password,
// in the user info or in a password query parameter, becomes "xxxxx". A URL
// that does not parse is replaced whole, since its password cannot be found.
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://(unparsable URL, redacted)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	changed := false
	for k := range q {
		if isPasswordParam(k) {
			q.Set(k, "xxxxx")
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// scrub removes the URL's passwords from an error message, for errors that
// quote the connection string or its settings. If the URL does not parse,
// the passwords cannot be found, and the message is withheld.
func scrub(msg, dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "the database URL does not parse (details withheld: it may contain a password)"
	}
	var pws []string
	if pw, ok := u.User.Password(); ok && pw != "" {
		pws = append(pws, pw, url.QueryEscape(pw), url.PathEscape(pw))
	}
	for k, vs := range u.Query() {
		if isPasswordParam(k) {
			for _, v := range vs {
				if v != "" {
					pws = append(pws, v, url.QueryEscape(v))
				}
			}
		}
	}
	for _, pw := range pws {
		msg = strings.ReplaceAll(msg, pw, "xxxxx")
	}
	return msg
}

func isPasswordParam(k string) bool {
	k = strings.ToLower(k)
	return k == "password" || k == "sslpassword"
}

// scrubbedError shows a scrubbed message but keeps the cause for errors.Is
// (a cancelled context, a refused connection). Only errors whose own text
// carries no password (pgx connect errors name host, user and database) are
// kept as causes; parse errors are reduced to their scrubbed text.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }
