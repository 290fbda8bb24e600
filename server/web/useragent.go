package web

import "strings"

// userAgent is what the devices list says about a client: a browser with
// its major version, and an operating system. It is a label for a person,
// not a security decision: the header is whatever the client sent.
type userAgent struct {
	Browser string // "Firefox 128", "Safari 17", "curl 8"; "" if unknown
	OS      string // "Windows", "iOS 17", "Android 14"; "" if unknown
}

// String is the devices-list label, such as "Chrome 126 on Linux".
func (u userAgent) String() string {
	b, os := u.Browser, u.OS
	if b == "" {
		b = "Unknown browser"
	}
	if os == "" {
		return b
	}
	return b + " on " + os
}

// browsers are tried in order: most browsers also claim to be the ones they
// derive from (Edge says "Chrome/… Safari/…", Chrome says "Safari/…"), so
// the most specific token comes first.
var browsers = []struct{ token, name string }{
	{"EdgA/", "Edge"}, {"EdgiOS/", "Edge"}, {"Edg/", "Edge"}, {"Edge/", "Edge"},
	{"OPR/", "Opera"}, {"OPT/", "Opera"},
	{"SamsungBrowser/", "Samsung Internet"},
	{"Vivaldi/", "Vivaldi"},
	{"YaBrowser/", "Yandex Browser"},
	{"FxiOS/", "Firefox"}, {"Firefox/", "Firefox"},
	{"CriOS/", "Chrome"}, {"HeadlessChrome/", "Headless Chrome"}, {"Chromium/", "Chromium"}, {"Chrome/", "Chrome"},
	{"curl/", "curl"}, {"Wget/", "Wget"}, {"Go-http-client/", "Go HTTP client"},
	{"python-requests/", "Python requests"}, {"okhttp/", "OkHttp"},
}

// parseUserAgent reads a User-Agent header. It looks only for fixed tokens,
// so it runs in linear time on any input and never fails: unknown parts
// become "".
func parseUserAgent(ua string) userAgent {
	var u userAgent
	for _, b := range browsers {
		if v, ok := versionAfter(ua, b.token); ok {
			u.Browser = join(b.name, v)
			break
		}
	}
	if u.Browser == "" && strings.Contains(ua, "Safari/") {
		// Safari's own version is in "Version/17.4"; "Safari/605" is WebKit's build.
		v, _ := versionAfter(ua, "Version/")
		u.Browser = join("Safari", v)
	}
	u.OS = parseOS(ua)
	return u
}

func parseOS(ua string) string {
	switch {
	case strings.Contains(ua, "Windows Phone"):
		return "Windows Phone"
	case strings.Contains(ua, "Windows"):
		return "Windows"
	case strings.Contains(ua, "iPhone"), strings.Contains(ua, "iPod"):
		v, _ := versionAfter(ua, "OS ")
		return join("iOS", v)
	case strings.Contains(ua, "iPad"):
		v, _ := versionAfter(ua, "OS ")
		return join("iPadOS", v)
	case strings.Contains(ua, "Android"):
		v, _ := versionAfter(ua, "Android ")
		return join("Android", v)
	case strings.Contains(ua, "CrOS"):
		return "ChromeOS"
	case strings.Contains(ua, "Mac OS X"), strings.Contains(ua, "Macintosh"):
		return "macOS"
	case strings.Contains(ua, "Linux"), strings.Contains(ua, "X11"):
		return "Linux"
	}
	return ""
}

// versionAfter finds tok and returns the major version that follows it: the
// leading digits, at most 4 of them (so "Chrome/126.0.6478.126" gives "126"
// and "iPhone OS 17_4" gives "17"). ok reports whether tok occurs; the
// version is "" when no digit follows.
func versionAfter(ua, tok string) (v string, ok bool) {
	i := strings.Index(ua, tok)
	if i < 0 {
		return "", false
	}
	rest := ua[i+len(tok):]
	n := 0
	for n < len(rest) && n < 4 && '0' <= rest[n] && rest[n] <= '9' {
		n++
	}
	return rest[:n], true
}

func join(name, version string) string {
	if version == "" {
		return name
	}
	return name + " " + version
}
