# The two commands of the README. Both install what is missing first
# (scripts/bootstrap.sh, idempotent).
#   make dev   the Worker in workerd on sample settings, with local stand-ins
#   make test  every test
.PHONY: dev test bench bench-compare fuzz bootstrap worker cli-demo

dev: bootstrap
	@cargo build --quiet --release --bin reamaze-bridge
	@scripts/dev.sh

test:
	@scripts/test.sh

# Speed and size, against the alternatives, as one table (see BENCHMARKS.md).
bench:
	@bench/run.sh

# The native and npm benchmarks of REV and of the working tree, side by side
# (bench/compare.sh): make bench-compare REV=<commit>
bench-compare:
	@REV="$(REV)" bench/compare.sh

# Every fuzz target for ten minutes, one after another (scripts/fuzz.sh).
fuzz: bootstrap
	@scripts/fuzz.sh 600

bootstrap:
	@scripts/bootstrap.sh

# The Worker alone, into build/ (wrangler dev and deploy run this too).
worker: bootstrap
	@scripts/build-worker.sh

# The core through the CLI over the bundled sample payloads.
cli-demo: bootstrap
	@cargo build --quiet --release --bin reamaze-bridge
	@scripts/cli-demo.sh target/release/reamaze-bridge
