package token

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/latchauth/latch/internal/strictjson"
)

// SETType is the JOSE "typ" of Security Event Tokens (RFC 8417 §2.3).
const SETType = "secevent+jwt"

// EventSessionRevoked is the OpenID CAEP 1.0 session-revoked event type.
const EventSessionRevoked = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"

// SessionRevoked is a CAEP session-revoked event carried in a Security Event
// Token (RFC 8417). On the wire its subject is a complex subject identifier
// (RFC 9493 §3.3, as SSF 1.0 places it in the top-level sub_id claim): the
// session in opaque format, the user in iss_sub format, so a receiver matches
// them to an access token's sid, iss and sub without knowing latch.
//
//	{"iss":…,"aud":…,"jti":…,"iat":…,
//	 "sub_id":{"format":"complex",
//	           "session":{"format":"opaque","id":<sid>},
//	           "user":{"format":"iss_sub","iss":<iss>,"sub":<user id>}},
//	 "events":{"https://schemas.openid.net/secevent/caep/event-type/session-revoked":
//	           {"event_timestamp":…,"initiating_entity":…,
//	            "reason_admin":{"en":<reason code>},"reason_user":{"en":<text>}}}}
type SessionRevoked struct {
	Issuer    string    // iss
	Audience  string    // aud: the receiver
	ID        string    // jti
	IssuedAt  time.Time // iat: when the SET was signed
	SessionID string    // the session that ended (an access token's sid)
	UserID    string    // its user (an access token's sub)
	EventTime time.Time // event_timestamp: when the session ended
	// InitiatingEntity is "admin", "user", "policy" or "system" (CAEP §2).
	InitiatingEntity string
	// Reason is a stable machine-readable code (reason_admin, "en"), and
	// ReasonUser a sentence for end users (reason_user, "en"); both optional.
	Reason, ReasonUser string
}

type subjectWire struct {
	Format  *string      `json:"format"`
	ID      *string      `json:"id,omitempty"`
	Iss     *string      `json:"iss,omitempty"`
	Sub     *string      `json:"sub,omitempty"`
	Session *subjectWire `json:"session"`
	User    *subjectWire `json:"user"`
}

// complexSubject is the wire form of the complex sub_id, member by member.
type complexSubject struct {
	Format  string         `json:"format"`
	Session map[string]any `json:"session"`
	User    map[string]any `json:"user"`
}

type revokedWire struct {
	EventTimestamp   *numericDate      `json:"event_timestamp"`
	InitiatingEntity string            `json:"initiating_entity,omitempty"`
	ReasonAdmin      map[string]string `json:"reason_admin,omitempty"`
	ReasonUser       map[string]string `json:"reason_user,omitempty"`
}

type revokedMint struct {
	EventTimestamp   int64             `json:"event_timestamp"`
	InitiatingEntity string            `json:"initiating_entity,omitempty"`
	ReasonAdmin      map[string]string `json:"reason_admin,omitempty"`
	ReasonUser       map[string]string `json:"reason_user,omitempty"`
}

// setMint is the payload latch signs.
type setMint struct {
	Iss    string                 `json:"iss"`
	Aud    string                 `json:"aud"`
	Jti    string                 `json:"jti"`
	Iat    int64                  `json:"iat"`
	SubID  complexSubject         `json:"sub_id"`
	Events map[string]revokedMint `json:"events"`
}

func (setMint) GetExpirationTime() (*jwt.NumericDate, error) { return nil, nil }
func (setMint) GetIssuedAt() (*jwt.NumericDate, error)       { return nil, nil }
func (setMint) GetNotBefore() (*jwt.NumericDate, error)      { return nil, nil }
func (setMint) GetIssuer() (string, error)                   { return "", nil }
func (setMint) GetSubject() (string, error)                  { return "", nil }
func (setMint) GetAudience() (jwt.ClaimStrings, error)       { return nil, nil }

// SignSessionRevoked signs e as a compact JWS with typ secevent+jwt.
func SignSessionRevoked(key *Key, e *SessionRevoked) (string, error) {
	if key == nil || key.private == nil {
		return "", errors.New("token: no signing key")
	}
	ev := revokedMint{EventTimestamp: e.EventTime.Unix(), InitiatingEntity: e.InitiatingEntity}
	if e.Reason != "" {
		ev.ReasonAdmin = map[string]string{"en": e.Reason}
	}
	if e.ReasonUser != "" {
		ev.ReasonUser = map[string]string{"en": e.ReasonUser}
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, setMint{
		Iss: e.Issuer, Aud: e.Audience, Jti: e.ID, Iat: e.IssuedAt.Unix(),
		SubID: complexSubject{
			Format:  "complex",
			Session: map[string]any{"format": "opaque", "id": e.SessionID},
			User:    map[string]any{"format": "iss_sub", "iss": e.Issuer, "sub": e.UserID},
		},
		Events: map[string]revokedMint{EventSessionRevoked: ev},
	})
	t.Header["typ"] = SETType
	t.Header["kid"] = key.ID
	s, err := t.SignedString(key.private)
	if err != nil {
		return "", fmt.Errorf("token: sign SET: %w", err)
	}
	return s, nil
}

