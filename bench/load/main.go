// Command load measures latch end to end: it builds the real binary, starts
// it on loopback with fresh databases, drives it over HTTP and prints one
// table whose figures all come from the same run. Ratios against a baseline
// measured in the same run are what to read: the machines are shared and
// noisy, so an absolute figure alone means little.
//
//	go run ./bench/load            # about 3 minutes on 2 cores
//	go run ./bench/load -quick     # a smaller run for a smoke test
//
// Load goes only to 127.0.0.1, is bounded in count and time, and stops by
// itself. Every server it starts is killed when it returns.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

func main() {
	quick := flag.Bool("quick", false, "smaller, faster run (smoke test, not for the README)")
	bin := flag.String("latch", "", "latch binary to measure (default: build ./cmd/latch)")
	only := flag.String("only", "", "run only this step: request-path, login, refresh or memory")
	flag.Parse()
	onlyStep = *only
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := run(ctx, *bin, *quick); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

// scale sets the sizes of one run.
type scale struct {
	round       time.Duration // one throughput measurement
	rounds      int           // alternations of baseline and subject
	workers     int
	bigSessions int // sessions in the store for the memory test
	bigUsed     int // distinct sessions used
	logins      int // concurrent logins in the flood
}

// onlyStep, if set, names the one step to run.
var onlyStep string

func run(ctx context.Context, bin string, quick bool) error {
	sc := scale{round: 3 * time.Second, rounds: 3, workers: 16, bigSessions: 1_000_000, bigUsed: 100_000, logins: 200}
	if quick {
		sc = scale{round: 500 * time.Millisecond, rounds: 1, workers: 8, bigSessions: 20_000, bigUsed: 2_000, logins: 40}
	}
	work, err := os.MkdirTemp("", "latch-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if bin == "" {
		bin = filepath.Join(work, "latch")
		fmt.Fprintln(os.Stderr, "building latch…")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/latch")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("build: %w", err)
		}
	}
	r := &report{ran: map[string]bool{}}
	start := time.Now()
	steps := []struct {
		name string
		fn   func(context.Context, string, string, scale, *report) error
	}{
		{"request path", measureRequestPath},
		{"login", measureLogin},
		{"refresh", measureRefresh},
		{"memory", measureMemory},
	}
	for _, s := range steps {
		name := strings.ReplaceAll(s.name, " ", "-")
		if onlyStep != "" && name != onlyStep {
			continue
		}
		r.ran[name] = true
		fmt.Fprintf(os.Stderr, "measuring %s…\n", s.name)
		if err := s.fn(ctx, bin, filepath.Join(work, s.name), sc, r); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	r.print(os.Stdout, runtime.NumCPU(), time.Since(start), quick)
	return nil
}
