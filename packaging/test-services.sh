#!/bin/sh
# Run a command (the test suite) with the real services the tests talk to:
#   - pcscd with the vpcd driver, so the simulated chip sits behind real PC/SC;
#   - a throw-away PostgreSQL cluster on 127.0.0.1.
# There is no systemd in CI, so both are started by hand and stopped after.
# Exported for the tests: KIOSK_TEST_PCSCD=1, KIOSK_TEST_POSTGRES_URL.
set -u

started_pcscd=""
pgdata=""
pg_run=""

cleanup() {
    if [ -n "$pgdata" ]; then
        $pg_run /usr/lib/postgresql/*/bin/pg_ctl -D "$pgdata" -m fast stop >/dev/null 2>&1 || true
        rm -rf "$pgdata"
    fi
    if [ -n "$started_pcscd" ]; then
        kill "$started_pcscd" 2>/dev/null || true
    fi
}
trap cleanup EXIT INT TERM

# --- pcscd + vpcd -------------------------------------------------------------
# pcscd answers on its socket; a process that exists but does not answer (a
# zombie, or one shutting down) does not count.
pcscd_socket=/run/pcscd/pcscd.comm
pcscd_answers() { [ -S "$pcscd_socket" ] && ps -C pcscd -o stat= 2>/dev/null | grep -qv '^Z'; }
if command -v pcscd >/dev/null 2>&1 && [ -e /etc/reader.conf.d/vpcd ]; then
    if ! pcscd_answers; then
        # --foreground so we own the process and can stop it; the vpcd reader
        # from /etc/reader.conf.d/vpcd listens on port 35963 for our chip.
        mkdir -p /run/pcscd 2>/dev/null || true
        pcscd --foreground >/tmp/kiosk-test-pcscd.log 2>&1 &
        started_pcscd=$!
        tries=0
        while ! pcscd_answers && [ $tries -lt 50 ]; do
            sleep 0.1
            tries=$((tries + 1))
        done
    fi
    if pcscd_answers; then
        export KIOSK_TEST_PCSCD=1
    else
        echo "test-services: pcscd did not start; PC/SC tests will be skipped" >&2
        cat /tmp/kiosk-test-pcscd.log >&2 2>/dev/null || true
    fi
else
    echo "test-services: pcscd or vsmartcard-vpcd missing; PC/SC tests will be skipped" >&2
fi

# --- PostgreSQL ---------------------------------------------------------------
initdb=$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | tail -n 1)
if [ -n "$initdb" ]; then
    pgbin=$(dirname "$initdb")
    pgdata=$(mktemp -d /tmp/kiosk-test-pg.XXXXXX)
    if [ "$(id -u)" -eq 0 ]; then
        # PostgreSQL refuses to run as root.
        chown postgres "$pgdata"
        pg_run="runuser -u postgres --"
    fi
    port=${KIOSK_TEST_PG_PORT:-55432}
    if $pg_run "$pgbin/initdb" -D "$pgdata" -A trust -U kiosk -E UTF8 >/dev/null 2>&1 \
       && $pg_run "$pgbin/pg_ctl" -D "$pgdata" -w -l "$pgdata/log" \
            -o "-h 127.0.0.1 -p $port -k $pgdata" start >/dev/null 2>&1; then
        export KIOSK_TEST_POSTGRES_URL="postgresql+psycopg://kiosk@127.0.0.1:$port/postgres"
    else
        echo "test-services: could not start PostgreSQL; PostgreSQL tests will be skipped" >&2
        cat "$pgdata/log" 2>/dev/null >&2 || true
    fi
fi

"$@"
