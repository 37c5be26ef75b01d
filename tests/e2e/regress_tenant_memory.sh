#!/bin/sh
# One tenant must not be able to make the daemon use memory without bound:
# limits.task_memory (10M) bounds one task, but nothing bounds a tenant, so
# a single job of uid 1001 whose 500 tasks each hold a 5 MiB string (all
# within every documented limit: 500 tasks < tenant.max_tasks 1000) makes
# the daemon hold 2.5 GiB, and enough tenants would exhaust the machine
# for everyone. The daemon must stay under 1.5 GiB resident (by failing
# tasks over some per-tenant or global memory budget), and keep serving
# uid 1002. Reads /proc/PID.
. "$E2E_SRC/lib.sh"
[ -z "${SCRIPTD_TEST_SOCKET:-}" ] || { echo "skip: needs its own daemon" >&2; exit 77; }
daemon_start

script hello 'println("hello")'
script hog 'async fn hold() -> int {
    let mut s = "0123456789"
    while len(s) < 4000000 { s = s + s }
    await sleep(60000)
    len(s)
}
let mut ts: [Task<int>] = []
let mut i = 0
while i < 500 { push(ts, spawn(hold())); i = i + 1 }
await join_all(ts)'

ctl_as 1001 submit "$T/hog.script"; expect_rc 0; id=$(last_line)
max=0
i=0
while [ $i -lt 60 ]; do
	kill -0 "$DPID" 2>/dev/null || fail "scriptd died"
	kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$DPID/status")
	[ "$kb" -gt "$max" ] && max=$kb
	[ "$max" -gt $((1536 * 1024)) ] && break
	ctl_as 1001 --json status "$id"
	st=$(json_get state)
	[ "$st" = running ] || [ "$st" = queued ] || [ "$st" = suspended ] ||
	    break
	# all 500 hold their string once no task is runnable any more
	[ "$st" = suspended ] && [ $i -gt 4 ] && break
	sleep 0.25
	i=$((i + 1))
done
echo "daemon RSS peaked at $((max / 1024)) MiB (job $id: $st)"
[ "$max" -le $((1536 * 1024)) ] ||
    fail "one tenant's job drove the daemon to $((max / 1024)) MiB resident (limit 1536): no per-tenant memory bound"
ctl_as 1002 run "$T/hello.script"; expect_rc 0; expect_out "hello"
ctl_as 1001 cancel "$id"
daemon_stop
