package server_test

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/server"
)

// allFeatures are the options that make the server register every route it
// can: any option that adds routes belongs here, so its routes must be
// documented too. PublicURL turns on the HTML pages (tag "pages").
var allFeatures = server.Options{PublicURL: "http://127.0.0.1:8080"}

// docRoute turns a ServeMux pattern into the OpenAPI form "METHOD /path":
// {$} (exact match) disappears, {name...} becomes {name}, and a subtree
// pattern ending in "/" is documented as "/prefix/{path}".
func docRoute(pattern string) string {
	method, path, _ := strings.Cut(pattern, " ")
	path = strings.ReplaceAll(path, "{$}", "")
	path = strings.ReplaceAll(path, "...}", "}")
	if strings.HasSuffix(path, "/") && path != "/" {
		path += "{path}"
	}
	return method + " " + path
}

// The OpenAPI document describes exactly the routes the server registers:
// a route the document lacks fails, and so does a documented route that
// the server does not have.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	raw, err := os.ReadFile("../docs/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("docs/openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
			if _, ok := op["responses"]; !ok {
				t.Errorf("%s %s has no responses", method, path)
			}
		}
	}
	env := latchtest.New(t, latchtest.Options{})
	routes := server.Routes(server.New(env.Service, env.Store, allFeatures))
	if len(routes) == 0 {
		t.Fatal("the server registered no routes")
	}
	registered := map[string]bool{}
	for _, p := range routes {
		r := docRoute(p)
		registered[r] = true
		if !documented[r] {
			t.Errorf("route %q (%s) is missing from docs/openapi.json", p, r)
		}
	}
	for r := range documented {
		if !registered[r] {
			t.Errorf("docs/openapi.json documents %q, which the server does not register", r)
		}
	}
	if t.Failed() {
		keys := make([]string, 0, len(registered))
		for r := range registered {
			keys = append(keys, r)
		}
		slices.Sort(keys)
		t.Logf("registered: %q", keys)
	}
}

func TestDocRoute(t *testing.T) {
	for in, want := range map[string]string{
		"GET /v1/me":                "GET /v1/me",
		"DELETE /v1/sessions/{id}":  "DELETE /v1/sessions/{id}",
		"GET /{$}":                  "GET /",
		"GET /static/":              "GET /static/{path}",
		"GET /files/{name...}":      "GET /files/{name}",
		"POST /account/sign-out-x/": "POST /account/sign-out-x/{path}",
	} {
		if got := docRoute(in); got != want {
			t.Errorf("docRoute(%q) = %q, want %q", in, got, want)
		}
	}
}
