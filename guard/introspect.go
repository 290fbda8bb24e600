package guard

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/latchauth/latch/token"
)

// introspect asks latch whether raw is live (RFC 7662), for when guard
// cannot vouch for it itself. c holds the locally verified claims, or nil
// when no keys are loaded yet; then the claims come from latch's answer.
func (g *Guard) introspect(ctx context.Context, raw string, c *token.Claims) (*token.Claims, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	form := url.Values{"token": {raw}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, "POST", g.cfg.URL+"/v1/introspect", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, unavailable("latch could not be asked about the token")
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(urlEscape(g.cfg.ClientID), urlEscape(g.cfg.ClientSecret))
	resp, err := g.cfg.HTTPClient.Do(req)
	if err != nil {
		g.logger.Warn("introspection failed", "err", err)
		return nil, unavailable("latch could not be reached to check the token")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		g.logger.Warn("introspection failed", "status", resp.StatusCode)
		return nil, unavailable("latch could not check the token")
	}
	var in struct {
		Active    bool   `json:"active"`
		TokenType string `json:"token_type"`
		Issuer    string `json:"iss"`
		Audience  string `json:"aud"`
		Subject   string `json:"sub"`
		SessionID string `json:"sid"`
		ID        string `json:"jti"`
		Gen       uint64 `json:"gen"`
		IssuedAt  int64  `json:"iat"`
		ExpiresAt int64  `json:"exp"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&in); err != nil {
		return nil, unavailable("latch's introspection answer was unreadable")
	}
	if !in.Active || in.TokenType != "access_token" {
		return nil, refusal(http.StatusUnauthorized, codeInvalidToken, "the access token is no longer active")
	}
	if c != nil {
		return c, nil
	}
	if in.Issuer != g.cfg.Issuer || in.Audience != g.cfg.Audience {
		return nil, refusal(http.StatusUnauthorized, codeInvalidToken, "the access token is for another issuer or audience")
	}
	return &token.Claims{Issuer: in.Issuer, Audience: in.Audience, Subject: in.Subject, SessionID: in.SessionID,
		ID: in.ID, Generation: in.Gen, IssuedAt: timeOf(in.IssuedAt), ExpiresAt: timeOf(in.ExpiresAt)}, nil
}

// urlEscape form-encodes a client credential part for HTTP Basic, as
// RFC 6749 §2.3.1 requires.
func urlEscape(s string) string { return url.QueryEscape(s) }
