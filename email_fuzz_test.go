package latch

import (
	"testing"
	"unicode/utf8"
)

// FuzzNormalizeEmail: normalising is idempotent (the stored display form
// gives back the key it was stored under, which User.EmailKey relies on),
// and an address that passes validation is plain text whose domain DNS
// could look up.
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{
		"Alice@Example.COM", " bob@example.com\t", "bob@xn--exmple-cua.com", "BOB@EXÄMPLE.COM",
		"a@ｅｘａｍｐｌｅ.com", "bob@ex\u2024ample.com", "a@-x.example", "a@x_y.example", "@", "a@b@c.example",
		`"a@b"@c.example`, "\xff@x.example", "jürgen@bücher.example", "k@\u212aelvin.example", "ß@straße.example",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, email string) {
		display, key := NormalizeEmail(email)
		if d2, k2 := NormalizeEmail(display); d2 != display || k2 != key {
			t.Fatalf("NormalizeEmail(%q) = %q, %q; again = %q, %q", email, display, key, d2, k2)
		}
		if validateEmail(display) != nil {
			return
		}
		if !utf8.ValidString(display) || !plainChars(display) || len(display) > maxEmailBytes {
			t.Fatalf("accepted %q", display)
		}
	})
}
