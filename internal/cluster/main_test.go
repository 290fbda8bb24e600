package cluster

import (
	"os"
	"testing"

	"github.com/latchauth/latch/internal/pgtest"
)

func TestMain(m *testing.M) {
	code := pgtest.Run(m)
	removeBinary()
	os.Exit(code)
}
