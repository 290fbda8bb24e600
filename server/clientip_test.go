package server

import (
	"net/netip"
	"strings"
	"testing"
)

func prefixes(t testing.TB, ss ...string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func TestClientAddr(t *testing.T) {
	proxies := prefixes(t, "10.0.0.0/8", "2001:db8:ffff::/48")
	tests := []struct {
		name, remote string
		xff          []string
		trusted      []netip.Prefix
		want         string
	}{
		{"no proxies: peer", "203.0.113.7:5555", []string{"198.51.100.1"}, nil, "203.0.113.7"},
		{"untrusted peer's header ignored", "203.0.113.7:5555", []string{"1.2.3.4"}, proxies, "203.0.113.7"},
		{"trusted peer, one hop", "10.0.0.2:443", []string{"198.51.100.1"}, proxies, "198.51.100.1"},
		{"right-most untrusted wins over spoofed left", "10.0.0.2:443", []string{"6.6.6.6, 198.51.100.1"}, proxies, "198.51.100.1"},
		{"chain of trusted proxies", "10.0.0.2:443", []string{"198.51.100.1, 10.1.1.1, 10.2.2.2"}, proxies, "198.51.100.1"},
		{"several header lines", "10.0.0.2:443", []string{"6.6.6.6", "198.51.100.1, 10.1.1.1"}, proxies, "198.51.100.1"},
		{"all trusted: left-most", "10.0.0.2:443", []string{"10.9.9.9, 10.1.1.1"}, proxies, "10.9.9.9"},
		{"no header from a trusted peer", "10.0.0.2:443", nil, proxies, "10.0.0.2"},
		{"garbage where the client should be", "10.0.0.2:443", []string{"198.51.100.1, not-an-ip"}, proxies, "10.0.0.2"},
		{"garbage behind a trusted hop", "10.0.0.2:443", []string{"junk, 10.1.1.1"}, proxies, "10.1.1.1"},
		{"garbage left of the client is irrelevant", "10.0.0.2:443", []string{"junk, 198.51.100.1"}, proxies, "198.51.100.1"},
		{"port on the entry", "10.0.0.2:443", []string{"198.51.100.1:61000"}, proxies, "198.51.100.1"},
		{"IPv6 with port", "[2001:db8:ffff::1]:443", []string{"[2001:db8:1::5]:443"}, proxies, "2001:db8:1::5"},
		{"IPv4-mapped entry", "10.0.0.2:443", []string{"::ffff:198.51.100.1"}, proxies, "198.51.100.1"},
		{"IPv4-mapped trusted peer", "[::ffff:10.0.0.2]:443", []string{"198.51.100.1"}, proxies, "198.51.100.1"},
		{"zone refused", "10.0.0.2:443", []string{"fe80::1%eth0"}, proxies, "10.0.0.2"},
		{"spaces and empty items", "10.0.0.2:443", []string{" 198.51.100.1 ,, "}, proxies, "198.51.100.1"},
		{"unknown token", "10.0.0.2:443", []string{"unknown"}, proxies, "10.0.0.2"},
		{"obfuscated node (RFC 7239 style)", "10.0.0.2:443", []string{"_hidden"}, proxies, "10.0.0.2"},
		{"too many trusted hops", "10.0.0.2:443", []string{"198.51.100.1," + strings.Repeat("10.0.0.1,", 40) + "10.0.0.1"}, proxies, "10.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := clientAddr(tt.remote, tt.xff, tt.trusted); got != tt.want {
				t.Fatalf("clientAddr(%q, %q) = %q, want %q", tt.remote, tt.xff, got, tt.want)
			}
		})
	}
}

// FuzzClientAddr: whatever a client sends, the result is an address (or
// the peer's own text), it is never a trusted proxy unless every hop is,
// and a client behind no trusted proxy is always its TCP peer.
func FuzzClientAddr(f *testing.F) {
	for _, s := range []string{"198.51.100.1", "6.6.6.6, 198.51.100.1", "junk", "[2001:db8::1]:80", "", ",,,", "10.0.0.1, 10.0.0.2", "::ffff:1.2.3.4", "fe80::1%eth0"} {
		f.Add("10.0.0.2:443", s)
		f.Add("203.0.113.9:1", s)
	}
	proxies := prefixes(f, "10.0.0.0/8")
	f.Fuzz(func(t *testing.T, remote, xff string) {
		got := clientAddr(remote, []string{xff}, proxies)
		peer, err := netip.ParseAddrPort(remote)
		if err != nil {
			return
		}
		p := peer.Addr().Unmap().WithZone("")
		if !proxies[0].Contains(p) {
			if got != p.String() {
				t.Fatalf("untrusted peer %s: got %q", remote, got)
			}
			return
		}
		a, err := netip.ParseAddr(got)
		if err != nil {
			t.Fatalf("clientAddr returned %q, not an address", got)
		}
		if a.Zone() != "" || a.Is4In6() {
			t.Fatalf("clientAddr returned a non-canonical address %q", got)
		}
		if got != p.String() && !strings.Contains(xff, strings.Split(got, "%")[0]) && !strings.Contains(xff, ":") {
			t.Fatalf("clientAddr returned %q, found neither in the peer nor in %q", got, xff)
		}
	})
}
