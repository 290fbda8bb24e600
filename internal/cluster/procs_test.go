package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/latchauth/latch/postgres"
)

// Real processes: the latch binary, built once per test binary, run as
// several `latch serve` processes on loopback ports, sharing one PostgreSQL
// database and one secret file. Each runs as its own database role, so a
// test can find (and kill) one node's connections in pg_stat_activity.

// issuer is the same on every node, as it must be in a real cluster: the
// URL clients reach the load balancer at.
const issuer = "http://latch.cluster"

// dbPassword goes into every node's database URL (the test server trusts
// local connections and ignores it) to prove it never reaches a log.
const dbPassword = "Cluster-db-pw-7"

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

// latchBinary builds cmd/latch once (without -race: the nodes are measured
// for lag, and the code they run is raced in-process by the other tests).
func latchBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "latch-cluster-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "latch")
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		cmd := exec.Command(goTool, "build", "-o", binPath, "github.com/latchauth/latch/cmd/latch")
		// Without cgo, as latch ships and as .ci/run builds before the
		// tests: there this build is a cache hit, not minutes of compiling.
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build cmd/latch: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func removeBinary() {
	if binDir != "" {
		os.RemoveAll(binDir)
	}
}

// proc is one running latch process.
type proc struct {
	name    string
	role    string
	base    string // http://127.0.0.1:PORT
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
}

// cluster is several latch serve processes on one database.
type cluster struct {
	bin    string
	dbURL  string // superuser URL of the database
	secret string // the secret file every node shares
	query  string // extra query parameters of the nodes' database URLs
	nodes  []*proc
	client *http.Client
}

// newCluster migrates the database at dbURL (creating the secret file once,
// as an operator would) and starts n nodes, waiting until each is ready
// and trusts its cache. extra flags go to every node.
func newCluster(t testing.TB, dbURL string, n int, extra ...string) *cluster {
	t.Helper()
	return newClusterWith(t, dbURL, n, "", extra...)
}

// newClusterWith is newCluster with query parameters for every node's
// database URL (pgx's pool_min_conns, say).
func newClusterWith(t testing.TB, dbURL string, n int, query string, extra ...string) *cluster {
	t.Helper()
	c := &cluster{bin: latchBinary(t), dbURL: dbURL, query: query, secret: filepath.Join(t.TempDir(), "latch.secret")}
	c.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxIdleConns: 256, MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second,
	}}
	t.Cleanup(c.client.CloseIdleConnections)
	if out, err := c.cli(t, "migrate"); err != nil {
		t.Fatalf("latch migrate: %v\n%s", err, out)
	}
	for i := range n {
		role := createRole(t, dbURL, fmt.Sprintf("p%d", i+1))
		c.nodes = append(c.nodes, c.start(t, fmt.Sprintf("node%d", i+1), role, extra...))
	}
	for _, p := range c.nodes {
		p.waitLog(t, "revocation follower caught up", 1, 30*time.Second)
	}
	return c
}

