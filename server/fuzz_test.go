package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func FuzzParseBearer(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer a.b.c", "Bearer  x==", "Basic YTpi", "Bearer", "Bearer =", "Bearer a=b", "", "Bearer \xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", header)
		tok, ok, err := bearer(r)
		if err != nil {
			if !ok {
				t.Fatalf("error without bearer credentials: %v", err)
			}
			return
		}
		if ok && !isB64Token(tok) {
			t.Fatalf("accepted %q, which is not a b64token", tok)
		}
		if ok && strings.ContainsAny(tok, " \t\r\n") {
			t.Fatalf("accepted token with whitespace: %q", tok)
		}
	})
}

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"email":"a@b.c","password":"12345678"}`, `{}`, `[]`, `{"email":1}`, `{"a":{"b":{"c":[[[[]]]]}}}`, `{"email":"x","email":"y"}`, "\x00", `{"password":"\ud800"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("POST", "/v1/login", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		_, err := decode[credentialsRequest](w, r)
		if err == nil {
			// Accepted: an object whose members are exactly the known
			// names, each once, so every JSON reader agrees with latch.
			dec := json.NewDecoder(strings.NewReader(body))
			if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
				t.Fatalf("accepted %q, which is not an object", body)
			}
			seen := map[string]bool{}
			for dec.More() {
				tok, err := dec.Token()
				name, _ := tok.(string)
				if err != nil || (name != "email" && name != "password") || seen[name] {
					t.Fatalf("accepted %q: member %q (%v)", body, name, err)
				}
				seen[name] = true
				var v json.RawMessage
				if err := dec.Decode(&v); err != nil {
					t.Fatalf("accepted %q: %v", body, err)
				}
			}
			return
		}
		var he *httpError
		if !errors.As(err, &he) || he.status < 400 || he.status >= 500 {
			t.Fatalf("decode error %v is not a 4xx httpError", err)
		}
		if he.status != http.StatusBadRequest && he.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("unexpected status %d", he.status)
		}
	})
}
