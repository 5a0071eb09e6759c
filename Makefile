# Two commands matter:  `make demo`  and  `make test`  (see README.md).
# Both set up everything they need on a fresh Debian 12 machine.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# Debian packages the kiosk, its tests and pyscard's build need.
SYSTEM_PACKAGES := \
	python3-venv python3-dev build-essential swig \
	pcscd libpcsclite-dev vsmartcard-vpcd \
	postgresql \
	libgl1 libegl1 libglib2.0-0 libfontconfig1 libxkbcommon0 libxkbcommon-x11-0 libdbus-1-3 \
	libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 \
	libxcb-render-util0 libxcb-image0 \
	fonts-noto-core fonts-dejavu-core fontconfig espeak-ng \
	chromium

.PHONY: demo test system venv lint clean package package-test

demo: system venv
	$(BIN)/kiosk demo --output demo-output

test: system venv
	$(BIN)/lint-imports
	KIOSK_TEST_REQUIRE_SERVICES=1 sh packaging/test-services.sh $(BIN)/python -m pytest
	$(MAKE) package-test

# The .deb packages (vn-checkin-kiosk, vn-checkin-hub) into dist/; see docs/DEPLOY.md.
package: venv
	$(BIN)/python packaging/build_deb.py --out dist

# Build, install, use, upgrade and remove the packages on this machine (root;
# skipped otherwise). Minutes: the kiosk venv is reused from build/deb/.
package-test: venv
	KIOSK_TEST_PACKAGES=1 $(BIN)/python -m pytest tests/test_packaging.py -p no:cacheprovider -rs

system:
	@sh packaging/install-system-packages.sh $(SYSTEM_PACKAGES)

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,postgres]'
	touch $@

lint: venv
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) demo-output artifacts build dist *.egg-info
