package latch

import (
	"context"
	"strconv"
	"time"

	"github.com/latchauth/latch/token"
)

// RevocationIndex is implemented by stores that can find where the feed's
// replay window starts with an index instead of reading the whole history.
// Like ClientStore it is optional; without it the feed scans.
type RevocationIndex interface {
	// RevocationReplayStart returns the greatest seq such that every
	// revocation with At at or after since has a greater Seq: the smallest
	// such Seq minus one, or the newest Seq (0 if none) when there is none.
	RevocationReplayStart(ctx context.Context, since time.Time) (int64, error)
}

// FeedStart is where a revocation feed begins.
type FeedStart struct {
	// After: the feed sends every revocation with a greater Seq.
	After int64
	// Since is the start of the replay window when the receiver gave no
	// Last-Event-ID; zero when it resumed. A receiver cannot have learned of
	// revocations before Since, so it must not vouch for tokens issued
	// before it (guard does not).
	Since time.Time
}

// FeedWindow is how far back a feed without Last-Event-ID replays: a
// session revoked earlier has no unexpired access token left, since every
// token was issued before its session ended and lives AccessTTL (plus the
// verifiers' clock leeway).
func (s *Service) FeedWindow() time.Duration { return s.Policy.AccessTTL + token.MaxLeeway }

// StartFeed decides where a feed begins. A receiver that resumes (it sent
// Last-Event-ID) gets exactly the revocations after that id, however old;
// a new one gets the replay window.
//
// A Last-Event-ID beyond the newest revocation cannot be honoured: the
// database was restored from a backup (or belongs to another installation)
// and its next revocations will reuse ids the receiver has already seen.
// Resuming there would silently skip them, so such a receiver gets a fresh
// replay instead, and the sync event then carries a head below its last id,
// which tells it to start over.
func (s *Service) StartFeed(ctx context.Context, lastEventID int64, resume bool) (FeedStart, error) {
	if resume {
		head, err := s.store.RevocationHead(ctx)
		if err != nil {
			return FeedStart{}, s.unavailable(err)
		}
		if lastEventID <= head {
			return FeedStart{After: lastEventID}, nil
		}
		s.logger().Warn("revocation feed: Last-Event-ID is beyond the newest revocation (restored database?); replaying afresh",
			"last_event_id", lastEventID, "head", head)
	}
	since := s.now().Add(-s.FeedWindow())
	if idx, ok := s.store.(RevocationIndex); ok {
		after, err := idx.RevocationReplayStart(ctx, since)
		if err != nil {
			return FeedStart{}, s.unavailable(err)
		}
		return FeedStart{After: after, Since: since}, nil
	}
	// Scan: history is read once per new receiver, never per event.
	var after int64
	for {
		revs, err := s.store.RevocationsAfter(ctx, after, 1000)
		if err != nil {
			return FeedStart{}, s.unavailable(err)
		}
		for _, r := range revs {
			if !r.At.Before(since) {
				return FeedStart{After: r.Seq - 1, Since: since}, nil
			}
			after = r.Seq
		}
		if len(revs) < 1000 {
			return FeedStart{After: after, Since: since}, nil
		}
	}
}

// FeedEvent is one revocation as the feed sends it: its Seq (the SSE id)
// and a signed session-revoked Security Event Token addressed to the client.
type FeedEvent struct {
	Seq int64
	SET string
}

// FeedEvents reads up to limit revocations after seq after, in Seq order,
// and signs each with the current signing key.
func (s *Service) FeedEvents(ctx context.Context, c *Client, after int64, limit int) ([]FeedEvent, error) {
	revs, err := s.store.RevocationsAfter(ctx, after, limit)
	if err != nil {
		return nil, s.unavailable(err)
	}
	now := s.now()
	signer := s.keys.Load().SignerAt(now)
	out := make([]FeedEvent, 0, len(revs))
	for _, r := range revs {
		set, err := token.SignSessionRevoked(signer, &token.SessionRevoked{
			Issuer: s.issuer, Audience: c.Name,
			// Stable per revocation, so a receiver can drop a redelivery.
			ID:        strconv.FormatInt(r.Seq, 10) + "-" + string(r.SessionID),
			IssuedAt:  now,
			SessionID: string(r.SessionID), UserID: string(r.UserID), EventTime: r.At,
			InitiatingEntity: initiatingEntity(r.Reason), Reason: string(r.Reason), ReasonUser: reasonText(r.Reason),
		})
		if err != nil {
			return nil, err
		}
		out = append(out, FeedEvent{Seq: r.Seq, SET: set})
	}
	return out, nil
}

// ClientActive reports whether c is still registered; open feeds check it
// now and then so removing a client ends its streams.
func (s *Service) ClientActive(ctx context.Context, c *Client) error {
	cs, err := s.clientStore()
	if err != nil {
		return err
	}
	cur, err := cs.ClientByName(ctx, c.Name)
	if err != nil || !cur.SecretHash.Equal(c.SecretHash) {
		return &Error{Kind: KindUnauthenticated, Code: CodeInvalidClient, Message: "the client was removed", Err: err}
	}
	return nil
}

// initiatingEntity maps a reason to CAEP's initiating_entity.
func initiatingEntity(r RevokeReason) string {
	switch r {
	case ReasonLogout, ReasonLogoutOthers, ReasonLogoutAll, ReasonRevokedByUser, ReasonPasswordChange:
		return "user"
	case ReasonAdmin, ReasonUserDisabled:
		return "admin"
	case ReasonRefreshReuse:
		return "policy"
	}
	return "system"
}

// reasonText is CAEP's reason_user: what to tell the person.
func reasonText(r RevokeReason) string {
	switch r {
	case ReasonLogout:
		return "You signed out."
	case ReasonLogoutOthers:
		return "You signed out of your other devices."
	case ReasonLogoutAll:
		return "You signed out everywhere."
	case ReasonRevokedByUser:
		return "You signed this device out."
	case ReasonPasswordChange:
		return "Your password was changed."
	case ReasonRefreshReuse:
		return "This session was ended because its credentials were used twice, which suggests they were copied."
	case ReasonAdmin:
		return "An administrator ended this session."
	case ReasonUserDisabled:
		return "Your account was disabled."
	case ReasonTokenRevocation:
		return "An application revoked this session."
	}
	return "This session ended."
}

// Issuer returns the iss of latch's tokens, which is also the base of the
// URLs in its authorization server metadata (RFC 8414).
func (s *Service) Issuer() string { return s.issuer }

// Audience returns the aud of latch's access tokens.
func (s *Service) Audience() string { return s.audience }
