package web

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/token"
)

// accountData fills templates/account.html.
type accountData struct {
	Email    string
	Password *formData
	Devices  []device // live sessions, this device first
	Ended    []device // sessions that ended in the last 30 days
	Others   bool     // some live session besides this one
}

// device is one session as the account page shows it.
type device struct {
	ID        latch.SessionID
	Name      string // "Firefox 128 on Windows"
	IP        string
	Created   time.Time
	LastSeen  time.Time
	Current   bool
	EndedAt   time.Time
	EndReason string // in words: "signed out: suspected token theft"
	Theft     bool   // ended because a replaced refresh token came back

	CreatedAgo, LastSeenAgo, EndedAgo string // "3 hours ago"
}

func passwordForm() *formData {
	f := &formData{ID: "password", Action: "/account/password", Submit: "Change password", Fields: []*field{
		passwordField("current_password", "Current password", "current-password", ""),
		passwordField("new_password", "New password", "new-password", passwordHint),
	}}
	f.finish()
	return f
}

var passwordMessages = map[string]fieldMessage{
	latch.CodeInvalidCredentials: {"current_password", "The current password is incorrect."},
	latch.CodeRateLimited:        {"", tooMany},
}

// Account serves GET /account: the email, the change-password form, the
// devices that hold a session, and those signed out recently and why.
func (h *Handler) Account(w http.ResponseWriter, r *http.Request) error {
	return h.account(w, r, http.StatusOK, passwordForm())
}

func (h *Handler) account(w http.ResponseWriter, r *http.Request, status int, pw *formData) error {
	p := principal(r)
	u, err := h.svc.Me(r.Context(), p)
	if err != nil {
		return err
	}
	views, err := h.svc.Sessions(r.Context(), p)
	if err != nil {
		return err
	}
	now := h.now()
	d := accountData{Email: u.Email, Password: pw}
	for _, v := range views {
		dv := device{ID: v.ID, Name: parseUserAgent(v.UserAgent).String(), IP: v.IP, Current: v.Current,
			Created: v.CreatedAt, LastSeen: v.LastSeenAt, EndedAt: v.EndedAt,
			CreatedAgo: ago(now, v.CreatedAt), LastSeenAgo: ago(now, v.LastSeenAt)}
		switch {
		case !v.EndedAt.IsZero():
			dv.EndReason, dv.EndedAgo = endReason(v.EndReason), ago(now, v.EndedAt)
			dv.Theft = v.EndReason == latch.ReasonRefreshReuse
			d.Ended = append(d.Ended, dv)
		case v.Current:
			d.Devices = append([]device{dv}, d.Devices...)
		default:
			d.Devices = append(d.Devices, dv)
			d.Others = true
		}
	}
	// Most recently ended first: a theft alarm from a minute ago tops the list.
	slices.SortStableFunc(d.Ended, func(a, b device) int { return b.EndedAt.Compare(a.EndedAt) })
	h.render(w, r, status, "account", view{Title: "Your account", SignedIn: true, Notice: notice(r), Data: d})
	return nil
}

// ChangePassword serves POST /account/password. Every other session ends at
// once (the service does it in one transaction); this one stays signed in.
func (h *Handler) ChangePassword(w http.ResponseWriter, r *http.Request) error {
	vals, err := form(w, r)
	if err != nil {
		return err
	}
	err = h.svc.ChangePassword(r.Context(), principal(r), vals.Get("current_password"), vals.Get("new_password"), h.device(r))
	if err != nil {
		f := passwordForm()
		if !f.fail(err, passwordMessages) {
			return err
		}
		return h.account(w, r, statusFor(w, err), f)
	}
	redirect(w, r, "/account?notice=password-changed")
	return nil
}

// SignOutDevice serves POST /account/sessions/{id}/sign-out. Signing out
// this very device is a sign-out; another device is revoked at once, and its
// next request fails.
func (h *Handler) SignOutDevice(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if !token.IsCanonicalUUID(id) {
		return &latch.Error{Kind: latch.KindNotFound, Code: latch.CodeNotFound, Message: "no such session"}
	}
	p := principal(r)
	if err := h.svc.RevokeSession(r.Context(), p, latch.SessionID(id), h.device(r)); err != nil {
		return err
	}
	if latch.SessionID(id) == p.SessionID {
		h.signedOut(w, r)
		return nil
	}
	redirect(w, r, "/account?notice=device-signed-out")
	return nil
}

// SignOutOthers serves POST /account/sign-out-others: every session of the
// user except this one ends.
func (h *Handler) SignOutOthers(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.Logout(r.Context(), principal(r), latch.ScopeOthers, h.device(r)); err != nil {
		return err
	}
	redirect(w, r, "/account?notice=others-signed-out")
	return nil
}

// endReasons puts every stored reason into words. A reason added later and
// missing here still reads sensibly ("ended").
var endReasons = map[latch.RevokeReason]string{
	latch.ReasonLogout:          "signed out",
	latch.ReasonLogoutOthers:    "signed out from another device",
	latch.ReasonLogoutAll:       "signed out everywhere",
	latch.ReasonRevokedByUser:   "signed out from another device",
	latch.ReasonPasswordChange:  "password changed",
	latch.ReasonRefreshReuse:    "signed out: suspected token theft",
	latch.ReasonAdmin:           "signed out by an administrator",
	latch.ReasonUserDisabled:    "account disabled",
	latch.ReasonTokenRevocation: "token revoked",
	latch.ReasonExpired:         "expired",
}

func endReason(r latch.RevokeReason) string {
	if s, ok := endReasons[r]; ok {
		return s
	}
	return "ended"
}

// ago says how long before now t was, in words.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit + " ago"
		}
		return strconv.Itoa(n) + " " + unit + "s ago"
	}
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute")
	case d < 24*time.Hour:
		return plural(int(d/time.Hour), "hour")
	default:
		return plural(int(d/(24*time.Hour)), "day")
	}
}
