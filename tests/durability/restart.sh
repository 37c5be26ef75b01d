#!/bin/sh
# Restart recovery of the job registry: ended durable jobs keep their
# state, error, output (read back from the database) and byte counts in
# status, list, wait and logs after a SIGKILL and after a clean stop; live
# ones resume; ephemeral ones are gone; job ids go on from the database.
. "$E2E_SRC/lib.sh"
[ -n "${SCRIPTD_TEST_SOCKET:-}" ] && { echo "skip: restarts the daemon"; exit 77; }

restart() {
	if [ "$1" = kill ]; then
		kill -KILL "$DPID"
		wait "$DPID" 2>/dev/null
		DPID=
	else
		daemon_stop
	fi
	daemon_start
}

# the whole status, result text included: a restart changes none of it
status_of() {
	ctl --json status "$1"; expect_rc "$2"
	cp "$T/out" "$T/status.$1"
}

script ok 'eprintln("warming up")
println("one")
println("two")
42'
script bad 'println("before the fault")
let xs = [1]
println(xs[5])'
script sleeper 'println("asleep")
await sleep(60000)'
script counter 'for i in 0..3 {
    println("tick " + i)
    await sleep(200)
}'

daemon_start
ctl submit "$T/ok.script"; expect_rc 0; ok=$(last_line)
ctl submit "$T/bad.script"; expect_rc 0; bad=$(last_line)
ctl submit --name "to cancel" "$T/sleeper.script"; expect_rc 0; can=$(last_line)
ctl submit "$T/sleeper.script"; expect_rc 0; live=$(last_line)
ctl submit --ephemeral "$T/ok.script"; expect_rc 0; eph=$(last_line)
ctl wait "$ok"; expect_rc 0
ctl wait "$bad"; expect_rc 1
wait_state "$can" suspended
ctl cancel "$can"; expect_rc 0
ctl wait "$can"; expect_rc 1; expect_out_has "state     cancelled"
ctl wait "$eph"; expect_rc 0
wait_state "$live" suspended
status_of "$ok" 0; cp "$T/status.$ok" "$T/before.ok"
status_of "$bad" 1; cp "$T/status.$bad" "$T/before.bad"
status_of "$can" 1; cp "$T/status.$can" "$T/before.can"

for how in kill term; do
	restart $how
	for j in ok bad can; do
		eval id=\$$j
		case $j in ok) want=0 ;; *) want=1 ;; esac
		status_of "$id" $want
		cmp -s "$T/before.$j" "$T/status.$id" || fail "status of job" \
		    "$id after a $how restart: $(cat "$T/status.$id")," \
		    "before: $(cat "$T/before.$j")"
	done
	ctl wait "$ok"; expect_rc 0; expect_out_has "state     completed"
	ctl wait "$bad"; expect_rc 1; expect_out_has "state     failed"
	expect_out_has "error     index 5 out of bounds (length 1)"
	ctl logs "$ok"; expect_rc 0; expect_out "one
two"
	ctl logs --stderr "$ok"; expect_rc 0; expect_out "warming up"
	ctl logs "$bad"; expect_rc 0; expect_out "before the fault"
	ctl logs "$can"; expect_rc 0; expect_out "asleep"
	ctl status "$eph"; expect_rc 3; expect_err_has "job $eph not found"
	ctl --json list --all; expect_rc 0
	[ "$(jq -r .id <"$T/out" | tr '\n' ' ')" = "$live $can $bad $ok " ] ||
	    fail "list --all after a $how restart: $(jq -r .id <"$T/out")"
	ctl --json list; expect_rc 0
	[ "$(jq -r '.id, .state' <"$T/out" | tr '\n' ' ')" = \
	    "$live suspended " ] || fail "list: $(cat "$T/out")"
	# the live job's output so far is there once, and it still runs
	ctl logs "$live"; expect_rc 0; expect_out "asleep"
done

# ids go on after the highest one ever given (the ephemeral one too)
ctl submit "$T/counter.script"; expect_rc 0; next=$(last_line)
[ "$next" -gt "$eph" ] || fail "job id $next after $eph: ids reused"
# a job killed mid-way keeps its committed output once and finishes
sleep 0.3
restart kill
ctl wait "$next"; expect_rc 0
ctl logs "$next"; expect_rc 0; expect_out "tick 0
tick 1
tick 2"
ctl cancel "$live"; expect_rc 0
ctl wait "$live"; expect_rc 1; expect_out_has "state     cancelled"
restart term
ctl wait "$live"; expect_rc 1; expect_out_has "state     cancelled"
grep -q "0 live jobs restored" "$T/daemon.log" ||
    fail "after the last restart: $(grep restored "$T/daemon.log")"
daemon_stop
