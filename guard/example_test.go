package guard_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/guard"
	"github.com/latchauth/latch/password"
	"github.com/latchauth/latch/server"
	"github.com/latchauth/latch/sqlite"
)

// A service trusts latch tokens with guard: create it with the client
// credentials from `latch clients add notes`, run it, wrap the handlers.
func Example() {
	latchURL, secret, svc, stop := startLatch() // a real latch on loopback, for this example
	defer stop()

	g, err := guard.New(guard.Config{URL: latchURL, ClientID: "notes", ClientSecret: secret})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go g.Run(ctx)

	api := g.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := guard.ClaimsFrom(r.Context())
		fmt.Fprint(w, "notes of session ", len(claims.SessionID) == 36)
	}))

	grant, _ := svc.Signup(ctx, "alice@example.com", "correct horse battery staple", latch.Device{})
	call := func() {
		req := httptest.NewRequest("GET", "/notes", nil)
		req.Header.Set("Authorization", "Bearer "+grant.AccessToken)
		w := httptest.NewRecorder()
		api.ServeHTTP(w, req)
		if challenge := w.Header().Get("WWW-Authenticate"); challenge != "" {
			fmt.Println(w.Code, challenge)
		} else {
			fmt.Println(w.Code, w.Body.String())
		}
	}
	for !g.Status().Current { // a real service would report "not ready" meanwhile
		time.Sleep(time.Millisecond)
	}
	call()

	p, _ := svc.Authenticate(ctx, grant.AccessToken)
	svc.Logout(ctx, p, latch.ScopeCurrent, latch.Device{})
	// The revocation reaches guard within milliseconds.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if _, err := g.Check(ctx, grant.AccessToken); err != nil {
			break
		}
	}
	call()
	// Output:
	// 200 notes of session true
	// 401 Bearer realm="latch", error="invalid_token", error_description="session_revoked"
}

// startLatch runs latch on a SQLite file in a temporary directory and
// registers the client "notes".
func startLatch() (url, secret string, svc *latch.Service, stop func()) {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "latch-example")
	st, err := sqlite.Open(ctx, filepath.Join(dir, "latch.db"))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := st.Migrate(ctx, nil); err != nil {
		log.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	url = "http://" + ln.Addr().String()
	s, _, _ := latch.GenerateSecret(rand.Reader)
	svc, err = latch.NewService(ctx, st, s, password.New(password.Options{Params: password.Params{Memory: 64, Time: 1, Threads: 1}}),
		latch.Config{Issuer: url, Audience: url})
	if err != nil {
		log.Fatal(err)
	}
	_, secret, _ = svc.AddClient(ctx, "notes")
	srv := &http.Server{Handler: server.New(svc, st, server.Options{})}
	go srv.Serve(ln)
	return url, secret, svc, func() {
		srv.Close()
		svc.Close()
		st.Close()
		os.RemoveAll(dir)
	}
}
