#!/bin/sh
# A tenant must not grow the daemon's memory without bound by pipelining
# requests that stay pending: one connection sends 1,000,000 Wait requests
# for its own sleeping job (6 MB on the wire, about 100 bytes each in the
# daemon when every one of them is kept). However the daemon limits it
# (refusing the excess Waits, or closing the connection), its resident
# memory may grow by at most 48 MiB, and another tenant is still served.
# Needs python3 for the client (tests/e2e/flood.py); reads /proc/PID.
. "$E2E_SRC/lib.sh"
command -v python3 >/dev/null 2>&1 || { echo "skip: no python3" >&2; exit 77; }
[ -z "${SCRIPTD_TEST_SOCKET:-}" ] || { echo "skip: needs its own daemon" >&2; exit 77; }
daemon_start

rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$DPID/status"
}

script sleeper 'await sleep(120000)'
script hello 'println("hello")'
ctl_as 1001 submit "$T/sleeper.script"; expect_rc 0; id=$(last_line)
ctl_as 1002 run "$T/hello.script"; expect_rc 0; expect_out "hello"
before=$(rss_kb)

# python3 resolved to a real file, so that another uid can run it
py=$(python3 -c 'import os, sys; print(os.path.realpath(sys.executable))')
timeout -k 2 120 setpriv --reuid=1001 --regid=1001 --clear-groups "$py" \
    "$E2E_SRC/flood.py" "$SOCK" waits "$id" 1000000 </dev/null \
    >"$T/out" 2>"$T/err"
RC=$?
kill -0 "$DPID" 2>/dev/null || fail "scriptd died under the Wait flood"
grep -q "too many pending waits on this connection (limit 1024)" "$T/out" ||
    fail "the excess Waits were not refused naming the limit: $(head -c 300 "$T/out")"
after=$(rss_kb)
grow=$(( (after - before) / 1024 ))
echo "1,000,000 pipelined Waits: daemon RSS $((before / 1024)) -> $((after / 1024)) MiB"
[ "$grow" -le 48 ] ||
    fail "1,000,000 pending Waits grew the daemon by $grow MiB (limit 48): pending requests are not bounded"

# the other tenant is unaffected, and the sleeper's owner still controls it
ctl_as 1002 run "$T/hello.script"; expect_rc 0; expect_out "hello"
ctl_as 1001 cancel "$id"; expect_rc 0
ctl_as 1001 wait "$id"; expect_rc 1; expect_out_has "cancelled"
daemon_stop
