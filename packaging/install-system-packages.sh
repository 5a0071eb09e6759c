#!/bin/sh
# Install the Debian packages given as arguments, or say which are missing.
# As root this installs them; otherwise it prints the exact command to run,
# so nothing is hidden behind sudo.
set -eu
missing=""
for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $pkg"
    fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
    echo "Installing system packages:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing
else
    echo "These Debian packages are missing:$missing" >&2
    echo "Install them with:  sudo apt-get install$missing" >&2
    exit 1
fi
