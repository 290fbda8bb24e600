// Package strictjson checks the shape of untrusted JSON before it is decoded:
// encoding/json accepts duplicate object keys (the last one wins) and
// arbitrarily deep nesting, both of which let two parsers disagree about what
// a document says.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf16"
	"unicode/utf8"
)

// Errors reported by Check.
var (
	ErrDuplicateKey = errors.New("duplicate object key")
	ErrTooDeep      = errors.New("nesting too deep")
	ErrTrailing     = errors.New("data after the top-level value")
	ErrNotObject    = errors.New("top-level value is not an object")
	ErrEncoding     = errors.New("not valid UTF-8 (invalid bytes or an unpaired surrogate escape)")
)

// Check reports whether data is exactly one JSON object with no duplicate keys
// at any level and no more than maxDepth levels of nesting (the top-level
// object is depth 1), written in valid UTF-8. It does not allocate a decoded
// value.
func Check(data []byte, maxDepth int) error {
	if !validText(data) {
		return ErrEncoding
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != json.Delim('{') {
		return ErrNotObject
	}
	if err := object(dec, 1, maxDepth); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return ErrTrailing
	}
	return nil
}

// object consumes the members of an object whose '{' has been read.
func object(dec *json.Decoder, depth, maxDepth int) error {
	seen := make(map[string]struct{})
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		if _, dup := seen[key]; dup {
			return fmt.Errorf("%w %q", ErrDuplicateKey, truncate(key))
		}
		seen[key] = struct{}{}
		if err := value(dec, depth, maxDepth); err != nil {
			return err
		}
	}
	_, err := dec.Token() // '}'
	return err
}

func array(dec *json.Decoder, depth, maxDepth int) error {
	for dec.More() {
		if err := value(dec, depth, maxDepth); err != nil {
			return err
		}
	}
	_, err := dec.Token() // ']'
	return err
}

func value(dec *json.Decoder, depth, maxDepth int) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		if depth+1 > maxDepth {
			return ErrTooDeep
		}
		return object(dec, depth+1, maxDepth)
	case json.Delim('['):
		if depth+1 > maxDepth {
			return ErrTooDeep
		}
		return array(dec, depth+1, maxDepth)
	}
	return nil
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
