package server

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/latchauth/latch"
)

// maxForwardedHops bounds how many X-Forwarded-For entries are examined.
const maxForwardedHops = 32

// deviceOf describes the client for its session record and its limits.
func (s *Server) deviceOf(r *http.Request) latch.Device {
	xff := r.Header.Values("X-Forwarded-For")
	ip := clientAddr(r.RemoteAddr, xff, s.trusted)
	if len(xff) > 0 && len(s.trusted) == 0 && s.xffWarned.CompareAndSwap(false, true) {
		// Most likely a reverse proxy nobody told latch about: every client
		// then shares the proxy's address, and its abuse limits.
		s.logger.Warn("a request carries X-Forwarded-For but no --trusted-proxies are configured: clients are attributed to the TCP peer; behind a reverse proxy, set --trusted-proxies", "peer", ip)
	}
	return latch.Device{IP: ip, UserAgent: r.UserAgent()}
}

// clientAddr is the address latch attributes a request to. It is the TCP
// peer, unless the peer is a trusted proxy: then X-Forwarded-For is read
// from the right, skipping trusted proxies, and the first address that is
// not one is the client (each proxy appends the peer it saw, so only the
// entries right of the first untrusted one are vouched for; anything left
// of it is whatever the client chose to send). An entry that is not an
// address where the client should be makes the nearest trusted proxy the
// client. The Forwarded header (RFC 7239) is not read.
func clientAddr(remoteAddr string, xff []string, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	peer = peer.Unmap().WithZone("")
	if !isTrusted(peer, trusted) {
		return peer.String()
	}
	hop := peer // the client as far as trusted proxies vouch
	seen := 0
	for i := len(xff) - 1; i >= 0; i-- {
		entries := strings.Split(xff[i], ",")
		for j := len(entries) - 1; j >= 0; j-- {
			e := strings.Trim(entries[j], " \t")
			if e == "" && len(entries) > 1 {
				continue // "a,,b" or a trailing comma: no hop
			}
			seen++
			if seen > maxForwardedHops {
				return hop.String()
			}
			a, ok := parseHop(e)
			if !ok {
				return hop.String()
			}
			if !isTrusted(a, trusted) {
				return a.String()
			}
			hop = a
		}
	}
	return hop.String()
}

// parseHop reads one X-Forwarded-For entry: an address, optionally with a
// port ("192.0.2.1:443", "[2001:db8::1]:443"), as proxies write them.
func parseHop(e string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(e)
	if err != nil {
		ap, err2 := netip.ParseAddrPort(e)
		if err2 != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	if a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
