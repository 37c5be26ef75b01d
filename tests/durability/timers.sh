#!/bin/sh
# Overdue timers after a long stop (issue 5): jobs sleep, the daemon is
# killed with SIGKILL, stays down past every due time, and is started again
# on the same database. Each timer must fire once, at once, and in due
# order (ties in arming order), and nothing printed before the kill may be
# printed again.
. "$E2E_SRC/lib.sh"
[ -n "${SCRIPTD_TEST_SOCKET:-}" ] && { echo "skip: restarts the daemon"; exit 77; }

daemon_kill() {
	kill -KILL "$DPID"
	wait "$DPID" 2>/dev/null
	DPID=
}

# five sleepers spawned out of due order, two of them due at the same ms
script order 'async fn say(ms: int, what: string) {
    await sleep(ms)
    println(what)
}
println("before")
let a = spawn(say(1400, "t4"))
let b = spawn(say(1100, "t1"))
let c = spawn(say(1300, "t3a"))
let d = spawn(say(1300, "t3b"))
let e = spawn(say(1200, "t2"))
await a
await b
await c
await d
await e
println("after")'
# a loop of short sleeps: fired once each, nothing doubled
script steps 'for i in 0..4 {
    println("step " + i)
    await sleep(400)
}'

daemon_start
ctl submit "$T/order.script"; expect_rc 0; order=$(last_line)
ctl submit "$T/steps.script"; expect_rc 0; steps=$(last_line)
ctl submit --ephemeral "$T/steps.script"; expect_rc 0; eph=$(last_line)
wait_state "$order" suspended
sleep 0.5
daemon_kill
sleep 2			# every timer is now overdue
daemon_start
t0=$(date +%s%N)		# listening: restored, the loop about to turn
grep -q "2 live jobs restored" "$T/daemon.log" ||
    fail "restore: $(grep restored "$T/daemon.log")"
ctl wait "$order"; expect_rc 0; expect_out_has "state     completed"
t1=$(date +%s%N)
# overdue timers fire at once: well under the 1.1 s the job had left
[ $(( (t1 - t0) / 1000000 )) -lt 900 ] ||
    fail "overdue timers took $(( (t1 - t0) / 1000000 )) ms to fire"
ctl logs "$order"; expect_rc 0
expect_out "before
t1
t2
t3a
t3b
t4
after"
ctl wait "$steps"; expect_rc 0
ctl logs "$steps"; expect_rc 0
expect_out "step 0
step 1
step 2
step 3"
ctl status "$eph"; expect_rc 3; expect_err_has "job $eph not found"

# the same once more after a clean stop (SIGTERM)
ctl submit "$T/order.script"; expect_rc 0; order=$(last_line)
[ "$order" -gt "$eph" ] || fail "job id $order after $eph: ids reused"
wait_state "$order" suspended
daemon_stop
mv "$T/daemon.log" "$T/daemon.log.old"
sleep 1.6
daemon_start
ctl wait "$order"; expect_rc 0; expect_out_has "state     completed"
ctl logs "$order"; expect_rc 0
expect_out "before
t1
t2
t3a
t3b
t4
after"
daemon_stop
