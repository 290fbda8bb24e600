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
			return nil, &httpError{status: http.StatusBadRequest, code: "invalid_request", field: name, message: "unknown field " + quote(name)}
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

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	b, _ := json.Marshal(s)
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
