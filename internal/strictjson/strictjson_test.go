package strictjson

import (
	"errors"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		depth int
		want  error // nil, a sentinel, or errAny
	}{
		{"flat", `{"a":1,"b":"x"}`, 1, nil},
		{"empty", `{}`, 1, nil},
		{"nested ok", `{"a":{"b":[1,2]}}`, 3, nil},
		{"duplicate top", `{"a":1,"a":2}`, 1, ErrDuplicateKey},
		{"duplicate nested", `{"x":{"a":1,"a":2}}`, 2, ErrDuplicateKey},
		{"duplicate via escape", `{"a":1,"\u0061":2}`, 1, ErrDuplicateKey},
		{"same key different objects", `{"x":{"a":1},"y":{"a":2}}`, 2, nil},
		{"too deep object", `{"a":{"b":1}}`, 1, ErrTooDeep},
		{"too deep array", `{"a":[[1]]}`, 2, ErrTooDeep},
		{"array top", `[1]`, 3, ErrNotObject},
		{"string top", `"x"`, 3, ErrNotObject},
		{"trailing", `{} {}`, 1, ErrTrailing},
		{"truncated", `{"a":`, 1, errAny},
		{"garbage", `{a:1}`, 1, errAny},
		{"empty input", ``, 1, errAny},
		{"invalid utf-8", "{\"a\":\"\xff\"}", 1, ErrEncoding},
		{"lone high surrogate", `{"a":"\ud800"}`, 1, ErrEncoding},
		{"lone low surrogate", `{"a":"\udc00x"}`, 1, ErrEncoding},
		{"high then non-low", `{"a":"\ud800\u0041"}`, 1, ErrEncoding},
		{"reversed pair", `{"a":"\udc00\ud800"}`, 1, ErrEncoding},
		{"valid pair", `{"a":"\ud83d\ude00"}`, 1, nil},
		{"escaped backslash then u", `{"a":"\\ud800"}`, 1, nil},
		{"plain escapes", `{"a":"\n\t\"\u00e9"}`, 1, nil},
		{"surrogate in key", `{"\ud800":1}`, 1, ErrEncoding},
		{"very deep", strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000), 8, ErrTooDeep},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check([]byte(tt.in), tt.depth)
			switch {
			case tt.want == nil && err != nil:
				t.Fatalf("Check = %v, want nil", err)
			case tt.want == errAny && err == nil:
				t.Fatal("Check = nil, want an error")
			case tt.want != nil && tt.want != errAny && !errors.Is(err, tt.want):
				t.Fatalf("Check = %v, want %v", err, tt.want)
			}
		})
	}
}

var errAny = errors.New("any error")
