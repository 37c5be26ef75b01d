#!/bin/sh
# Limits tripping with everyone else unaffected: tenant.max_jobs, the
# submission token bucket, limits.output_per_job (truncation marker) and
# limits.max_connections.
. "$E2E_SRC/lib.sh"
daemon_start "[limits]
max_connections = 4
output_per_job = 1K
[tenant]
max_jobs = 2
submit_rate = 1
submit_burst = 5"

script sleeper 'await sleep(60000)'
script hello 'println("hello")'
script chatty 'for i in 0..100 {
    println("line " + (i + 1000) + " ..........")
}'

# tenant.max_jobs: uid 1001's third live job is refused; 1002 is not.
ctl_as 1001 submit "$T/sleeper.script"; expect_rc 0; a1=$(last_line)
ctl_as 1001 submit "$T/sleeper.script"; expect_rc 0; a2=$(last_line)
ctl_as 1001 submit "$T/sleeper.script"; expect_rc 3
expect_err_has "scriptctl: submit refused: limit exceeded: "
expect_err_has "tenant 1001: live job limit (2) reached"
ctl_as 1002 run "$T/hello.script"; expect_rc 0; expect_out "hello"
ctl_as 1001 cancel "$a1"; expect_rc 0
ctl_as 1001 wait "$a1"; expect_rc 1
ctl_as 1001 submit "$T/sleeper.script"; expect_rc 0 "a slot was freed"
ctl_as 1001 cancel "$a2"; ctl_as 1001 cancel "$(last_line)"

# Submission rate: a burst of 5, then refused; another tenant unaffected.
# (A slow machine may refill a token or two meanwhile: 1/s.)
i=0
while [ $i -lt 5 ]; do
	ctl_as 1003 run "$T/hello.script"; expect_rc 0 "burst submission $i"
	i=$((i + 1))
done
while :; do
	ctl_as 1003 run "$T/hello.script"
	[ "$RC" -ne 0 ] && break
	[ $i -lt 8 ] || fail "no submission refused after $i in a row"
	i=$((i + 1))
done
expect_rc 3
expect_err_has "scriptctl: run refused: limit exceeded: "
expect_err_has "tenant 1003: submission rate limit (1/s, burst 5) exceeded"
ctl_as 1002 run "$T/hello.script"; expect_rc 0; expect_out "hello"

# Output past limits.output_per_job: the first 1024 bytes exactly, a
# marker on stderr, and the job's record says truncated.
ctl run "$T/chatty.script"; expect_rc 0
awk 'BEGIN { for (i = 0; i < 100; i++) printf "line %d ..........\n", i + 1000 }' |
    head -c 1024 >"$T/want"
cmp -s "$T/want" "$T/out" || fail "not exactly the first 1024 bytes"
expect_err_has "stdout truncated at 1024 bytes"
ctl submit "$T/chatty.script"; id=$(last_line)
ctl --json wait "$id"; expect_rc 0
[ "$(json_get stdout_truncated)" = true ] || fail "not marked truncated"
[ "$(json_get stdout_bytes)" = 2100 ] ||
    fail "stdout_bytes $(json_get stdout_bytes)"
ctl logs "$id"; expect_rc 0; expect_err_has "truncated"

# tenant.max_connections: a uid other than root holds at most half of
# limits.max_connections (2 of 4); its third is refused naming the limit.
timeout 30 setpriv --reuid=1001 --regid=1001 --clear-groups \
    "$RAWCLIENT" "$SOCK" hold 2 20 </dev/null >"$T/hold" 2>&1 &
hp=$!
i=0
until grep -q "held 2" "$T/hold"; do
	[ $i -lt 100 ] || fail "uid 1001 could not hold 2 connections"
	sleep 0.05
	i=$((i + 1))
done
ctl_as 1001 stats; expect_rc 3
expect_err_has "tenant 1001: connection limit (2) reached (tenant.max_connections)"
ctl_as 1002 stats; expect_rc 0
kill "$hp"; wait "$hp" 2>/dev/null
i=0
until ctl --json stats && [ "$(json_get connections)" = 1 ]; do
	[ $i -lt 100 ] || fail "uid 1001's connections still counted"
	sleep 0.05
	i=$((i + 1))
done

# limits.max_connections: with 4 held open, a fifth is refused with a
# message; once they close, service resumes.
timeout 30 "$RAWCLIENT" "$SOCK" hold 4 20 </dev/null >"$T/hold" 2>&1 &
hp=$!
i=0
until grep -q "held 4" "$T/hold"; do
	[ $i -lt 100 ] || fail "rawclient could not hold 4 connections"
	sleep 0.05
	i=$((i + 1))
done
ctl stats; expect_rc 3
expect_err_has "scriptctl: stats refused: limit exceeded: connection limit (4) reached"
kill "$hp"; wait "$hp" 2>/dev/null
i=0
while :; do
	ctl stats
	[ "$RC" -eq 0 ] && break
	[ $i -lt 100 ] || fail "not served after the connections closed"
	sleep 0.05
	i=$((i + 1))
done

daemon_stop
