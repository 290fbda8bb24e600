package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
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
		{"duplicate by case", `{"sub":"a","SUB":"b"}`, 1, ErrDuplicateKey},
		{"duplicate by Kelvin sign", `{"kid":"a","\u212Aid":"b"}`, 1, ErrDuplicateKey},
		{"duplicate by long s", `{"iss":"a","i\u017Fs":"b"}`, 1, ErrDuplicateKey},
		{"duplicate nested by case", `{"x":{"Email":1,"eMAIL":2}}`, 2, ErrDuplicateKey},
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

// Fold must agree with encoding/json, which is what it defends: a member
// name folds like a field name exactly when json.Unmarshal would store the
// member in that field.
func TestFoldMatchesEncodingJSON(t *testing.T) {
	pairs := [][2]string{
		{"KID", "kid"}, {"\u212Aid", "kid"}, {"\u212AID", "kid"}, {"i\u017Fs", "iss"}, {"ISS", "iss"},
		{"s\u0130d", "sid"}, {"sub ", "sub"}, {"alG", "alg"}, {"\u00dfub", "sub"}, {"", "a"}, {"SUB", "sub"},
	}
	for _, p := range pairs {
		var name string
		if err := json.Unmarshal([]byte(`"`+p[0]+`"`), &name); err != nil {
			t.Fatal(err)
		}
		want := jsonMatches(name, p[1])
		if got := Fold(name) == Fold(p[1]); got != want {
			t.Errorf("Fold(%q) == Fold(%q) is %v; encoding/json matches: %v", name, p[1], got, want)
		}
		if got := foldEqual(name, p[1]); got != want {
			t.Errorf("foldEqual(%q, %q) = %v; encoding/json matches: %v", name, p[1], got, want)
		}
	}
}

// jsonMatches reports whether encoding/json stores member name in a field
// tagged field (an ASCII identifier).
func jsonMatches(name, field string) bool {
	typ := reflect.StructOf([]reflect.StructField{{Name: "F", Type: reflect.TypeFor[*int](), Tag: reflect.StructTag(`json:"` + field + `"`)}})
	doc, _ := json.Marshal(map[string]int{name: 1})
	v := reflect.New(typ)
	if err := json.Unmarshal(doc, v.Interface()); err != nil {
		return false
	}
	return !v.Elem().Field(0).IsNil()
}

func FuzzFold(f *testing.F) {
	f.Add("\u212Aid", "kid")
	f.Add("I\u017FS", "iss")
	f.Add("s\u0130d", "sid")
	f.Fuzz(func(t *testing.T, name, field string) {
		if !utf8.ValidString(name) || field == "" || len(field) > 16 {
			return
		}
		for _, c := range field {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
				return
			}
		}
		want := jsonMatches(name, field)
		if got := Fold(name) == Fold(field); got != want {
			t.Fatalf("Fold(%q) == Fold(%q) is %v; encoding/json matches: %v", name, field, got, want)
		}
		if got := foldEqual(name, field); got != want {
			t.Fatalf("foldEqual(%q, %q) = %v; encoding/json matches: %v", name, field, got, want)
		}
	})
}

// FuzzMembers compares Members with encoding/json: whatever Members accepts
// encoding/json decodes to the same members and values, and whatever
// encoding/json decodes without case-folded duplicate keys, deep nesting or
// text it would silently alter (invalid UTF-8, unpaired surrogates), Members
// accepts.
func FuzzMembers(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a":{"b":[1,"x",{"c":null}]}}`, `{"a":1,"A":2}`, `{"\u212A":1,"k":2}`, `{}`, `[]`, `{"a":"\"}\\"}`, ` {"a" : [ ] } `, `{"a":1}{}`, "{\"a\":\"\xff\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const depth = 3
		got, err := Members(data, depth, nil)
		var want map[string]json.RawMessage
		jerr := json.Unmarshal(data, &want)
		if err == nil {
			if jerr != nil {
				t.Fatalf("Members accepted %q, encoding/json: %v", data, jerr)
			}
			if len(got) != len(want) {
				t.Fatalf("Members found %d members, encoding/json %d: %q", len(got), len(want), data)
			}
			for _, m := range got {
				var a, b bytes.Buffer
				json.Compact(&a, m.Value)
				json.Compact(&b, want[m.Name])
				if !bytes.Equal(a.Bytes(), b.Bytes()) {
					t.Fatalf("member %q = %s, encoding/json %s", m.Name, m.Value, want[m.Name])
				}
			}
			return
		}
		if jerr == nil && !errors.Is(err, ErrDuplicateKey) && !errors.Is(err, ErrTooDeep) && !errors.Is(err, ErrEncoding) {
			t.Fatalf("Members refused %q (%v) for a reason other than duplicates, depth or encoding", data, err)
		}
	})
}
