package web

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestParseUserAgent(t *testing.T) {
	tests := []struct{ ua, want string }{
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", "Chrome 126 on Windows"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87", "Edge 126 on Windows"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox 128 on Windows"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15", "Safari 17 on macOS"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:127.0) Gecko/20100101 Firefox/127.0", "Firefox 127 on macOS"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", "Safari 17 on iOS 17"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1", "Chrome 126 on iOS 17"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/127.0 Mobile/15E148 Safari/605.1.15", "Firefox 127 on iOS 17"},
		{"Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1", "Safari 16 on iPadOS 16"},
		{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.122 Mobile Safari/537.36", "Chrome 126 on Android 14"},
		{"Mozilla/5.0 (Linux; Android 13; SM-S908B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36", "Samsung Internet 25 on Android 13"},
		{"Mozilla/5.0 (Android 14; Mobile; rv:127.0) Gecko/127.0 Firefox/127.0", "Firefox 127 on Android 14"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 OPR/111.0.0.0", "Opera 111 on Windows"},
		{"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", "Chrome 126 on ChromeOS"},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36", "Headless Chrome 156 on Linux"},
		{"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox 128 on Linux"},
		{"curl/8.5.0", "curl 8"},
		{"Go-http-client/1.1", "Go HTTP client 1"},
		{"", "Unknown browser"},
		{"Mozilla/5.0 (X11; Linux x86_64)", "Unknown browser on Linux"},
		{"Chrome/", "Chrome"},
		{"Chrome/99999999", "Chrome 9999"},
	}
	for _, tt := range tests {
		if got := parseUserAgent(tt.ua).String(); got != tt.want {
			t.Errorf("parseUserAgent(%q) = %q, want %q", tt.ua, got, tt.want)
		}
	}
}

// FuzzParseUserAgent: any header yields a short, valid label made only of
// known names, digits and fixed words, never the input's other bytes.
func FuzzParseUserAgent(f *testing.F) {
	f.Fuzz(func(t *testing.T, ua string) {
		got := parseUserAgent(ua).String()
		if !utf8.ValidString(got) || len(got) > 64 {
			t.Fatalf("parseUserAgent(%q) = %q", ua, got)
		}
		for _, r := range got {
			if r > 0x7f || r < 0x20 {
				t.Fatalf("parseUserAgent(%q) = %q: copied a byte from the input", ua, got)
			}
		}
	})
}

func TestAgo(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Minute, "just now"}, {0, "just now"}, {59 * time.Second, "just now"},
		{time.Minute, "1 minute ago"}, {59 * time.Minute, "59 minutes ago"},
		{time.Hour, "1 hour ago"}, {23 * time.Hour, "23 hours ago"},
		{24 * time.Hour, "1 day ago"}, {29 * 24 * time.Hour, "29 days ago"},
	}
	for _, tt := range tests {
		if got := ago(now, now.Add(-tt.d)); got != tt.want {
			t.Errorf("ago(now-%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestSentence(t *testing.T) {
	tests := []struct{ msg, label, want string }{
		{"current_password is required", "Current password", "Enter your current password."},
		{"password must be at least 8 characters, not counting spaces", "New password", "New password must be at least 8 characters, not counting spaces."},
		{"email is not a valid address", "Email", "Email is not a valid address."},
	}
	for _, tt := range tests {
		if got := sentence(tt.msg, &field{Label: tt.label}); got != tt.want {
			t.Errorf("sentence(%q) = %q, want %q", tt.msg, got, tt.want)
		}
	}
	if got := endReason("some_future_reason"); got != "ended" || !strings.Contains(endReason("refresh_token_reuse"), "suspected token theft") {
		t.Errorf("endReason fallbacks wrong: %q", got)
	}
}
