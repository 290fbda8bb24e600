// Package cluster holds latch's many-node tests and the revocation-lag
// benchmark: several latch services (in-process, with injected clocks and
// store hooks) or several real `latch serve` processes sharing one
// PostgreSQL database, checking that a revocation on any node holds on
// every other within the documented bound, and that a node that loses
// track of revocations fails closed.
//
// It has no code of its own; see docs/operations.md for what the tests
// prove and README.md ("Many nodes") for the benchmark.
package cluster
