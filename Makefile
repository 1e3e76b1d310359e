# The two commands of the README: `make dev` runs the bridge locally on its
# embedded sample settings; `make test` runs every test. Both install what
# is missing first (scripts/bootstrap.sh, idempotent).

CARGO ?= cargo
WASM_TARGET := wasm32-unknown-unknown

.PHONY: dev test bootstrap lint vectors-check wasm-check

bootstrap:
	@scripts/bootstrap.sh

dev: bootstrap
	@$(CARGO) build --quiet --release --bin reamaze-bridge
	@scripts/dev.sh target/release/reamaze-bridge

test: bootstrap lint vectors-check wasm-check
	@scripts/cargo-test.sh

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets --quiet -- -D warnings

# The committed signature vectors are exactly what their generator (Python's
# hmac, checked by openssl) writes.
vectors-check:
	python3 tests/vectors/generate_signatures.py --check

# Nothing that breaks the WebAssembly build of the core slips in.
wasm-check:
	$(CARGO) build --quiet --lib --release --target $(WASM_TARGET) --no-default-features
	@echo "wasm-check: the core builds for $(WASM_TARGET)"
