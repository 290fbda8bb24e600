package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/latchauth/latch/internal/strictjson"
)

// Request body limits.
const (
	maxBodyBytes = 64 << 10
	maxJSONDepth = 8
)

// decode reads a JSON request body into T. It enforces the media type, the
// size cap, a nesting cap, unique keys and known fields, and turns every
// failure into a 4xx that names the problem.
func decode[T any](w http.ResponseWriter, r *http.Request) (*T, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		err = errors.New("charset")
	}
	if err != nil || mt != "application/json" {
		return nil, &httpError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type", message: "the request body must be application/json"}
	}
	if encoded(r) {
		return nil, errContentEncoding
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &httpError{status: http.StatusRequestEntityTooLarge, code: "payload_too_large", message: "the request body must be at most 64 KiB"}
		}
		return nil, badRequest("invalid_request", "the request body could not be read")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, badRequest("invalid_request", "the request body is empty; send a JSON object")
	}
	if err := strictjson.Check(body, maxJSONDepth); err != nil {
		switch {
		case errors.Is(err, strictjson.ErrDuplicateKey), errors.Is(err, strictjson.ErrTooDeep),
			errors.Is(err, strictjson.ErrNotObject), errors.Is(err, strictjson.ErrTrailing), errors.Is(err, strictjson.ErrEncoding):
			return nil, badRequest("invalid_request", "invalid JSON: "+err.Error())
		}
		return nil, badRequest("invalid_request", "the request body is not valid JSON")
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		return nil, badRequest("invalid_request", "the request body is not valid JSON")
	}
	known := fieldsOf[T]()
	for name := range members {
		// Exact names only: encoding/json would also match "EMAIL" to "email".
		if _, ok := known[name]; !ok {
			return nil, &httpError{status: http.StatusBadRequest, code: "invalid_request", field: clip(name), message: "unknown field " + quote(name)}
		}
	}
	v := new(T)
	if err := json.Unmarshal(body, v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return nil, &httpError{status: http.StatusBadRequest, code: "invalid_request", field: typeErr.Field,
				message: "field " + quote(typeErr.Field) + " must be a " + typeErr.Type.String()}
		}
		return nil, badRequest("invalid_request", "the request body is not valid JSON")
	}
	return v, nil
}

// errContentEncoding refuses a compressed (or otherwise encoded) body:
// latch reads request bodies as sent, and a client that compresses them
// should learn why they are not understood.
var errContentEncoding = &httpError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type", message: "Content-Encoding is not supported; send the body uncompressed"}

// encoded reports whether the request body has a content coding other
// than identity.
func encoded(r *http.Request) bool {
	for _, v := range r.Header.Values("Content-Encoding") {
		for c := range strings.SplitSeq(v, ",") {
			if c = strings.TrimSpace(c); c != "" && !strings.EqualFold(c, "identity") {
				return true
			}
		}
	}
	return false
}

// clip shortens a client-chosen name echoed back in an error to 64 bytes,
// at a character boundary: a response never grows with a hostile input.
func clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	n := 64
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func quote(s string) string {
	b, _ := json.Marshal(clip(s))
	return string(b)
}

var fieldCache sync.Map // reflect.Type -> map[string]struct{}

// fieldsOf returns the JSON member names of struct type T.
func fieldsOf[T any]() map[string]struct{} {
	t := reflect.TypeFor[T]()
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]struct{})
	}
	f := make(map[string]struct{})
	for sf := range t.Fields() {
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" || !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		f[name] = struct{}{}
	}
	fieldCache.Store(t, f)
	return f
}

// encode writes v as JSON with status.
func encode(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}
