# Quiesce: application-consistent backups for Linux over D-Bus.
SWIFT ?= swift

.PHONY: all deps build demo test unit-test integration-test interfaces bench clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

## make demo: a private bus, quiesced, example writers, a real backup and its check.
demo: build
	scripts/demo.sh

## make test: every test (unit and integration, with real processes on private buses).
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

## make interfaces: embed dbus/*.xml into the Quiesce module after editing them.
interfaces:
	scripts/embed-interfaces.sh

clean:
	rm -rf .build .demo
