package guard_test

import (
	"testing"

	"github.com/latchauth/latch/guard"
)

// BenchmarkGuardCheck is guard's whole per-request decision: parse and
// verify the JWT, look up the revoked set, check freshness. Compare runs
// with: go test -run '^$' -bench GuardCheck -count 6 ./guard | tee g.txt && benchstat g.txt
func BenchmarkGuardCheck(b *testing.B) {
	r := newRig(b, guard.Config{}, true)
	g := r.signup("bench@example.com")
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.guard.Check(ctx, g.AccessToken); err != nil {
			b.Fatal(err)
		}
	}
}
