package latch_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/password"
)

func TestSignupValidation(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	tests := []struct {
		name, email, password string
		wantCode, wantField   string
	}{
		{"ok", "ok@example.com", "58213907", "", ""},
		{"ok 64 chars", "long@example.com", strings.Repeat("p", 64), "", ""},
		{"ok 1024 bytes", "max@example.com", strings.Repeat("p", 1024), "", ""},
		{"ok unicode counts characters", "uni@example.com", "пароль-пароль", "", ""},
		{"ok no composition rules", "simple@example.com", "aaaaaaaa", "", ""},
		{"empty email", "", "12345678", latch.CodeValidationFailed, "email"},
		{"blank email", "   ", "12345678", latch.CodeValidationFailed, "email"},
		{"no at", "example.com", "12345678", latch.CodeValidationFailed, "email"},
		{"display name", "Bob <bob@example.com>", "12345678", latch.CodeValidationFailed, "email"},
		{"no dot in domain", "bob@localhost", "12345678", latch.CodeValidationFailed, "email"},
		{"space inside", "bo b@example.com", "12345678", latch.CodeValidationFailed, "email"},
		{"control char", "bob\x00@example.com", "12345678", latch.CodeValidationFailed, "email"},
		{"escape sequence", "\x1b[31mbob@example.com", "12345678", latch.CodeValidationFailed, "email"},
		{"zero-width space", "al\u200bice@example.com", "12345678", latch.CodeValidationFailed, "email"},
		{"bidi override", "al\u202eice@example.com", "12345678", latch.CodeValidationFailed, "email"},
		{"invalid utf-8", "b\xffob@example.com", "12345678", latch.CodeValidationFailed, "email"},
		{"domain literal", "a@[127.0.0.1]", "12345678", latch.CodeValidationFailed, "email"},
		{"double dot domain", "a@example..com", "12345678", latch.CodeValidationFailed, "email"},
		{"ok internationalized", "jürgen@bücher.example", "a fine long passphrase", "", ""},
		{"label starts with hyphen", "a@-x.example", "a fine long passphrase", latch.CodeValidationFailed, "email"},
		{"underscore in domain", "a@x_y.example", "a fine long passphrase", latch.CodeValidationFailed, "email"},
		{"bad punycode", "a@xn--zz.example", "a fine long passphrase", latch.CodeValidationFailed, "email"},
		{"one-dot leader for a dot", "bob@ex\u2024ample.com", "a fine long passphrase", latch.CodeValidationFailed, "email"},
		{"label over 63 bytes", "a@" + strings.Repeat("a", 64) + ".example", "a fine long passphrase", latch.CodeValidationFailed, "email"},
		{"label over 63 bytes in punycode", "a@" + strings.Repeat("ü", 62) + ".example", "a fine long passphrase", latch.CodeValidationFailed, "email"},
		{"ok label of 63 bytes", "a@" + strings.Repeat("a", 63) + ".example", "a fine long passphrase", "", ""},
		{"ok punycode domain", "a@xn--bcher-kva.example", "a fine long passphrase", "", ""},
		{"too long email", strings.Repeat("a", 250) + "@example.com", "12345678", latch.CodeValidationFailed, "email"},
		{"local part over 64", strings.Repeat("a", 65) + "@example.com", "12345678", latch.CodeValidationFailed, "email"},
		{"short password", "short@example.com", "1234567", latch.CodeValidationFailed, "password"},
		{"7 unicode chars", "short2@example.com", "пароль1", latch.CodeValidationFailed, "password"},
		{"password over 1024 bytes", "big@example.com", strings.Repeat("p", 1025), latch.CodeValidationFailed, "password"},
		{"invalid utf-8 password", "utf@example.com", "abc\xffdefgh", latch.CodeValidationFailed, "password"},
		{"empty password", "empty@example.com", "", latch.CodeValidationFailed, "password"},
		{"common password", "common1@example.com", "password1", latch.CodeValidationFailed, "password"},
		{"common password, other case", "common2@example.com", "PassWord1", latch.CodeValidationFailed, "password"},
		{"common digits", "common3@example.com", "12345678", latch.CodeValidationFailed, "password"},
		{"common keyboard walk", "common4@example.com", "QWERTYUIOP", latch.CodeValidationFailed, "password"},
		{"ok spaces inside", "spaces@example.com", "a b c d e f g h", "", ""},
		{"ok emoji with joiners", "emoji@example.com", "👨\u200d👩\u200d👧 at home 🏠🌳", "", ""},
		{"eight spaces", "sp8@example.com", "        ", latch.CodeValidationFailed, "password"},
		{"seven shown, many spaces", "sp7@example.com", "  a b c d e f g  ", latch.CodeValidationFailed, "password"},
		{"eight zero-width spaces", "zw@example.com", strings.Repeat("\u200b", 8), latch.CodeValidationFailed, "password"},
		{"zero-width padding", "zw2@example.com", "abcdefg\u200b\u200b\u200b", latch.CodeValidationFailed, "password"},
		{"eight Hangul fillers", "hf@example.com", strings.Repeat("\u3164", 8), latch.CodeValidationFailed, "password"},
		{"eight Hangul choseong fillers", "hf2@example.com", strings.Repeat("\u115f", 8), latch.CodeValidationFailed, "password"},
		{"eight variation selectors", "vs@example.com", strings.Repeat("\ufe0f", 8), latch.CodeValidationFailed, "password"},
		{"eight grapheme joiners", "cgj@example.com", strings.Repeat("\u034f", 8), latch.CodeValidationFailed, "password"},
		{"eight braille blanks", "bb@example.com", strings.Repeat("\u2800", 8), latch.CodeValidationFailed, "password"},
		{"ok combining marks count (NIST: code points)", "cm@example.com", "नमस्ते दुनिया", "", ""},
		{"eight NULs", "nul@example.com", strings.Repeat("\x00", 8), latch.CodeValidationFailed, "password"},
		{"NUL inside", "nul2@example.com", "good pass\x00word", latch.CodeValidationFailed, "password"},
		{"newline inside", "nl@example.com", "good pass\nword", latch.CodeValidationFailed, "password"},
		{"tab inside", "tab@example.com", "good\tpassword", latch.CodeValidationFailed, "password"},
		{"escape sequence", "esc@example.com", "\x1b[2Jgood password", latch.CodeValidationFailed, "password"},
		{"C1 control", "c1@example.com", "good password\u0085", latch.CodeValidationFailed, "password"},
		{"common after normalising", "common5@example.com", "ｐａｓｓｗｏｒｄ１", latch.CodeValidationFailed, "password"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// An address per case: the sign-up limit per client is not under test.
			_, err := env.Service.Signup(t.Context(), tt.email, tt.password, dev(fmt.Sprintf("198.51.100.%d", i)))
			if got := codeOf(err); got != tt.wantCode {
				t.Fatalf("Signup(%q) = %v, want code %q", tt.email, err, tt.wantCode)
			}
			if tt.wantField != "" {
				if le, _ := err.(*latch.Error); le.Field != tt.wantField || le.Kind != latch.KindInvalid {
					t.Errorf("Signup(%q) field = %q kind %v, want %q KindInvalid", tt.email, le.Field, le.Kind, tt.wantField)
				}
			}
		})
	}
}

