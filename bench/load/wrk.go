package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// wrk drives throughput runs when Debian's wrk is installed: a C load
// generator takes far less of the shared CPUs than a Go client would, so
// the ratios say more about latch. Without it the Go generator is used and
// the table says so.
const wrkScript = `
local tokens = {}
for line in io.lines(os.getenv("LATCH_TOKENS")) do tokens[#tokens + 1] = line end
local i = math.random(#tokens)
request = function()
  i = i + 1
  return wrk.format("GET", os.getenv("LATCH_PATH"), {["Authorization"] = "Bearer " .. tokens[(i % #tokens) + 1]})
end
`

var wrkRE = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)

type wrkRunner struct {
	bin, script, tokens string
	conns               int
}

func newWrk(dir string, tokens []string, conns int) (*wrkRunner, error) {
	bin, err := exec.LookPath("wrk")
	if err != nil {
		return nil, err
	}
	w := &wrkRunner{bin: bin, script: filepath.Join(dir, "latch.lua"), tokens: filepath.Join(dir, "tokens.txt"), conns: conns}
	if err := os.WriteFile(w.script, []byte(wrkScript), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(w.tokens, []byte(strings.Join(tokens, "\n")+"\n"), 0o600); err != nil {
		return nil, err
	}
	return w, nil
}

// rate runs wrk against base+path for d; every request carries a bearer
// token, also to unauthenticated paths, so both sides of a ratio parse the
// same request.
func (w *wrkRunner) rate(ctx context.Context, base, path string, d time.Duration) (float64, error) {
	secs := max(int(d/time.Second), 1)
	cmd := exec.CommandContext(ctx, w.bin, "-t1", "-c"+strconv.Itoa(w.conns), "-d"+strconv.Itoa(secs)+"s", "-s", w.script, base+path)
	cmd.Env = append(os.Environ(), "LATCH_TOKENS="+w.tokens, "LATCH_PATH="+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("wrk: %v: %s", err, out)
	}
	if strings.Contains(string(out), "Non-2xx") {
		return 0, fmt.Errorf("wrk saw errors: %s", out)
	}
	m := wrkRE.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("wrk output not understood: %s", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}