// nodeURL is the database URL a node uses: its own role, with a password
// the logs must never show.
func (c *cluster) nodeURL(t testing.TB, role string) string {
	u, err := url.Parse(c.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(role, dbPassword)
	if c.query != "" {
		u.RawQuery += "&" + c.query
	}
	return u.String()
}

// cli runs one latch command against the cluster's database as an operator
// would, and returns its combined output.
func (c *cluster) cli(t testing.TB, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Env = append(os.Environ(), "LATCH_DB="+c.dbURL, "LATCH_SECRET_FILE="+c.secret, "LATCH_ISSUER="+issuer)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

var listeningRE = regexp.MustCompile(`msg="latch listening" addr=(127\.0\.0\.1:\d+)`)

func (c *cluster) start(t testing.TB, name, role string, extra ...string) *proc {
	t.Helper()
	p := &proc{name: name, role: role, logPath: filepath.Join(t.TempDir(), name+".log"), exited: make(chan struct{})}
	logFile, err := os.Create(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", c.nodeURL(t, role), "--secret-file", c.secret,
		// These tests drive hundreds of logins and refreshes from one
		// address to check revocation, not the abuse limits (tested on
		// their own, across nodes too, in package latch and cmd/latch).
		"--issuer", issuer, "--shutdown-timeout", "5s", "--no-rate-limits"}, extra...)
	p.cmd = exec.Command(c.bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	// If the test binary dies (a panic, -timeout), the kernel kills the node.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // Pdeathsig follows the thread that forked
		if err := p.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	if err := <-started; err != nil {
		logFile.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		p.stop(t)
		logs := p.logs()
		if strings.Contains(logs, dbPassword) {
			t.Errorf("%s: the log contains the database password", name)
		}
		if t.Failed() {
			t.Logf("%s log (tail, without request lines):\n%s", name, tailLines(withoutRequests(logs), 30))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := listeningRE.FindStringSubmatch(p.logs()); m != nil {
			p.base = "http://" + m[1]
			break
		}
		select {
		case <-p.exited:
			t.Fatalf("%s exited before listening:\n%s", name, p.logs())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no listening line within 30s:\n%s", name, p.logs())
		}
	}
	return p
}

// stop sends SIGTERM and waits for a clean exit, killing after 10s.
func (p *proc) stop(t testing.TB) {
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
		t.Errorf("%s did not stop within 10s of SIGTERM", p.name)
	}
}

func (p *proc) logs() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

// waitLog waits until the log holds at least n lines containing s.
func (p *proc) waitLog(t testing.TB, s string, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for strings.Count(p.logs(), s) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d× %q in the log after %v, want %d", p.name, strings.Count(p.logs(), s), s, within, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func withoutRequests(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.Contains(l, " msg=request ") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ---- HTTP ----

type grant struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	SessionID    string `json:"session_id"`
}

// do sends one request and returns the status and body; it never fails
// the test, so hammering goroutines can use it.
func (c *cluster) do(ctx context.Context, method, url, bearer, body string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// must sends one request, requires status want and decodes into out.
func (c *cluster) must(t testing.TB, method, url, bearer, body string, want int, out any) {
	t.Helper()
	status, b, err := c.do(t.Context(), method, url, bearer, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	if status != want {
		t.Fatalf("%s %s = %d %s, want %d", method, url, status, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, url, b, err)
		}
	}
}

func (c *cluster) signup(t testing.TB, p *proc, email string) grant {
	t.Helper()
	var g grant
	c.must(t, "POST", p.base+"/v1/signup", "", `{"email":"`+email+`","password":"`+testPassword+`"}`, http.StatusCreated, &g)
	return g
}

func (c *cluster) login(t testing.TB, p *proc, email string) grant {
	t.Helper()
	var g grant
	c.must(t, "POST", p.base+"/v1/login", "", `{"email":"`+email+`","password":"`+testPassword+`"}`, http.StatusOK, &g)
	return g
}

// me returns the status of GET /v1/me with tok on p.
func (c *cluster) me(ctx context.Context, p *proc, tok string) (int, error) {
	status, _, err := c.do(ctx, "GET", p.base+"/v1/me", tok, "")
	return status, err
}

func (c *cluster) mustMe(t testing.TB, p *proc, tok string, want int) {
	t.Helper()
	c.must(t, "GET", p.base+"/v1/me", tok, "", want, nil)
}

// refusedAfter polls GET /v1/me with tok on p (every pollGap) until it gets 401, and
// returns the time from since to the end of that refused request: an upper
// bound of the node's lag (it includes the request itself). Any status but
// 200 or 401 fails the test; so does still being accepted after limit.
func (c *cluster) refusedAfter(t testing.TB, p *proc, tok string, since time.Time, limit time.Duration) time.Duration {
	t.Helper()
	for {
		status, err := c.me(t.Context(), p, tok)
		if err != nil {
			t.Fatalf("%s: GET /v1/me: %v", p.name, err)
		}
		switch status {
		case http.StatusUnauthorized:
			return time.Since(since)
		case http.StatusOK:
		default:
			t.Fatalf("%s: GET /v1/me = %d, want 200 or 401", p.name, status)
		}
		if time.Since(since) > limit {
			t.Fatalf("%s: ended token still accepted %v later", p.name, limit)
		}
		time.Sleep(pollGap) // polling flat out would starve the nodes being measured
	}
}

// allRefuse checks that every node refuses every one of toks, polling each
// from since, and logs how long after since each first refused.
func (c *cluster) allRefuse(t testing.TB, what string, since time.Time, toks ...string) {
	t.Helper()
	var parts []string
	for _, p := range c.nodes {
		worst := time.Duration(0)
		for _, tok := range toks {
			worst = max(worst, c.refusedAfter(t, p, tok, since, lagLimit))
		}
		parts = append(parts, p.name+" "+ms(worst))
	}
	t.Logf("refused after %s (time to the end of the first refused request): %s", what, strings.Join(parts, ", "))
}

// noTokensLogged checks that no node wrote any of toks to its log.
func (c *cluster) noTokensLogged(t testing.TB, toks ...string) {
	t.Helper()
	for _, p := range c.nodes {
		logs := p.logs()
		for _, tok := range toks {
			if tok != "" && strings.Contains(logs, tok) {
				t.Errorf("%s: a token appears in the log", p.name)
				return
			}
		}
	}
}

// killListener ends one node's notification connection from the database
// side and returns how many backends that ended.
func (c *cluster) killListener(ctx context.Context, p *proc) (int, error) {
	conn, err := connect(ctx, c.dbURL)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.Background())
	var n int
	err = conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND usename = $2`, postgres.ListenerApplicationName, p.role).Scan(&n)
	return n, err
}

// sinceMS formats a duration in milliseconds with two decimals.
func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

func mustJSON(t testing.TB, b []byte, out any) {
	t.Helper()
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}
