package latch

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"time"
)

// Client is another service that reads the revocation feed and calls
// introspection and revocation. It authenticates with its name and a secret
// (HTTP Basic, client_secret_basic, RFC 6749 §2.3.1).
type Client struct {
	Name string
	// SecretHash is the SHA-256 of the secret's random bytes. The secret
	// itself is shown once, when the client is added, and never stored.
	SecretHash TokenHash
	CreatedAt  time.Time
}

// ClientStore persists clients. It is separate from Store so a store can
// gain it on its own schedule; Service finds it on its store with a type
// assertion, and client endpoints answer 503 on a store without it.
type ClientStore interface {
	// CreateClient inserts c. ErrConflict if the name exists.
	CreateClient(ctx context.Context, c *Client) error
	// ClientByName returns the client or ErrNotFound.
	ClientByName(ctx context.Context, name string) (*Client, error)
	// ListClients returns every client, by name.
	ListClients(ctx context.Context) ([]*Client, error)
	// DeleteClient removes the client or returns ErrNotFound.
	DeleteClient(ctx context.Context, name string) error
}

// clientSecretPrefix lets secret scanners spot a leaked client secret.
const clientSecretPrefix = "latch_cs_"

// clientSecretLen is the number of random bytes in a secret: 256 bits, so a
// fast hash is enough to store it (there is nothing to brute-force).
const clientSecretLen = 32

var clientNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// Audit event types for clients.
const (
	AuditClientAdded   AuditType = "client_added"
	AuditClientRemoved AuditType = "client_removed"
)

// Client error codes (append-only, like those in error.go).
const (
	// CodeInvalidClient means client authentication failed (RFC 6749 §5.2).
	CodeInvalidClient = "invalid_client"
	// CodeClientExists means a client with that name is already registered.
	CodeClientExists = "client_exists"
)

func (s *Service) clientStore() (ClientStore, error) {
	cs, ok := s.store.(ClientStore)
	if !ok {
		return nil, &Error{Kind: KindUnavailable, Code: CodeUnavailable, Message: "this store does not support service clients",
			Err: fmt.Errorf("%T does not implement latch.ClientStore", s.store)}
	}
	return cs, nil
}

// AddClient registers a client and returns its secret, which exists only in
// this return value: store it now.
func (s *Service) AddClient(ctx context.Context, name string) (*Client, string, error) {
	if err := ValidateClientName(name); err != nil {
		return nil, "", err
	}
	cs, err := s.clientStore()
	if err != nil {
		return nil, "", err
	}
	raw := make([]byte, clientSecretLen)
	if _, err := io.ReadFull(s.rand(), raw); err != nil {
		return nil, "", fmt.Errorf("generate client secret: %w", err)
	}
	c := &Client{Name: name, SecretHash: HashSecret(raw), CreatedAt: s.now()}
	if err := cs.CreateClient(ctx, c); err != nil {
		if errors.Is(err, ErrConflict) {
			return nil, "", &Error{Kind: KindConflict, Code: CodeClientExists, Field: "name", Message: "a client with this name exists"}
		}
		return nil, "", s.unavailable(err)
	}
	s.audit(ctx, &AuditEvent{At: c.CreatedAt, Type: AuditClientAdded, Outcome: "ok", Detail: "client " + name})
	return c, clientSecretPrefix + base64.RawURLEncoding.EncodeToString(raw), nil
}

// ValidateClientName returns a validation_failed [*Error] unless AddClient
// accepts name as a new client's name, so a caller can check a name before
// it has a Service (latch clients add checks it before opening the
// database).
func ValidateClientName(name string) error {
	if !clientNameRE.MatchString(name) {
		return &Error{Kind: KindInvalid, Code: CodeValidationFailed, Field: "name",
			Message: "a client name is 1 to 63 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit"}
	}
	return nil
}

// Clients lists every client.
func (s *Service) Clients(ctx context.Context) ([]*Client, error) {
	cs, err := s.clientStore()
	if err != nil {
		return nil, err
	}
	list, err := cs.ListClients(ctx)
	if err != nil {
		return nil, s.unavailable(err)
	}
	return list, nil
}

// RemoveClient deletes a client; its secret stops working at once. Streams
// it has open end at their next poll.
func (s *Service) RemoveClient(ctx context.Context, name string) error {
	cs, err := s.clientStore()
	if err != nil {
		return err
	}
	if err := cs.DeleteClient(ctx, name); err != nil {
		if errors.Is(err, ErrNotFound) {
			return errorf(KindNotFound, CodeNotFound, "no client named %q", name)
		}
		return s.unavailable(err)
	}
	s.audit(ctx, &AuditEvent{Type: AuditClientRemoved, Outcome: "ok", Detail: "client " + name})
	return nil
}

// dummyClientHash is compared against when the name is unknown, so an
// unknown name costs what a wrong secret costs.
var dummyClientHash = HashSecret(make([]byte, clientSecretLen))

// AuthenticateClient checks a client's name and secret. Every failure is
// the same invalid_client error; the hash comparison is constant-time and
// happens for unknown names too.
func (s *Service) AuthenticateClient(ctx context.Context, name, secret string) (*Client, error) {
	fail := func(why string) error {
		s.logger().LogAttrs(ctx, slog.LevelWarn, "client authentication failed", slog.Bool("audit", true),
			slog.String("client", safeName(name)), slog.String("why", why))
		return &Error{Kind: KindUnauthenticated, Code: CodeInvalidClient, Message: "client authentication failed", Err: errors.New(why)}
	}
	raw, ok := parseClientSecret(secret)
	presented := HashSecret(raw)
	if !clientNameRE.MatchString(name) {
		return nil, fail("malformed client name")
	}
	cs, err := s.clientStore()
	if err != nil {
		return nil, err
	}
	c, err := cs.ClientByName(ctx, name)
	switch {
	case errors.Is(err, ErrNotFound):
		dummyClientHash.Equal(presented)
		return nil, fail("unknown client")
	case err != nil:
		return nil, s.unavailable(err)
	}
	if !c.SecretHash.Equal(presented) || !ok {
		return nil, fail("wrong secret")
	}
	return c, nil
}

// parseClientSecret decodes the exact form AddClient prints. A malformed
// secret still yields bytes to hash, so it fails in the same time.
func parseClientSecret(s string) ([]byte, bool) {
	const encodedLen = len(clientSecretPrefix) + (clientSecretLen*8+5)/6
	if len(s) != encodedLen || !strings.HasPrefix(s, clientSecretPrefix) {
		return []byte(s), false
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(s[len(clientSecretPrefix):])
	if err != nil || len(raw) != clientSecretLen {
		return []byte(s), false
	}
	return raw, true
}

// safeName keeps an attacker-chosen client name short and printable in logs.
func safeName(name string) string {
	if clientNameRE.MatchString(name) {
		return name
	}
	return "(malformed)"
}
