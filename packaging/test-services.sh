#!/bin/sh
# Run a command (the test suite) with the real services the tests talk to:
#   - pcscd with the vpcd driver, so the simulated chip sits behind real PC/SC;
#   - a throw-away PostgreSQL cluster on 127.0.0.1.
# There is no systemd in CI, so both are started by hand and stopped after.
# Exported for the tests: KIOSK_TEST_PCSCD=1, KIOSK_TEST_VPCD_PORT,
# KIOSK_TEST_POSTGRES_URL.
#
# Several runs on one machine: give each its own KIOSK_TEST_PG_PORT. They
# share one pcscd (pcsc-lite allows one per machine: its socket and pid file
# under /run/pcscd are fixed), but not a vpcd port: the packaged
# /etc/reader.conf.d/vpcd opens several virtual slots, slot N listening on
# 35963 + N and shown as reader "Virtual PCD 00 0N", and each run takes a
# free one (a lock file per port, held while the run lasts). Set
# KIOSK_TEST_VPCD_PORT to insist on one port; with a pcscd configured for
# another base port (DEVICENAME /dev/null:PORT) set KIOSK_TEST_VPCD_READER too.
set -u

started_pcscd=""
pgdata=""
pg_run=""
vpcd_port=""
vpcd_locks=/tmp  # shared by every run on the machine: that is the point

cleanup() {
    if [ -n "$pgdata" ]; then
        $pg_run /usr/lib/postgresql/*/bin/pg_ctl -D "$pgdata" -m fast stop >/dev/null 2>&1 || true
        rm -rf "$pgdata"
    fi
    if [ -n "$started_pcscd" ]; then
        if other_run_on_pcscd; then
            echo "test-services: pcscd left running: another test run is using it" >&2
        else
            kill "$started_pcscd" 2>/dev/null || true
        fi
    fi
}
trap cleanup EXIT INT TERM

# Is a vpcd slot listening on TCP port $1? (/proc/net/tcp: local address in
# hex, state 0A = LISTEN; no dependency on ss or netstat.)
vpcd_listening() {
    hex=$(printf ':%04X' "$1")
    cat /proc/net/tcp /proc/net/tcp6 2>/dev/null \
        | awk -v p="$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }'
}

# Take port $1's lock on fd 8 for the rest of this run; false if another run holds it.
take_vpcd_port() {
    command -v flock >/dev/null 2>&1 || return 0  # no util-linux: no locking, as before
    lock="$vpcd_locks/kiosk-test-vpcd-$1.lock"
    # Created readable by all and opened read-only: another user's run can
    # lock the same file (a sticky /tmp refuses O_CREAT on others' files).
    [ -e "$lock" ] || (umask 022 && : >"$lock") 2>/dev/null
    [ -r "$lock" ] || return 1  # checked first: a failed `exec` redirection ends a POSIX shell
    exec 8<"$lock"
    flock -n 8 || { exec 8>&-; return 1; }
}

# Does another run hold a vpcd port lock (and so still need our pcscd)?
other_run_on_pcscd() {
    command -v flock >/dev/null 2>&1 || return 1
    for lock in "$vpcd_locks"/kiosk-test-vpcd-*.lock; do
        [ -e "$lock" ] || continue
        [ "$lock" = "$vpcd_locks/kiosk-test-vpcd-$vpcd_port.lock" ] && continue
        flock -n "$lock" true 2>/dev/null || return 0
    done
    return 1
}

# Missing services skip their tests, unless KIOSK_TEST_REQUIRE_SERVICES=1
# (`make test`, so CI cannot go green without them): then the run fails.
missing_service() {
    echo "test-services: $1" >&2
    if [ "${KIOSK_TEST_REQUIRE_SERVICES:-}" = 1 ]; then
        echo "test-services: KIOSK_TEST_REQUIRE_SERVICES=1: stopping" >&2
        exit 1
    fi
}

# Everything runs from one function, called on the script's last line: sh
# reads a script as it goes, and a file edited during a long test run would
# otherwise be read from the middle of its new text.
main() {
    # --- pcscd + vpcd -------------------------------------------------------------
    # pcscd answers on its socket; a process that exists but does not answer (a
    # zombie, or one shutting down) does not count.
    pcscd_socket=/run/pcscd/pcscd.comm
    pcscd_answers() { [ -S "$pcscd_socket" ] && ps -C pcscd -o stat= 2>/dev/null | grep -qv '^Z'; }
    if command -v pcscd >/dev/null 2>&1 && [ -e /etc/reader.conf.d/vpcd ]; then
        if ! pcscd_answers; then
            # --foreground so we own the process and can stop it; the vpcd
            # readers from /etc/reader.conf.d/vpcd listen on 35963, 35964, ...
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
            # The slots open as pcscd reads its reader.conf; give them a moment.
            tries=0
            while ! vpcd_listening 35963 && [ $tries -lt 50 ]; do
                sleep 0.1
                tries=$((tries + 1))
            done
            tried=""
            for port in ${KIOSK_TEST_VPCD_PORT:-$(seq 35963 35978)}; do
                vpcd_listening "$port" || continue
                tried="$tried $port"
                if take_vpcd_port "$port"; then
                    vpcd_port=$port
                    break
                fi
            done
            if [ -n "$vpcd_port" ]; then
                export KIOSK_TEST_PCSCD=1 KIOSK_TEST_VPCD_PORT="$vpcd_port"
            else
                unset KIOSK_TEST_PCSCD
                if [ -n "$tried" ]; then
                    why="every vpcd port is taken by another test run:$tried"
                else
                    why="vpcd listens on none of ${KIOSK_TEST_VPCD_PORT:-35963-35978}"
                fi
                missing_service "$why; PC/SC tests will be skipped"
            fi
        else
            cat /tmp/kiosk-test-pcscd.log >&2 2>/dev/null || true
            missing_service "pcscd did not start; PC/SC tests will be skipped"
        fi
    else
        missing_service "pcscd or vsmartcard-vpcd missing; PC/SC tests will be skipped"
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
            cat "$pgdata/log" 2>/dev/null >&2 || true
            missing_service "could not start PostgreSQL; PostgreSQL tests will be skipped"
        fi
    else
        missing_service "PostgreSQL (initdb) missing; PostgreSQL tests will be skipped"
    fi

    "$@"
}

main "$@"; exit $?
