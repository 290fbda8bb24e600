// Command notes is a small API that trusts latch access tokens through
// package guard: each user keeps a list of notes, and a token stops working
// here the moment its session ends at latch.
//
//	latch clients add notes > notes.secret
//	notes --latch-url http://127.0.0.1:8080 --client-secret-file notes.secret
//
// GET /notes lists the caller's notes; POST /notes {"text":"…"} adds one.
// GET /readyz answers 503 until guard is current with latch's revocations.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/latchauth/latch/guard"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "notes:", err)
		os.Exit(1)
	}
}

// run is main without the process.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("notes", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8081", "listen `address`")
	latchURL := fs.String("latch-url", "http://127.0.0.1:8080", "where latch is reached")
	issuer := fs.String("issuer", "", "iss of latch's tokens (default: --latch-url)")
	clientID := fs.String("client-id", "notes", "client name registered with `latch clients add`")
	secretFile := fs.String("client-secret-file", "", "`file` holding the client secret (required)")
	staleAfter := fs.Duration("stale-after", 30*time.Second, "refuse tokens when the revocation feed has been silent this long")
	fallback := fs.String("fallback", "fail-closed", "when not current: fail-closed (503) or introspect")
	if err := fs.Parse(args); err != nil {
		return err
	}
	secret, err := os.ReadFile(*secretFile)
	if err != nil {
		return fmt.Errorf("client secret: %w", err)
	}
	cfg := guard.Config{
		URL: *latchURL, Issuer: *issuer, ClientID: *clientID, ClientSecret: strings.TrimSpace(string(secret)),
		StaleAfter: *staleAfter, Logger: slog.New(slog.NewTextHandler(stderr, nil)),
	}
	switch *fallback {
	case "fail-closed":
	case "introspect":
		cfg.Fallback = guard.Introspect
	default:
		return errors.New("--fallback must be fail-closed or introspect")
	}
	g, err := guard.New(cfg)
	if err != nil {
		return err
	}
	logger := cfg.Logger
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: newAPI(g), ReadHeaderTimeout: 5 * time.Second}
	go g.Run(ctx)
	logger.Info("notes listening", "addr", ln.Addr().String(), "latch", *latchURL)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
