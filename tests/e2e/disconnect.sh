#!/bin/sh
# Clients that go away: mid-request (a Submit sent, the reply never read),
# mid-follow (logs --follow killed), mid-wait. The daemon keeps serving
# and the jobs run to their end with all their output kept.
. "$E2E_SRC/lib.sh"
daemon_start

script ticks 'for i in 0..30 {
    println("tick " + i)
    await sleep(10)
}'
script hello 'println("hello")'
"$SCRIPTC" -o "$T/hello.sbc" "$T/hello.script" || fail "scriptc"

raw submit-close "$T/hello.sbc"; expect_rc 0; expect_out_has "closed"
expect_out_has "other connection: served"

# .sbc files are submitted as they are.
ctl run "$T/hello.sbc"; expect_rc 0; expect_out "hello"

# Kill a following client, and a waiting one, mid-stream.
ctl submit "$T/ticks.script"; id=$(last_line)
"$SCRIPTCTL" --socket "$SOCK" logs --follow "$id" </dev/null \
    >"$T/follow.out" 2>&1 &
fp=$!
"$SCRIPTCTL" --socket "$SOCK" wait "$id" </dev/null >/dev/null 2>&1 &
wp=$!
sleep 0.1
kill -KILL "$fp" "$wp"
wait "$fp" "$wp" 2>/dev/null
ctl wait "$id"; expect_rc 0; expect_out_has "state     completed"
ctl logs "$id"; expect_rc 0
[ "$(wc -l <"$T/out")" -eq 30 ] || fail "logs after the kill: $(wc -l <"$T/out") lines"

# Many clients at once, some killed at random points.
i=0 pids=
while [ $i -lt 16 ]; do
	"$SCRIPTCTL" --socket "$SOCK" run "$T/ticks.script" \
	    </dev/null >"$T/par.$i" 2>&1 &
	pids="$pids $!"
	i=$((i + 1))
done
sleep 0.05
n=0
for p in $pids; do
	[ $n -lt 4 ] && kill -KILL "$p" 2>/dev/null
	n=$((n + 1))
done
for p in $pids; do wait "$p"; done
n=0 short=0
for f in "$T"/par.*; do
	if [ "$(wc -l <"$f")" -eq 30 ]; then n=$((n + 1)); else short=$((short + 1)); fi
done
[ $n -ge 12 ] || fail "only $n of the 12 unkilled parallel runs completed"
[ $short -ge 1 ] || fail "no run was cut short by its kill"

ctl stats; expect_rc 0
ctl run "$T/hello.script"; expect_rc 0; expect_out "hello"
daemon_stop

# The other way round: the daemon dies under a following client, which
# must exit 3 at once with the reason (run, logs --follow and wait have no
# read deadline, so only the close can end them).
[ -n "${SCRIPTD_TEST_SOCKET:-}" ] && exit 0
daemon_start
script sleeper 'await sleep(60000)'
ctl submit "$T/sleeper.script"; id=$(last_line)
"$SCRIPTCTL" --socket "$SOCK" run "$T/sleeper.script" </dev/null \
    >"$T/run.out" 2>"$T/run.err" &
rp=$!
"$SCRIPTCTL" --socket "$SOCK" wait "$id" </dev/null >/dev/null \
    2>"$T/wait.err" &
wp=$!
sleep 0.3
kill -KILL "$DPID"
wait "$DPID" 2>/dev/null
DPID=
wait "$rp"; RC=$?; expect_rc 3 "run when the daemon died"
grep -qF "scriptctl: run: the daemon closed the connection" "$T/run.err" ||
    fail "run: $(cat "$T/run.err")"
wait "$wp"; RC=$?; expect_rc 3 "wait when the daemon died"
grep -qF "scriptctl: wait: the daemon closed the connection" "$T/wait.err" ||
    fail "wait: $(cat "$T/wait.err")"
