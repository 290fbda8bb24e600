package server

import (
	"encoding/base64"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestClientCredentials(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name, header, id, secret string
		ok                       bool
	}{
		{"plain", "Basic " + b64("notes:latch_cs_abc"), "notes", "latch_cs_abc", true},
		{"scheme case-insensitive", "basic " + b64("notes:s"), "notes", "s", true},
		{"form-urlencoded parts (RFC 6749 §2.3.1)", "Basic " + b64("my%2Bsvc:a%3Ab+c"), "my+svc", "a:b c", true},
		{"colon in secret", "Basic " + b64("notes:a:b"), "notes", "a:b", true},
		{"empty secret", "Basic " + b64("notes:"), "notes", "", true},
		{"no colon", "Basic " + b64("notes"), "", "", false},
		{"empty id", "Basic " + b64(":secret"), "", "", false},
		{"bad escape", "Basic " + b64("no%zztes:s"), "", "", false},
		{"not base64", "Basic ***", "", "", false},
		{"bearer", "Bearer abc", "", "", false},
		{"empty", "", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			id, secret, ok := clientCredentials(r)
			if id != tt.id || secret != tt.secret || ok != tt.ok {
				t.Fatalf("clientCredentials(%q) = %q, %q, %v; want %q, %q, %v", tt.header, id, secret, ok, tt.id, tt.secret, tt.ok)
			}
		})
	}
}

func FuzzClientCredentials(f *testing.F) {
	for _, s := range []string{"Basic bm90ZXM6cw==", "Basic ", "basic Og==", "Basic bm90ZXM=", "Bearer x", "Basic %%%", "Basic YTpi\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header["Authorization"] = []string{header}
		id, _, ok := clientCredentials(r)
		if ok && id == "" {
			t.Fatalf("accepted an empty client id from %q", header)
		}
		if !ok && id != "" {
			t.Fatalf("returned an id without ok from %q", header)
		}
		if ok && !strings.HasPrefix(strings.ToLower(header), "basic ") {
			t.Fatalf("accepted a non-Basic header %q", header)
		}
	})
}
