// Package strictjson checks the shape of untrusted JSON before it is decoded:
// encoding/json accepts duplicate object keys (the last one wins), matches
// member names to struct fields case-insensitively (so "sub" and "SUB" are
// the same field to it but different members to every other parser), and
// accepts arbitrarily deep nesting. Each lets two parsers disagree about what
// a document says.
//
// Syntax is decided by encoding/json (json.Valid); this package only walks
// text that is already known to be valid, so its scanner never has to
// recover from malformed input.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Errors reported by Check and Members.
var (
	ErrDuplicateKey = errors.New("duplicate object key")
	ErrTooDeep      = errors.New("nesting too deep")
	ErrTrailing     = errors.New("data after the top-level value")
	ErrNotObject    = errors.New("top-level value is not an object")
	ErrSyntax       = errors.New("invalid JSON")
	ErrEncoding     = errors.New("not valid UTF-8 (invalid bytes or an unpaired surrogate escape)")
)

// Member is one member of the top-level object: its decoded name and its
// value as raw JSON text (a slice of the input).
type Member struct {
	Name  string
	Value []byte
}

// Check reports whether data is exactly one JSON object with no duplicate keys
// at any level and no more than maxDepth levels of nesting (the top-level
// object is depth 1). Keys are compared as encoding/json matches them to
// struct fields: case-insensitively, with Unicode simple folding (so "kid",
// "KID" and "\u212Aid", with a Kelvin sign, are one key).
func Check(data []byte, maxDepth int) error {
	_, err := walk(data, maxDepth, nil)
	return err
}

// Members is Check that also returns the top-level members in order, for
// decoding each by its exact name. dst is reused if it has capacity.
func Members(data []byte, maxDepth int, dst []Member) ([]Member, error) {
	if dst == nil {
		dst = make([]Member, 0, 8)
	}
	return walk(data, maxDepth, dst[:0])
}

// String decodes a raw JSON string value. Anything else (null, a number,
// an object) is an error.
func String(raw []byte) (string, error) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", errors.New("not a string")
	}
	if plain(raw[1 : len(raw)-1]) {
		return string(raw[1 : len(raw)-1]), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", err
	}
	return s, nil
}

// plain reports whether b needs no unescaping: printable ASCII without
// quote or backslash.
func plain(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c >= utf8.RuneSelf || c == '\\' || c == '"' {
			return false
		}
	}
	return true
}

func walk(data []byte, maxDepth int, members []Member) ([]Member, error) {
	if err := depthOK(data, maxDepth); err != nil {
		return nil, err
	}
	if !validText(data) {
		return nil, ErrEncoding
	}
	if !json.Valid(data) {
		// Say why, when it is a reason a client can act on.
		var v json.RawMessage
		dec := json.NewDecoder(bytes.NewReader(data))
		if dec.Decode(&v) == nil {
			if v[0] != '{' {
				return nil, ErrNotObject
			}
			return nil, ErrTrailing
		}
		return nil, ErrSyntax
	}
	s := scanner{data: data}
	s.space()
	if s.peek() != '{' {
		return nil, ErrNotObject
	}
	return s.object(members, members != nil)
}