func TestSignupEmailCaseInsensitive(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	g := signup(t, env, "  Alice@Example.COM ")
	if g.User.Email != "Alice@Example.COM" {
		t.Errorf("stored email = %q, want trimmed original", g.User.Email)
	}
	for _, email := range []string{"alice@example.com", "ALICE@EXAMPLE.COM", " alice@example.com\t"} {
		_, err := env.Service.Signup(t.Context(), email, testPassword, laptop)
		if codeOf(err) != latch.CodeEmailTaken || kindOf(err) != latch.KindConflict {
			t.Errorf("Signup(%q) = %v, want email_taken conflict", email, err)
		}
	}
	// Login matches case-insensitively too.
	login(t, env, "ALICE@example.com", phone)
}

// TestLoginSameWork proves an unknown email and a wrong password cost the
// same: one password-hash verification each, and the same error.
func TestLoginSameWork(t *testing.T) {
	h := &countingHasher{PasswordHasher: password.New(password.Options{Params: latchtest.TestParams})}
	env := latchtest.New(t, latchtest.Options{Hasher: h})
	signup(t, env, "known@example.com")

	var errs []*latch.Error
	for _, tc := range []struct{ email, pw string }{
		{"unknown@example.com", testPassword},
		{"known@example.com", "wrong password!"},
	} {
		before := h.verifies.Load()
		hashesBefore := h.hashes.Load()
		_, err := env.Service.Login(t.Context(), tc.email, tc.pw, laptop)
		if n := h.verifies.Load() - before; n != 1 {
			t.Errorf("Login(%q) ran %d verifications, want exactly 1", tc.email, n)
		}
		if n := h.hashes.Load() - hashesBefore; n != 0 {
			t.Errorf("Login(%q) ran %d hashes, want 0", tc.email, n)
		}
		le, ok := err.(*latch.Error)
		if !ok || le.Code != latch.CodeInvalidCredentials || le.Kind != latch.KindUnauthenticated {
			t.Fatalf("Login(%q) = %v, want invalid_credentials", tc.email, err)
		}
		errs = append(errs, le)
	}
	if errs[0].Message != errs[1].Message || errs[0].Field != errs[1].Field {
		t.Errorf("unknown email and wrong password differ: %q vs %q", errs[0].Message, errs[1].Message)
	}
}

