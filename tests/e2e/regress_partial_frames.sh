#!/bin/sh
# Partial frames must not let one uid make the daemon hold gigabytes: the
# frame limit (limits.max_request_size, 8 MiB) is checked from the length
# prefix, but the body is then buffered as it arrives, on every connection
# at once, before Hello too, for up to limits.frame_timeout (10 s), and
# again and again. 100 connections of uid 1001 (half of them without
# Hello) each send all but the last byte of an 8 MiB frame: today the
# daemon holds 800 MiB for them (8 GiB with limits.max_connections'
# default of 1024). Its resident memory may grow by at most 256 MiB
# (e.g. small Hello frames and a budget for buffered partial input), and
# uid 1002 is still served. Needs python3 (tests/e2e/flood.py).
. "$E2E_SRC/lib.sh"
command -v python3 >/dev/null 2>&1 || { echo "skip: no python3" >&2; exit 77; }
[ -z "${SCRIPTD_TEST_SOCKET:-}" ] || { echo "skip: needs its own daemon" >&2; exit 77; }
daemon_start

rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$DPID/status"
}
script hello 'println("hello")'
ctl_as 1002 run "$T/hello.script"; expect_rc 0; expect_out "hello"
before=$(rss_kb)
py=$(python3 -c 'import os, sys; print(os.path.realpath(sys.executable))')
timeout -k 2 120 setpriv --reuid=1001 --regid=1001 --clear-groups "$py" \
    "$E2E_SRC/flood.py" "$SOCK" partial 100 30 </dev/null >"$T/flood" \
    2>&1 &
fp=$!
i=0
until grep -q "^partial" "$T/flood"; do
	kill -0 "$fp" 2>/dev/null || fail "flood.py: $(cat "$T/flood")"
	[ $i -lt 1200 ] || fail "flood.py did not finish sending within 60 s"
	sleep 0.05
	i=$((i + 1))
done
sleep 0.5
after=$(rss_kb)
kill "$fp" 2>/dev/null
wait "$fp" 2>/dev/null
kill -0 "$DPID" 2>/dev/null || fail "scriptd died"
grow=$(( (after - before) / 1024 ))
echo "100 partial 8 MiB frames ($(cat "$T/flood")): daemon RSS $((before / 1024)) -> $((after / 1024)) MiB"
[ "$grow" -le 256 ] ||
    fail "100 partial frames of uid 1001 grew the daemon by $grow MiB (limit 256): buffered partial input is not bounded"
ctl_as 1002 run "$T/hello.script"; expect_rc 0; expect_out "hello"
daemon_stop