// depthOK rejects input nested deeper than maxDepth before anything else
// looks at it. It counts brackets outside strings and works on any bytes.
func depthOK(data []byte, maxDepth int) error {
	depth, inString, escaped := 0, false, false
	for _, c := range data {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			if depth > maxDepth {
				return ErrTooDeep
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}

// scanner walks JSON that json.Valid accepted.
type scanner struct {
	data []byte
	i    int
}

func (s *scanner) peek() byte { return s.data[s.i] }

func (s *scanner) space() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

// object reads an object at s.i, checking its keys; when collect is set it
// appends the members to out.
func (s *scanner) object(out []Member, collect bool) ([]Member, error) {
	s.i++ // '{'
	var (
		seen  [16]string // keys so far; a map of folded keys takes over past 16
		n     int
		seenM map[string]struct{}
	)
	for {
		s.space()
		if s.peek() == '}' {
			s.i++
			return out, nil
		}
		if s.peek() == ',' {
			s.i++
			s.space()
		}
		start := s.i
		s.str()
		raw := s.data[start:s.i]
		name, err := String(raw)
		if err != nil {
			return nil, ErrSyntax
		}
		dup := false
		if seenM != nil {
			folded := Fold(name)
			_, dup = seenM[folded]
			seenM[folded] = struct{}{}
		} else {
			for _, k := range seen[:n] {
				if foldEqual(k, name) {
					dup = true
					break
				}
			}
			if n < len(seen) {
				seen[n] = name
				n++
			} else {
				seenM = make(map[string]struct{}, 2*len(seen))
				for _, k := range seen {
					seenM[Fold(k)] = struct{}{}
				}
				seenM[Fold(name)] = struct{}{}
			}
		}
		if dup {
			return nil, fmt.Errorf("%w %q", ErrDuplicateKey, truncate(name))
		}
		s.space()
		s.i++ // ':'
		s.space()
		vstart := s.i
		if err := s.value(); err != nil {
			return nil, err
		}
		if collect {
			out = append(out, Member{Name: name, Value: s.data[vstart:s.i]})
		}
		s.space()
	}
}

func (s *scanner) value() error {
	switch s.peek() {
	case '{':
		_, err := s.object(nil, false)
		return err
	case '[':
		s.i++
		for {
			s.space()
			switch s.peek() {
			case ']':
				s.i++
				return nil
			case ',':
				s.i++
				s.space()
			}
			if err := s.value(); err != nil {
				return err
			}
		}
	case '"':
		s.str()
		return nil
	}
	for s.i < len(s.data) { // number, true, false, null
		switch s.data[s.i] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return nil
		}
		s.i++
	}
	return nil
}

// str moves past a string starting at s.i.
func (s *scanner) str() {
	s.i++ // opening quote
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case '\\':
			s.i += 2
			continue
		case '"':
			s.i++
			return
		}
		s.i++
	}
}

// Fold returns the form under which encoding/json matches a member name to
// a struct field (its foldName): every rune replaced by the smallest rune of
// its Unicode simple-fold orbit. So "kid", "KID" and "\u212Aid" (with a
// Kelvin sign) fold alike; Fold(a) == Fold(b) exactly when
// bytes.EqualFold(a, b).
func Fold(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		b = utf8.AppendRune(b, foldRune(r))
	}
	return string(b)
}

// foldRune is encoding/json's: the smallest rune in r's fold orbit.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' {
			r -= 'a' - 'A'
		}
		return r
	}
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}

// foldEqual reports whether Fold(a) == Fold(b) without allocating.
func foldEqual(a, b string) bool {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if foldRune(ra) != foldRune(rb) {
			return false
		}
		a, b = a[na:], b[nb:]
	}
	return a == "" && b == ""
}

func truncate(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}

// validText reports whether data is valid UTF-8 whose \u escapes pair up.
// encoding/json silently turns invalid bytes and unpaired surrogates
// (\ud800) into U+FFFD, so two different inputs would decode alike.
func validText(data []byte) bool {
	if !utf8.Valid(data) {
		return false
	}
	for i := 0; i < len(data); i++ {
		if data[i] != '\\' {
			continue
		}
		if i+1 < len(data) && data[i+1] != 'u' {
			i++ // an escaped character, possibly a backslash
			continue
		}
		r, ok := hex4(data, i+2)
		if !ok {
			return true // malformed escape: the decoder will say so
		}
		switch {
		case utf16.IsSurrogate(r) && r < 0xdc00: // high: a low must follow
			lo, ok := hex4(data, i+8)
			if !ok || i+7 >= len(data) || data[i+6] != '\\' || data[i+7] != 'u' || lo < 0xdc00 || lo > 0xdfff {
				return false
			}
			i += 11
		case utf16.IsSurrogate(r): // a low on its own
			return false
		default:
			i += 5
		}
	}
	return true
}

func hex4(data []byte, at int) (rune, bool) {
	if at+4 > len(data) {
		return 0, false
	}
	var r rune
	for _, c := range data[at : at+4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
