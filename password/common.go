package password

import (
	_ "embed"
	"strings"
	"sync"
)

// commonList holds the most common passwords that are at least 8
// characters long (shorter ones are refused by latch's length rule
// anyway), most common first, one per line: 17,950 of the 49,233 entries of
// the password list in @zxcvbn-ts/language-common 4.1.3 (src/passwords.json,
// MIT licence; notice in common-passwords.LICENSE), which in turn comes
// from zxcvbn's frequency lists.
//
//go:embed common-passwords.txt
var commonList string

var commonSet = sync.OnceValue(func() map[string]struct{} {
	m := make(map[string]struct{}, 18_000)
	for line := range strings.Lines(commonList) {
		if w := strings.TrimRight(line, "\r\n"); w != "" {
			m[strings.ToLower(w)] = struct{}{}
		}
	}
	return m
})

// IsCommon reports whether pw is on the list of common passwords, ignoring
// case: "Password1" is as guessable as "password1" (NIST SP 800-63B
// §3.1.1.2 asks verifiers to refuse passwords from breach and dictionary
// lists).
func IsCommon(pw string) bool {
	_, ok := commonSet()[strings.ToLower(pw)]
	return ok
}

// CommonCount returns how many common passwords are known.
func CommonCount() int { return len(commonSet()) }
