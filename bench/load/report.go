package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"text/tabwriter"
	"time"
)

type pathRow struct {
	mode         string
	baseline, me float64
}

// report collects every figure of one run.
type report struct {
	ran         map[string]bool // steps that ran, by their -only name
	requestPath []pathRow
	generator   string

	rawArgon, loginRate     float64
	loginFailed             int64
	floodOK, floodShed      int64
	floodErrors             int64
	floodPeakMiB            float64
	refreshRate             float64
	refreshP50, refreshP99  time.Duration
	refreshSoloP50          time.Duration
	refreshBad              int64
	idleMiB                 float64
	bigSessions, bigUsed    int
	seedTime                time.Duration
	bigStartMiB, bigUsedMiB float64
	bigPeakMiB, bigColdRate float64
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

// print writes the table. Only the steps that ran are printed (see -only):
// a step that did not run has no figures, and zeros would read as results.
func (r *report) print(w io.Writer, cpus int, took time.Duration, quick bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "latch load run: %d CPUs, %s, took %s%s\n\n", cpus, time.Now().UTC().Format("2006-01-02"), took.Round(time.Second), map[bool]string{true: " (QUICK: not for the README)"}[quick])
	if r.ran["request-path"] {
		fmt.Fprintf(tw, "request load generator: %s; the JWKS baseline gets the same Authorization header\n\n", r.generator)
	}
	fmt.Fprintln(tw, "measure\tresult\tbaseline (same run)\tratio\ttarget")
	r.printRequestPath(tw)
	if r.ran["login"] {
		r.printLogin(tw)
	}
	if r.ran["refresh"] {
		r.printRefresh(tw)
	}
	if r.ran["memory"] {
		r.printMemory(tw)
	}
	tw.Flush()
}

func (r *report) printRequestPath(tw io.Writer) {
	for i, p := range r.requestPath {
		target := "-"
		if i == 0 {
			target = "≥ 0.90 " + verdict(p.me/p.baseline >= 0.9)
		}
		fmt.Fprintf(tw, "GET /v1/me, %s\t%.0f req/s\tJWKS %.0f req/s\t%.2f\t%s\n", p.mode, p.me, p.baseline, p.me/p.baseline, target)
	}
}

func (r *report) printLogin(tw io.Writer) {
	fmt.Fprintf(tw, "login throughput\t%.1f logins/s\traw argon2id %.1f hashes/s\t%.2f\t≥ 0.90 %s\n", r.loginRate, r.rawArgon, r.loginRate/r.rawArgon, verdict(r.loginRate/r.rawArgon >= 0.9))
	fmt.Fprintf(tw, "login flood: peak RSS\t%s MiB\t-\t-\t≤ 512 MiB %s\n", round1(r.floodPeakMiB), verdict(r.floodPeakMiB <= 512))
	fmt.Fprintf(tw, "login flood: errors other than 429/503\t%d (ok %d, shed %d)\t-\t-\t0 %s\n", r.floodErrors, r.floodOK, r.floodShed, verdict(r.floodErrors == 0))
}

func (r *report) printRefresh(tw io.Writer) {
	fmt.Fprintf(tw, "refresh median latency, one client\t%s\t-\t-\t≤ 1.4 ms %s\n", r.refreshSoloP50.Round(10*time.Microsecond), verdict(r.refreshSoloP50 <= 1400*time.Microsecond))
	fmt.Fprintf(tw, "refresh median latency, 8 clients\t%s (p99 %s)\t-\t-\t-\n", r.refreshP50.Round(10*time.Microsecond), r.refreshP99.Round(10*time.Microsecond))
	fmt.Fprintf(tw, "refresh throughput (8 clients)\t%.0f /s (%d errors)\t-\t-\t≥ 2000/s %s\n", r.refreshRate, r.refreshBad, verdict(r.refreshRate >= 2000))
}

func (r *report) printMemory(tw io.Writer) {
	fmt.Fprintf(tw, "RSS idle\t%s MiB\t-\t-\t≤ 30 MB %s\n", round1(r.idleMiB), verdict(r.idleMiB*1.048576 <= 30))
	fmt.Fprintf(tw, "RSS, %d sessions stored, start\t%s MiB\t-\t-\t-\n", r.bigSessions, round1(r.bigStartMiB))
	fmt.Fprintf(tw, "RSS after %d distinct sessions used\t%s MiB (peak %s)\t-\t-\t≤ 150 MB %s\n", r.bigUsed, round1(r.bigUsedMiB), round1(r.bigPeakMiB), verdict(r.bigUsedMiB*1.048576 <= 150))
	fmt.Fprintf(tw, "  (cold requests, new token each)\t%.0f req/s\t-\t-\t-\n", r.bigColdRate)
}

func decodeJSON(resp *http.Response, v any) error {
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}
