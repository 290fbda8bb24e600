package web

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/token"
)

func TestNewCookieScheme(t *testing.T) {
	tests := []struct {
		url            string
		access, rt     string
		secure, reject bool
	}{
		{"https://auth.example.com", "__Host-latch_at", "__Host-latch_rt", true, false},
		{"https://auth.example.com:8443/base", "__Host-latch_at", "__Host-latch_rt", true, false},
		{"http://localhost:8080", "latch_at", "latch_rt", false, false},
		{"http://LOCALHOST", "latch_at", "latch_rt", false, false},
		{"http://app.localhost", "latch_at", "latch_rt", false, false},
		{"http://127.0.0.1:8080", "latch_at", "latch_rt", false, false},
		{"http://127.8.9.10", "latch_at", "latch_rt", false, false},
		{"http://[::1]:8080", "latch_at", "latch_rt", false, false},
		{"http://auth.example.com", "", "", false, true},
		{"http://192.168.1.5:8080", "", "", false, true},
		{"http://localhost.example.com", "", "", false, true},
		{"ftp://localhost", "", "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			u, err := url.Parse(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			cs, err := newCookieScheme(u)
			if (err != nil) != tt.reject {
				t.Fatalf("newCookieScheme(%q) error = %v, want rejected=%v", tt.url, err, tt.reject)
			}
			if cs.access != tt.access || cs.refresh != tt.rt || cs.secure != tt.secure {
				t.Fatalf("newCookieScheme(%q) = %+v, want %s %s secure=%v", tt.url, cs, tt.access, tt.rt, tt.secure)
			}
		})
	}
}

// TestSetCookies: setting and expiring write the same attributes, and an
// expiry replaces an earlier Set-Cookie for our names in the same response.
func TestSetCookies(t *testing.T) {
	for _, cs := range []cookieScheme{
		{access: "latch_at", refresh: "latch_rt"},
		{access: "__Host-latch_at", refresh: "__Host-latch_rt", secure: true},
	} {
		t.Run(cs.access, func(t *testing.T) {
			now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			g := &latch.Grant{AccessToken: "a.b.c", RefreshToken: "latch_rt_x", Session: &latch.Session{ExpiresAt: now.Add(30*24*time.Hour - 500*time.Millisecond)}}
			w := httptest.NewRecorder()
			http.SetCookie(w, &http.Cookie{Name: "unrelated", Value: "1"})
			cs.set(w, g, now)
			set := setCookies(t, w.Header())
			cs.set(w, nil, now)
			cleared := setCookies(t, w.Header())

			if len(set) != 3 || set[0].Name != "unrelated" {
				t.Fatalf("after set: %d cookies, want unrelated + 2", len(set))
			}
			if len(cleared) != 3 || cleared[0].Name != "unrelated" {
				t.Fatalf("after clear: %d cookies, want unrelated + 2 (the set lines replaced)", len(cleared))
			}
			for i, c := range set[1:] {
				x := cleared[i+1]
				if c.MaxAge != 30*24*3600 {
					t.Errorf("%s Max-Age = %d, want the session's remaining life in whole seconds, rounded up", c.Name, c.MaxAge)
				}
				if x.Name != c.Name || x.MaxAge >= 0 || x.Value != "" {
					t.Errorf("clear wrote %s Max-Age=%d, want %s expired", x.Name, x.MaxAge, c.Name)
				}
				if c.Path != "/" || c.Domain != "" || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != cs.secure {
					t.Errorf("set %s: %+v", c.Name, c)
				}
				if x.Path != c.Path || x.Domain != c.Domain || x.HttpOnly != c.HttpOnly || x.SameSite != c.SameSite || x.Secure != c.Secure {
					t.Errorf("clear %s attributes differ from set", c.Name)
				}
			}
		})
	}
}

func setCookies(t *testing.T, h http.Header) []*http.Cookie {
	t.Helper()
	var out []*http.Cookie
	for _, line := range h.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

func TestDecodeSessionCookies(t *testing.T) {
	cs := cookieScheme{access: "latch_at", refresh: "latch_rt"}
	tests := []struct {
		name    string
		lines   []string
		want    sessionCookies
		wantErr error
	}{
		{"none", nil, sessionCookies{}, nil},
		{"both", []string{"latch_at=a.b.c; latch_rt=latch_rt_x"}, sessionCookies{"a.b.c", "latch_rt_x"}, nil},
		{"among others", []string{`theme=dark; x="y z"; latch_rt=r_1; junk; latch_at=a.b`}, sessionCookies{"a.b", "r_1"}, nil},
		{"split over lines", []string{"latch_at=a.b.c", "latch_rt=r"}, sessionCookies{"a.b.c", "r"}, nil},
		{"tabs and spaces", []string{" \tlatch_at=a.b.c\t ;latch_rt=r "}, sessionCookies{"a.b.c", "r"}, nil},
		{"empty values", []string{"latch_at=; latch_rt="}, sessionCookies{}, nil},
		{"other scheme's names ignored", []string{"__Host-latch_at=a.b.c; Latch_at=x"}, sessionCookies{}, nil},
		{"duplicate access", []string{"latch_at=a.b.c; latch_at=a.b.c"}, sessionCookies{}, errDuplicateCookie},
		{"duplicate across lines", []string{"latch_rt=r", "latch_rt=s"}, sessionCookies{}, errDuplicateCookie},
		{"quoted", []string{`latch_at="a.b.c"`}, sessionCookies{}, errMalformedCookie},
		{"dot in refresh", []string{"latch_rt=a.b"}, sessionCookies{}, errMalformedCookie},
		{"space inside", []string{"latch_at=a b"}, sessionCookies{}, errMalformedCookie},
		{"non-ASCII", []string{"latch_rt=é"}, sessionCookies{}, errMalformedCookie},
		{"too long access", []string{"latch_at=" + strings.Repeat("a", token.MaxTokenBytes+1)}, sessionCookies{}, errMalformedCookie},
		{"too long refresh", []string{"latch_rt=" + strings.Repeat("a", maxRefreshCookie+1)}, sessionCookies{}, errMalformedCookie},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cs.decode(tt.lines)
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Fatalf("decode(%q) = %+v, %v; want %+v, %v", tt.lines, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// FuzzDecodeSessionCookie feeds arbitrary Cookie headers to the decoder,
// which sees attacker input on every page request. Whatever it accepts is
// made of token characters within the size limits, occurs in the header,
// and decodes to itself again.
func FuzzDecodeSessionCookie(f *testing.F) {
	cs := cookieScheme{access: "latch_at", refresh: "latch_rt"}
	f.Fuzz(func(t *testing.T, header string) {
		got, err := cs.decode([]string{header})
		if err != nil {
			if got != (sessionCookies{}) {
				t.Fatalf("decode(%q) returned values with error %v", header, err)
			}
			return
		}
		for _, v := range []struct {
			val  string
			dots bool
			max  int
		}{{got.access, true, token.MaxTokenBytes}, {got.refresh, false, maxRefreshCookie}} {
			if len(v.val) > v.max || !isTokenChars(v.val, v.dots) || !strings.Contains(header, v.val) {
				t.Fatalf("decode(%q) accepted %q", header, v.val)
			}
		}
		again, err := cs.decode([]string{"latch_at=" + got.access + "; latch_rt=" + got.refresh})
		if err != nil || again != got {
			t.Fatalf("re-decoding %+v = %+v, %v", got, again, err)
		}
	})
}