func TestLoginValidation(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	tests := []struct {
		name, email, pw, field string
	}{
		{"no email", "", testPassword, "email"},
		{"no password", "a@example.com", "", "password"},
		{"huge password", "a@example.com", strings.Repeat("x", 1025), "password"},
		{"huge email", strings.Repeat("a", 300) + "@example.com", testPassword, "email"},
		{"terminal escapes", "\x1b]0;pwned\x07\x1b[2Jx@example.com", testPassword, "email"},
		{"newline", "a@example.com\nFAKE row", testPassword, "email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := env.Service.Login(t.Context(), tt.email, tt.pw, laptop)
			le, ok := err.(*latch.Error)
			if !ok || le.Code != latch.CodeValidationFailed || le.Field != tt.field {
				t.Fatalf("Login = %v, want validation_failed on %s", err, tt.field)
			}
		})
	}
}

func TestLoginRehashesWeakerHash(t *testing.T) {
	weak := password.New(password.Options{Params: password.Params{Memory: 32, Time: 1, Threads: 1}})
	dbPath := t.TempDir() + "/latch.db"
	old := latchtest.New(t, latchtest.Options{Hasher: weak, DBPath: dbPath})
	signup(t, old, "rehash@example.com")
	before, _ := old.Store.UserByEmail(t.Context(), "rehash@example.com")
	old.Service.Close()

	env := latchtest.New(t, latchtest.Options{DBPath: dbPath}) // TestParams: stronger
	login(t, env, "rehash@example.com", laptop)
	after, err := env.Store.UserByEmail(t.Context(), "rehash@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if after.PasswordHash == before.PasswordHash || !strings.Contains(after.PasswordHash, "m=64,t=1,p=1") {
		t.Errorf("hash not upgraded: %q", after.PasswordHash[:30])
	}
	login(t, env, "rehash@example.com", laptop) // the new hash still verifies
}

func TestLoginDisabledUser(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	signup(t, env, "dis@example.com")
	if err := env.Service.SetUserDisabled(t.Context(), "dis@example.com", true); err != nil {
		t.Fatal(err)
	}
	_, err := env.Service.Login(t.Context(), "dis@example.com", testPassword, laptop)
	if codeOf(err) != latch.CodeAccountDisabled {
		t.Fatalf("Login(disabled) = %v, want account_disabled", err)
	}
	// A wrong password does not reveal that the account is disabled.
	_, err = env.Service.Login(t.Context(), "dis@example.com", "not the password", laptop)
	if codeOf(err) != latch.CodeInvalidCredentials {
		t.Fatalf("Login(disabled, wrong pw) = %v, want invalid_credentials", err)
	}
	if err := env.Service.SetUserDisabled(t.Context(), "dis@example.com", false); err != nil {
		t.Fatal(err)
	}
	login(t, env, "dis@example.com", laptop)
}

// One visible address is one account, however Unicode spells it.
func TestEmailUnicodeSpellings(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	g := signup(t, env, "jos\u00e9@example.com") // precomposed é
	for _, email := range []string{
		"jose\u0301@example.com",     // e + combining acute
		"JOSE\u0301@EXAMPLE.COM",     // and upper case
		"jos\u00e9@\uff45xample.com", // fullwidth e in the domain
	} {
		if _, err := env.Service.Signup(t.Context(), email, testPassword, laptop); codeOf(err) != latch.CodeEmailTaken {
			t.Errorf("Signup(%q) = %v, want email_taken", email, err)
		}
		lg := login(t, env, email, laptop)
		if lg.User.ID != g.User.ID {
			t.Errorf("Login(%q) reached user %s, want %s", email, lg.User.ID, g.User.ID)
		}
	}
	// Different letters that look alike remain different addresses.
	if _, err := env.Service.Signup(t.Context(), "jos\u00e9@ex\u0430mple.com", testPassword, laptop); err != nil {
		t.Errorf("Cyrillic look-alike = %v, want a separate account", err)
	}
}