// setWire is a decoded SET payload. Members other than these are ignored
// (RFC 8417 SETs are extensible); these must have the right types.
type setWire struct {
	Iss    *string                 `json:"iss"`
	Aud    *string                 `json:"aud"`
	Jti    *string                 `json:"jti"`
	Iat    *numericDate            `json:"iat"`
	SubID  *subjectWire            `json:"sub_id"`
	Events map[string]*revokedWire `json:"events"`
}

// SETVerifier checks the session-revoked SETs of latch's revocation feed.
// Its fields must be set before use and not changed afterwards.
type SETVerifier struct {
	Issuer   string    // iss, and the issuer of the user subject
	Audience string    // aud: this receiver's client name
	Keys     KeyLookup // the same keys that verify access tokens
}

// VerifySessionRevoked checks raw's header, signature and shape and returns
// the event. Nothing about time is checked: an old event is still true.
func (v *SETVerifier) VerifySessionRevoked(raw string) (*SessionRevoked, error) {
	payload, err := openJWS(raw, SETType, v.Keys)
	if err != nil {
		return nil, err
	}
	// Signed by latch; still held to its shape: no duplicate or case-folded
	// members, bounded nesting, and every member typed as latch writes it.
	if err := strictjson.Check(payload, 4); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrClaims, err)
	}
	var w setWire
	if err := json.Unmarshal(payload, &w); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrClaims, err)
	}
	bad := func(why string) error { return fmt.Errorf("%w: %s", ErrClaims, why) }
	switch {
	case w.Iss == nil || *w.Iss != v.Issuer:
		return nil, bad("wrong issuer")
	case w.Aud == nil || *w.Aud != v.Audience:
		return nil, bad("wrong audience")
	case w.Jti == nil || *w.Jti == "" || w.Iat == nil:
		return nil, bad("jti and iat are required")
	case len(w.Events) != 1 || w.Events[EventSessionRevoked] == nil:
		return nil, bad("not exactly one session-revoked event")
	}
	sid, uid, err := w.SubID.sessionAndUser(v.Issuer)
	if err != nil {
		return nil, bad(err.Error())
	}
	ev := w.Events[EventSessionRevoked]
	if ev.EventTimestamp == nil {
		return nil, bad("event_timestamp is required")
	}
	return &SessionRevoked{
		Issuer: *w.Iss, Audience: *w.Aud, ID: *w.Jti, IssuedAt: w.Iat.t,
		SessionID: sid, UserID: uid, EventTime: ev.EventTimestamp.t,
		InitiatingEntity: ev.InitiatingEntity, Reason: ev.ReasonAdmin["en"], ReasonUser: ev.ReasonUser["en"],
	}, nil
}

// sessionAndUser reads the complex subject latch sends.
func (s *subjectWire) sessionAndUser(issuer string) (sid, uid string, err error) {
	switch {
	case s == nil || s.Format == nil || *s.Format != "complex":
		return "", "", errors.New("sub_id must be a complex subject")
	case s.Session == nil || s.Session.Format == nil || *s.Session.Format != "opaque" || s.Session.ID == nil:
		return "", "", errors.New("sub_id.session must be an opaque identifier")
	case s.User == nil || s.User.Format == nil || *s.User.Format != "iss_sub" || s.User.Iss == nil || s.User.Sub == nil:
		return "", "", errors.New("sub_id.user must be an iss_sub identifier")
	case *s.User.Iss != issuer:
		return "", "", errors.New("sub_id.user has another issuer")
	case !IsCanonicalUUID(*s.Session.ID) || !IsCanonicalUUID(*s.User.Sub):
		return "", "", errors.New("malformed identifier")
	}
	return *s.Session.ID, *s.User.Sub, nil
}

// numericDate is a JWT NumericDate as latch writes it: a plain non-negative
// integer of seconds, decoded with the same rules as access-token dates.
type numericDate struct{ t time.Time }

func (d *numericDate) UnmarshalJSON(b []byte) error {
	t, err := parseNumericDate(b)
	if err != nil {
		return err
	}
	d.t = t
	return nil
}
