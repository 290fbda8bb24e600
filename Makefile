# Shortcuts; the README gives the plain commands too.
.PHONY: test bench bench-go fuzz

test:            ## the README's test command
	go test -race ./...

bench:           ## the load table in the README (real binary, loopback, ~3 minutes)
	go run ./bench/load

bench-go:        ## the Go benchmarks in the README
	go test -run '^$$' -bench 'AuthenticatePaths|Service' -benchmem -count 6 . | tee bench.txt && benchstat bench.txt

fuzz:            ## every fuzz target for 5 minutes
	bash .ci/fuzz 5m 1