// A password is one password however its characters are encoded: the
// keyboard, browser or phone that types it decides between precomposed and
// combining accents, or fullwidth and ASCII digits, not the user. Sign-up,
// login and password change all see through the encoding; a different
// password still fails.
func TestPasswordEncodingsAreOnePassword(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	tests := []struct{ name, signup, login string }{
		{"combining accent", "caf\u00e9 au lait, s'il vous pla\u00eet", "cafe\u0301 au lait, s'il vous plai\u0302t"},
		{"precomposed accent", "cafe\u0301 au lait noir", "caf\u00e9 au lait noir"},
		{"fullwidth digits", "tokyo \uff12\uff10\uff12\uff16 winter", "tokyo 2026 winter"},
		{"hangul jamo", "\u1112\u1161\u11ab\u1100\u1173\u11af password", "\ud55c\uae00 password"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			email := fmt.Sprintf("enc%d@example.com", i)
			if _, err := env.Service.Signup(t.Context(), email, tt.signup, laptop); err != nil {
				t.Fatal(err)
			}
			if _, err := env.Service.Login(t.Context(), email, tt.login, laptop); err != nil {
				t.Fatalf("login with another encoding of the password: %v", err)
			}
			if _, err := env.Service.Login(t.Context(), email, tt.login+"x", laptop); codeOf(err) != latch.CodeInvalidCredentials {
				t.Fatalf("a different password = %v, want invalid_credentials", err)
			}
		})
	}
	if got := password.Normalize("caf\u00e9"); got != password.Normalize("cafe\u0301") {
		t.Errorf("Normalize disagrees with itself: %q", got)
	}
}

// An internationalised domain has two spellings, Unicode and the punycode
// DNS uses, and fullwidth letters from an input method are a third: all are
// one domain, so one account, shown in Unicode.
func TestEmailDomainSpellingsAreOneAccount(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	g := signup(t, env, "bob@xn--exmple-cua.com")
	if g.User.Email != "bob@exämple.com" {
		t.Errorf("stored email = %q, want the Unicode domain", g.User.Email)
	}
	for _, email := range []string{"bob@exämple.com", "BOB@EXÄMPLE.COM", "bob@exa\u0308mple.com", "bob@ｅｘäｍｐｌｅ.com"} {
		if _, err := env.Service.Signup(t.Context(), email, testPassword, laptop); codeOf(err) != latch.CodeEmailTaken {
			t.Errorf("Signup(%q) = %v, want email_taken", email, err)
		}
		if _, err := env.Service.Login(t.Context(), email, testPassword, laptop); err != nil {
			t.Errorf("Login(%q) = %v", email, err)
		}
	}
	// A domain's letters keep the case they were typed in.
	if g := signup(t, env, "Carol@Example.ORG"); g.User.Email != "Carol@Example.ORG" {
		t.Errorf("stored email = %q, want the case as typed", g.User.Email)
	}
}

// Mapping an internationalised domain takes time quadratic in a label's
// length: an address far over the 254-byte limit is refused without it, in
// the time a normal one takes, at login and at sign-up alike.
func TestHugeEmailDomainRefusedCheaply(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	var b strings.Builder
	for i := range 21500 {
		b.WriteRune(rune(0x4e00 + i))
	}
	email := "a@" + b.String() + ".example"
	for name, call := range map[string]func() error{
		"signup": func() error { _, err := env.Service.Signup(t.Context(), email, testPassword, laptop); return err },
		"login":  func() error { _, err := env.Service.Login(t.Context(), email, testPassword, laptop); return err },
	} {
		start := time.Now()
		err := call()
		if codeOf(err) != latch.CodeValidationFailed {
			t.Errorf("%s: %v, want validation_failed", name, err)
		}
		// Mapping it took seconds; refusing it takes about a millisecond.
		if d := time.Since(start); d > 250*time.Millisecond {
			t.Errorf("%s took %v", name, d)
		}
	}
}
