# Two commands do everything on a fresh machine:
#   make run    set up, build, and run `sgaps serve` on the built-in default config
#   make test   set up, build, and run the whole test suite
#   make demo   stream a held-out Super Mario Bros level through the server (dashboard)
#   make dist   package libsgaps.so, sgaps.h and the libtorch it needs (CPU; CUDA=1 for GPU)
# Set-up (scripts/setup.sh) installs libtorch (the torch wheel), CMake and the Python
# packages into a cache outside the checkout; a second run skips what is there.

WITH_ENV := scripts/with-env
CARGO := $(WITH_ENV) cargo

.PHONY: setup build run demo test bench dist

setup:
	@scripts/setup.sh

build: setup
	$(CARGO) build --release --workspace

run: build
	$(CARGO) run --release --bin sgaps -- serve $(ARGS)

# The default model on a level it never saw, live at http://127.0.0.1:8000/.
demo: build
	scripts/demo.sh $(ARGS)

test: setup
	$(CARGO) test --workspace
	$(WITH_ENV) scripts/test-bindings.sh
	$(WITH_ENV) python -m pytest -q tools/tests

# The numbers the issue notes quote: 112x112, N=500, batch 1 and 8, both decoders,
# seed dimensions and the small CPU preset.
bench: build
	@for model in spt spt_small; do for decoder in cross seed; do for batch in 1 8; do \
		$(CARGO) run -q --release --bin sgaps -- bench model --json --batch $$batch --iters 5 --warmup 1 \
			model=$$model model.decoder=$$decoder device=cpu || exit 1; \
	done; done; done

# dist/sgaps-VERSION-linux-x86_64/: lib/libsgaps.so with the libtorch libraries it loads
# ($ORIGIN rpaths), include/sgaps.h, and the C example; see scripts/make-dist.sh.
dist: setup
	$(CARGO) build --release -p sgaps-ffi
	$(WITH_ENV) scripts/make-dist.sh
