package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/latchauth/latch"
)

// notices are the confirmations a redirect may ask a page to show, by key
// (?notice=...). Only these fixed texts are ever shown: nothing from the
// URL is echoed.
var notices = map[string]string{
	"signed-out":         "You are signed out.",
	"password-changed":   "Your password was changed. Every other device was signed out.",
	"device-signed-out":  "That device was signed out.",
	"others-signed-out":  "Every other device was signed out.",
	"session-ended":      "Your session has ended. Please sign in again.",
	"already-signed-out": "That device was already signed out.",
}

func notice(r *http.Request) string { return notices[r.URL.Query().Get("notice")] }

// credentialMessages: a wrong password and an unknown email read the same,
// so the page cannot be used to find out who has an account.
var credentialMessages = map[string]fieldMessage{
	latch.CodeInvalidCredentials: {"", "Email or password is incorrect."},
	latch.CodeAccountDisabled:    {"", "This account is disabled. Contact your administrator."},
	latch.CodeEmailTaken:         {"email", "An account with this email already exists. Sign in instead."},
	latch.CodeRateLimited:        {"", tooMany},
}

// tooMany is shown for rate_limited: the same words whether or not the
// account exists.
const tooMany = "Too many attempts. Wait a minute, then try again."

func signupForm(email string) *formData {
	f := &formData{ID: "signup", Action: "/signup", Submit: "Create account", Fields: []*field{
		emailField(email),
		passwordField("password", "Password", "new-password", passwordHint),
	}}
	f.finish()
	return f
}

func loginForm(email string) *formData {
	f := &formData{ID: "login", Action: "/login", Submit: "Sign in", Fields: []*field{
		emailField(email),
		passwordField("password", "Password", "current-password", ""),
	}}
	f.finish()
	return f
}

// SignupForm serves GET /signup.
func (h *Handler) SignupForm(w http.ResponseWriter, r *http.Request) error {
	h.render(w, r, http.StatusOK, "signup", view{Title: "Create an account", Data: signupForm("")})
	return nil
}

// Signup serves POST /signup: create the account, sign in, go to /account.
func (h *Handler) Signup(w http.ResponseWriter, r *http.Request) error {
	return h.credentials(w, r, "signup", "Create an account", signupForm, h.svc.Signup)
}

// LoginForm serves GET /login.
func (h *Handler) LoginForm(w http.ResponseWriter, r *http.Request) error {
	h.render(w, r, http.StatusOK, "login", view{Title: "Sign in", Notice: notice(r), Data: loginForm("")})
	return nil
}

// Login serves POST /login: check the password, start a session, go to
// /account.
func (h *Handler) Login(w http.ResponseWriter, r *http.Request) error {
	return h.credentials(w, r, "login", "Sign in", loginForm, h.svc.Login)
}

// credentials runs sign-up or sign-in from a posted form. On a problem with
// the input the form comes back with the error next to its field (422); the
// password is never sent back.
func (h *Handler) credentials(w http.ResponseWriter, r *http.Request, page, title string,
	newForm func(email string) *formData,
	start func(ctx context.Context, email, password string, d latch.Device) (*latch.Grant, error),
) error {
	vals, err := form(w, r)
	if err != nil {
		return err
	}
	email := vals.Get("email")
	g, err := start(r.Context(), email, vals.Get("password"), h.device(r))
	if err != nil {
		f := newForm(email)
		if !f.fail(err, credentialMessages) {
			return err
		}
		h.render(w, r, statusFor(w, err), page, view{Title: title, Data: f})
		return nil
	}
	// A browser that signs in again gives up the session its old cookies
	// held: end it, so no session lingers on the devices list that nobody
	// holds. Best effort: the new sign-in stands either way.
	if old, err := h.cookies.read(r); err == nil {
		for _, tok := range []string{old.refresh, old.access} {
			if tok == "" {
				continue
			}
			if err := h.svc.SignOutToken(r.Context(), tok); err != nil {
				h.logger.Warn("could not end the session replaced by a new sign-in", "err", err)
			}
			break
		}
	}
	if h.onAuth != nil {
		h.onAuth(r, &latch.Principal{UserID: g.Session.UserID, SessionID: g.Session.ID})
	}
	h.cookies.set(w, g, h.now())
	redirect(w, r, "/account")
	return nil
}

// Logout serves POST /logout: end this browser's session on the server,
// then expire its cookies. If the session cannot be ended (store down), the
// cookies stay and the user is told, so no one believes a live session is
// gone.
func (h *Handler) Logout(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.Logout(r.Context(), principal(r), latch.ScopeCurrent, h.device(r)); err != nil {
		return err
	}
	h.signedOut(w, r)
	return nil
}

// signedOut expires the cookies and shows the sign-in page's confirmation.
func (h *Handler) signedOut(w http.ResponseWriter, r *http.Request) {
	h.cookies.set(w, nil, h.now())
	redirect(w, r, "/login?notice=signed-out")
}

// statusFor is the status of a form sent back with an error: 422 for input
// the service would not accept, 409 for a taken email, 403 for a disabled
// account, 429 with Retry-After for too many attempts. A wrong password is
// 422 too: a 401 would need an HTTP authentication challenge, which a form
// is not.
func statusFor(w http.ResponseWriter, err error) int {
	if e, ok := errors.AsType[*latch.Error](err); ok {
		switch e.Kind {
		case latch.KindConflict:
			return http.StatusConflict
		case latch.KindForbidden:
			return http.StatusForbidden
		case latch.KindRateLimited:
			w.Header().Set("Retry-After", strconv.Itoa(max(e.RetryAfter, 1)))
			return http.StatusTooManyRequests
		}
	}
	return http.StatusUnprocessableEntity
}
