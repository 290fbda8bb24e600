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
)

// Errors reported by Check.
var (
	ErrDuplicateKey = errors.New("duplicate object key")
	ErrTooDeep      = errors.New("nesting too deep")
	ErrTrailing     = errors.New("data after the top-level value")
	ErrNotObject    = errors.New("top-level value is not an object")
)

// Check reports whether data is exactly one JSON object with no duplicate keys
// at any level and no more than maxDepth levels of nesting (the top-level
// object is depth 1). It does not allocate a decoded value.
func Check(data []byte, maxDepth int) error {
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
