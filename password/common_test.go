package password_test

import (
	"os"
	"strings"
	"testing"

	"github.com/latchauth/latch/password"
)

func TestCommonPasswords(t *testing.T) {
	if n := password.CommonCount(); n < 10_000 {
		t.Fatalf("only %d common passwords", n)
	}
	for _, pw := range []string{"password", "PASSWORD", "12345678", "qwertyuiop", "iloveyou", "Iloveyou1", "trustno1", "1qaz2wsx"} {
		if !password.IsCommon(pw) {
			t.Errorf("IsCommon(%q) = false", pw)
		}
	}
	for _, pw := range []string{"correct horse battery staple", "58213907", "", "password ", "pässword1", strings.Repeat("x", 1024)} {
		if password.IsCommon(pw) {
			t.Errorf("IsCommon(%q) = true", pw)
		}
	}
	// The list ships with its licence notice.
	notice, err := os.ReadFile("common-passwords.LICENSE")
	if err != nil || !strings.Contains(string(notice), "Permission is hereby granted") || !strings.Contains(string(notice), "zxcvbn-ts") {
		t.Fatalf("licence notice missing or incomplete: %v", err)
	}
}
