package cluster

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/pgtest"
	"github.com/latchauth/latch/password"
	"github.com/latchauth/latch/postgres"
)

// pollGap spaces one observer's polls. Polling flat out from the same two
// cores starves the very processes being measured (the PostgreSQL backend
// that delivers the notice, the node's follower): in our runs that alone
// pushed p99 from about 4 ms to 20–100 ms.
const pollGap = 200 * time.Microsecond

// BenchmarkRevocationLag measures revocation propagation across three
// real latch processes on one PostgreSQL: each iteration logs out one
// session on one node (taking turns) while the two other nodes, which have
// the session cached, are polled with its token (every 200µs); the lag is
// the time from the logout's response to the end of the first refused
// request on each of them (an upper bound: it includes that request and
// up to one poll gap). Reported: p50, p99 and max over every (revocation,
// other node) pair, and how often the first request after the logout was
// already refused; the log adds a lower bound (the latest a request sent
// after the logout was still accepted), which tells a slow refusal from a
// late one. Before each logout it also times a bare PostgreSQL
// NOTIFY round trip on the same server (notify-p99-ms): the floor under
// any cross-node lag, at the same moments, to read the lag against on a
// shared machine.
//
//	go test ./internal/cluster -run '^$' -bench RevocationLag -benchtime 1000x
//
// Sessions are minted in-process on the same database, secret and issuer
// (with cheap password hashing), so a thousand logins take a second, not a
// minute of argon2id.
func BenchmarkRevocationLag(b *testing.B) {
	c := newCluster(b, pgtest.NewDatabase(b), 3)
	mint := newMinter(b, c)
	bare := newNotifyProbe(b, c.dbURL)
	var (
		lags    []time.Duration
		stale   []time.Duration // lower bounds: a request sent this long after the logout was still accepted
		notices []time.Duration
		first   int // refused by the very first request after the logout
	)
	i := 0
	for b.Loop() {
		g := mint.login(b)
		by := i % 3
		i++
		observers := []*proc{c.nodes[(by+1)%3], c.nodes[(by+2)%3]}
		for _, p := range observers {
			c.mustMe(b, p, g.AccessToken, http.StatusOK)
			c.mustMe(b, p, g.AccessToken, http.StatusOK) // cached now
		}
		notices = append(notices, bare.roundTrip(b))
		c.must(b, "POST", c.nodes[by].base+"/v1/logout", g.AccessToken, "", http.StatusNoContent, nil)
		out := time.Now()
		var wg sync.WaitGroup
		got := make([]time.Duration, len(observers))
		accepted := make([]time.Duration, len(observers)) // start of the last accepted request
		immediate := make([]bool, len(observers))
		for k, p := range observers {
			wg.Go(func() {
				for n := 0; ; n++ {
					sent := time.Now()
					status, err := c.me(context.Background(), p, g.AccessToken)
					if err != nil || (status != http.StatusOK && status != http.StatusUnauthorized) {
						b.Errorf("%s: GET /v1/me = %d, %v", p.name, status, err)
						return
					}
					if status == http.StatusUnauthorized {
						got[k], immediate[k] = time.Since(out), n == 0
						return
					}
					accepted[k] = sent.Sub(out)
					if time.Since(out) > 5*time.Second {
						b.Errorf("%s: revoked token still accepted after 5s", p.name)
						return
					}
					time.Sleep(pollGap)
				}
			})
		}
		wg.Wait()
		for k := range got {
			lags = append(lags, got[k])
			stale = append(stale, accepted[k])
			if immediate[k] {
				first++
			}
		}
		time.Sleep(2 * time.Millisecond) // let the notice settle before the next warm-up
	}
	if len(lags) == 0 {
		return
	}
	p50, p99, top := quantiles(lags)
	n50, n99, ntop := quantiles(notices)
	b.ReportMetric(p50, "p50-ms")
	b.ReportMetric(p99, "p99-ms")
	b.ReportMetric(top, "max-ms")
	b.ReportMetric(n99, "notify-p99-ms")
	b.ReportMetric(float64(first)/float64(len(lags))*100, "%first-refused")
	_, s99, stop := quantiles(stale)
	b.Logf("%d revocations, %d observations on %d CPUs: lag p50 %.2fms p99 %.2fms max %.2fms; %d%% refused by the first request after the logout returned; "+
		"accepted by a request sent that long after the logout (lower bound of the lag): p99 %.2fms max %.2fms; bare NOTIFY round trip meanwhile p50 %.2fms p99 %.2fms max %.2fms",
		i, len(lags), runtime.NumCPU(), p50, p99, top, first*100/len(lags), s99, stop, n50, n99, ntop)
}

// quantiles returns p50, p99 and max in milliseconds.
func quantiles(ds []time.Duration) (p50, p99, top float64) {
	slices.Sort(ds)
	at := func(p float64) float64 {
		return float64(ds[min(len(ds)-1, int(p*float64(len(ds))))]) / float64(time.Millisecond)
	}
	return at(0.50), at(0.99), float64(ds[len(ds)-1]) / float64(time.Millisecond)
}

// notifyProbe measures a bare PostgreSQL NOTIFY round trip (commit on one
// connection, delivery on another) on the same server: the floor under
// any cross-node lag, measured at the same moments as the lag.
type notifyProbe struct {
	send, recv *pgx.Conn
}

func newNotifyProbe(t testing.TB, dbURL string) *notifyProbe {
	t.Helper()
	p := &notifyProbe{}
	var err error
	if p.send, err = pgx.Connect(t.Context(), dbURL); err != nil {
		t.Fatal(err)
	}
	if p.recv, err = pgx.Connect(t.Context(), dbURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.send.Close(context.Background()); p.recv.Close(context.Background()) })
	if _, err := p.recv.Exec(t.Context(), `LISTEN latch_bench_probe`); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *notifyProbe) roundTrip(t testing.TB) time.Duration {
	t.Helper()
	start := time.Now()
	if _, err := p.send.Exec(t.Context(), `SELECT pg_notify('latch_bench_probe', '')`); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := p.recv.WaitForNotification(ctx); err != nil {
		t.Fatal(err)
	}
	return time.Since(start)
}

// minter creates sessions on the cluster's database directly, as a fourth
// (in-process) node would, with cheap password hashing.
type minter struct {
	svc   *latch.Service
	email string
}

func newMinter(t testing.TB, c *cluster) *minter {
	t.Helper()
	raw, err := os.ReadFile(c.secret)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := latch.ParseSecret(raw)
	if err != nil {
		t.Fatal(err)
	}
	st, err := postgres.Open(t.Context(), c.dbURL, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := latch.NewService(t.Context(), st, secret, password.New(password.Options{Params: latchtest.TestParams}),
		latch.Config{Issuer: issuer, Audience: issuer, Cache: latch.CacheConfig{Disabled: true}, Limits: latch.Limits{Off: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	m := &minter{svc: svc, email: fmt.Sprintf("lag-%d@example.com", time.Now().UnixNano())}
	if _, err := svc.CreateUser(t.Context(), m.email, testPassword); err != nil {
		t.Fatal(err)
	}
	return m
}

func (m *minter) login(t testing.TB) grant {
	t.Helper()
	g, err := m.svc.Login(t.Context(), m.email, testPassword, device)
	if err != nil {
		t.Fatal(err)
	}
	return grant{AccessToken: g.AccessToken, RefreshToken: g.RefreshToken, SessionID: string(g.Session.ID)}
}
