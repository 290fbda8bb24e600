package latch

import (
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"

	pw "github.com/latchauth/latch/password"
)

// UserID identifies a user. It is a random UUID in canonical form.
type UserID string

// User is an account that signs in with an email and a password.
type User struct {
	ID UserID
	// Email is the address as the user typed it, trimmed.
	Email string
	// PasswordHash is a PHC-formatted argon2id hash. It never leaves the
	// service layer.
	PasswordHash string
	CreatedAt    time.Time
	// DisabledAt is zero while the account may sign in.
	DisabledAt time.Time
}

// EmailKey is the form stores index and compare emails by.
func (u *User) EmailKey() string {
	_, key := NormalizeEmail(u.Email)
	return key
}

// Disabled reports whether an administrator has disabled the account.
func (u *User) Disabled() bool { return !u.DisabledAt.IsZero() }

// Password limits, after NIST SP 800-63B §3.1.1.2: at least 8 characters, at
// least 64 allowed, no composition rules. The byte cap bounds hashing input.
const (
	MinPasswordChars = 8
	MaxPasswordBytes = 1024
	maxEmailBytes    = 254 // RFC 5321 path limit minus the angle brackets
)

// NormalizeEmail returns the trimmed address and the key used to compare
// addresses: emails are unique case-insensitively.
//
// Unicode has several spellings of one visible address: "é" precomposed or
// as "e" plus a combining accent, fullwidth "ａ" for "a", the Kelvin sign
// for "K". The display form is NFC (one canonical spelling); the key is
// NFKC and lower case, so all of those are one account and one counter.
// The domain is also put in the one form DNS resolves it by (IDNA, UTS #46
// lookup mapping, shown as Unicode): "bücher.example" and
// "xn--bcher-kva.example" are one domain, and a look-alike of a dot (the
// one-dot leader "․") becomes the dot it stands for, in the display form
// too, so what is shown is where mail would go. Different letters that
// merely look alike (Cyrillic "а" for Latin "a") stay different
// addresses: only verifying the address could tell them apart.
func NormalizeEmail(email string) (display, key string) {
	display = norm.NFC.String(strings.TrimSpace(email))
	// Mapping a domain costs time quadratic in a label's length; no
	// address is longer than maxEmailBytes, so a longer one (refused later)
	// is not mapped at all. The margin lets a fullwidth-typed address,
	// three bytes a letter, shrink to its plain length first.
	if at := strings.LastIndexByte(display, '@'); at >= 0 && len(display)-at <= 4*maxEmailBytes {
		// Case is kept as typed: it means nothing in a domain.
		if domain, err := emailDomain(display[at+1:]); err == nil && !strings.EqualFold(domain, display[at+1:]) {
			display = display[:at+1] + domain
		}
	}
	return display, strings.ToLower(norm.NFKC.String(display))
}

// domainProfile is idna.Lookup (UTS #46 lookup mapping, STD3 rules,
// hyphen, joiner and bidi checks) plus the DNS lengths: labels of 1 to 63
// bytes and a name of at most 253, counted in the punycode form.
var domainProfile = idna.New(idna.MapForLookup(), idna.Transitional(false), idna.BidiRule(),
	idna.CheckHyphens(true), idna.CheckJoiners(true), idna.VerifyDNSLength(true))

// emailDomain returns the canonical Unicode form of an address's domain,
// or an error if DNS could not look it up (STD3 rules: letters, digits and
// inner hyphens in each label; valid punycode and bidirectional text; DNS
// lengths).
func emailDomain(domain string) (string, error) {
	ascii, err := domainProfile.ToASCII(domain)
	if err != nil {
		return "", err
	}
	return domainProfile.ToUnicode(ascii)
}

// validateEmail checks an already-trimmed address: one bare addr-spec, no
// display name, no comments, no control characters.
func validateEmail(email string) *Error {
	bad := func(msg string) *Error {
		return &Error{Kind: KindInvalid, Code: CodeValidationFailed, Field: "email", Message: msg}
	}
	switch {
	case email == "":
		return bad("email is required")
	case len(email) > maxEmailBytes:
		return bad("email must be at most 254 bytes")
	case !utf8.ValidString(email):
		return bad("email must be valid UTF-8")
	}
	if !plainChars(email) {
		return bad("email must not contain spaces, control or invisible formatting characters")
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Name != "" || addr.Address != email {
		return bad("email is not a valid address")
	}
	local, domain, _ := strings.Cut(email, "@")
	if len(local) > 64 || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") ||
		strings.Contains(domain, "..") || strings.ContainsAny(domain, "[]") {
		return bad("email is not a valid address")
	}
	if _, err := emailDomain(domain); err != nil {
		return bad("email domain is not a valid domain name")
	}
	return nil
}

// plainChars reports whether s has no whitespace, control characters or
// invisible formatting characters (zero-width spaces, bidirectional
// overrides): they make two addresses look alike, and an operator's
// terminal would interpret them.
func plainChars(s string) bool {
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// validatePassword applies the length policy to a new password and refuses
// the most common passwords. field names
// the request member it came from ("password" or "new_password").
//
// Length is counted on the normalised form (what is hashed), in characters
// that show: spaces are allowed anywhere but do not count, nor do
// invisible formatting characters (a zero-width space), so eight spaces
// are not a password. Control characters (NUL, escape, newline) are
// refused: no keyboard types them into a password field, so they mean a
// client bug, and the user could not type the password again elsewhere.
func validatePassword(field, password string) *Error {
	bad := func(msg string) *Error {
		return &Error{Kind: KindInvalid, Code: CodeValidationFailed, Field: field, Message: msg}
	}
	switch {
	case password == "":
		return bad(field + " is required")
	case len(password) > MaxPasswordBytes:
		return bad("password must be at most 1024 bytes")
	case !utf8.ValidString(password):
		return bad("password must be valid UTF-8")
	case strings.ContainsFunc(password, unicode.IsControl):
		return bad("password must not contain control characters")
	}
	password = pw.Normalize(password)
	switch {
	case visibleChars(password) < MinPasswordChars:
		return bad("password must be at least 8 characters, not counting spaces")
	case pw.IsCommon(password):
		// Said without the password, and the same for every listed one.
		return bad("password is one of the most commonly used passwords; choose another")
	}
	return nil
}

// visibleChars counts the code points of s (NIST SP 800-63B counts each
// as one character) that show: not white space, not a blank that renders
// as nothing (the braille pattern blank), and not one Unicode marks
// default-ignorable (format characters such as the zero-width space,
// variation selectors, Hangul fillers, the combining grapheme joiner).
func visibleChars(s string) int {
	n := 0
	for _, r := range s {
		if !unicode.IsSpace(r) && r != '\u2800' && !unicode.In(r, unicode.Cf, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector) {
			n++
		}
	}
	return n
}
