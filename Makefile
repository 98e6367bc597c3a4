# Two commands do everything on a fresh machine:
#   make run   - set up .venv and start the daemon on the simulated sensor
#   make test  - set up what the tests need and run every test
.PHONY: run test test-fast bench firmware clean

run:
	@scripts/python-env.sh
	.venv/bin/twitchd run $(ARGS)

test:
	@scripts/python-env.sh test
	@scripts/install-firmware-deps.sh
	@scripts/install-browser-deps.sh
	.venv/bin/python -m pytest $(PYTEST_ARGS)

# Everything but the slow end-to-end runs, for the edit-test loop.
test-fast:
	@scripts/python-env.sh test
	@scripts/install-firmware-deps.sh
	@scripts/install-browser-deps.sh
	.venv/bin/python -m pytest -m "not slow" $(PYTEST_ARGS)

bench:
	@scripts/python-env.sh test
	.venv/bin/twitchd bench detector
	.venv/bin/python benchmarks/decoder_speed.py

# The Uno image (ELF/HEX, with flash and RAM use), the host tests of the C++ core
# and the simavr harness; installs Debian's AVR toolchain and simavr first.
firmware:
	@scripts/install-firmware-deps.sh
	$(MAKE) -C firmware

clean:
	rm -rf .venv build dist .pytest_cache .hypothesis firmware/build
