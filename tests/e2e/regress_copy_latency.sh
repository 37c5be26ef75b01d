#!/bin/sh
# Another tenant's latency must stay low while one tenant runs string-copy
# hogs. Fuel pays for copying (VM_WORK_BYTES per unit), but only after the
# op: a single concatenation of a 16-32 MiB string (within a raised
# limits.task_memory) runs whole, so one slice takes milliseconds, and the
# loop runs 64 such slices per turn before it serves the network again.
# uid 1001 runs 8 such jobs; uid 1002's `run` of a one-line program (a few
# network round trips) must then take under 500 ms (best of 3). With CPU
# hogs (no copying) it takes about 50 ms; with these it took 1.2 s in a
# release build and several seconds under ASan.
. "$E2E_SRC/lib.sh"
[ -z "${SCRIPTD_TEST_SOCKET:-}" ] || { echo "skip: needs its own daemon" >&2; exit 77; }
daemon_start "[limits]
task_memory = 64M"

script hello 'println("hello")'
script hog 'let mut s = "0123456789"
while true {
    s = s + s
    if len(s) > 20000000 { s = "0123456789" }
}'

ms_now() {
	echo $(( $(date +%s%N) / 1000000 ))
}

# best of 3 runs of hello as uid 1002, in ms
best_run() {
	best=999999
	k=0
	while [ $k -lt 3 ]; do
		t0=$(ms_now)
		ctl_as 1002 run "$T/hello.script"
		t1=$(ms_now)
		expect_rc 0 "run as 1002"; expect_out "hello"
		[ $((t1 - t0)) -lt "$best" ] && best=$((t1 - t0))
		k=$((k + 1))
	done
	echo "$best"
}

base=$(best_run)
n=0
while [ $n -lt 8 ]; do
	ctl_as 1001 submit "$T/hog.script"; expect_rc 0
	n=$((n + 1))
done
sleep 1
busy=$(best_run)
echo "uid 1002 run hello: $base ms idle, $busy ms with 8 string-copy hogs of uid 1001"
[ "$busy" -lt 500 ] ||
    fail "uid 1002 waited $busy ms (idle: $base ms) behind uid 1001's string-copy hogs (limit 500 ms)"
daemon_stop
