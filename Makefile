# Quiesce: application-consistent backups for Linux over D-Bus.
SWIFT ?= swift

.PHONY: all deps build demo test docs soak bench install uninstall deb clean

# The public modules whose DocC archives make docs builds.
DOC_TARGETS = Quiesce QuiesceBus QuiesceWriter QuiesceRequester QuiesceTesting

PREFIX ?= /usr/local
DESTDIR ?=
# What users install: the Swift runtime linked in, so the programs need no toolchain.
RELEASE = -c release --static-swift-stdlib

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

## make demo: a private bus, quiesced, example writers, a real backup and its check.
demo: build
	scripts/demo.sh

## make test: every test (unit and integration, with real processes on private buses), then
## the release build that users install, smoke-tested with a short benchmark (every session of
## real writers through quiesced must succeed; no timing is checked).
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) build --product generate-manual
	$(SWIFT) test --skip-build --skip BenchmarkTests
	# The benchmark test runs sessions back to back: alone, so that its load does not slow
	# the tests with time bounds that would otherwise run beside it.
	$(SWIFT) test --skip-build --filter BenchmarkTests
	$(SWIFT) build $(RELEASE)
	.build/release/quiesce-bench run --writers 3 --sessions 3 --window-writers 3 --freeze-ms 10 --flood-clients 0 --provider-sizes "" --database-starts 2 >/dev/null
	$(MAKE) docs

## make docs: DocC archives of the public modules in .build/docs/<module> (swift-docc-plugin),
## every symbol link checked (warnings are errors); the writer and requester guides are
## articles of QuiesceWriter and QuiesceRequester.
docs:
	mkdir -p .build/docs
	for target in $(DOC_TARGETS); do \
		$(SWIFT) package --allow-writing-to-directory .build/docs generate-documentation \
			--target $$target --output-path .build/docs/$$target --warnings-as-errors >/dev/null || exit 1; \
		echo "documentation: .build/docs/$$target"; \
	done

## make soak: 300 back-to-back backups with 10 writers; prints RSS and open fds.
soak: deps
	$(SWIFT) build --build-tests
	QUIESCE_SOAK_BACKUPS=300 $(SWIFT) test --skip-build --filter SoakTests

## make bench: the benchmark (release build): fan-out latency per phase against the D-Bus
## floor, the freeze window against sequential hooks, writer and quiesced footprint.
bench: deps
	$(SWIFT) build $(RELEASE)
	.build/release/quiesce-bench run

## make install [PREFIX=/usr/local] [DESTDIR=]: the release binaries, bus policy and activation
## file, systemd units, sysusers.d and tmpfiles.d entries, man pages, completions and docs; the
## list of what was installed goes to $(PREFIX)/share/quiesce/installed-files.
install: deps
	$(SWIFT) build $(RELEASE)
	$(SWIFT) build $(RELEASE) --product generate-manual
	PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) scripts/install.sh .build/release

## make deb: .build/quiesce_<version>_<arch>.deb from the same rules (PREFIX=/usr), with
## maintainer scripts that create the quiesce group and /var/lib/quiesce, reload the bus and
## enable quiesced.service.
deb: deps
	$(SWIFT) build $(RELEASE)
	$(SWIFT) build $(RELEASE) --product generate-manual
	scripts/make-deb.sh .build/release .build

## make uninstall [PREFIX=/usr/local] [DESTDIR=]: removes exactly what make install installed.
uninstall:
	PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) scripts/uninstall.sh

clean:
	rm -rf .build .demo
