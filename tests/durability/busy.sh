#!/bin/sh
# SQLITE_BUSY: another process (here the sqlite3 shell) holds the
# database's write lock for 2 s. Submissions meanwhile are refused with a
# message that says the database is locked, after store's busy timeout;
# a durable job that was already acknowledged keeps running in memory and
# its snapshots and output are written once the lock is gone; afterwards
# submissions are acknowledged again, and after kill -9 the database holds
# every acknowledged job, completed once with its output.
. "$E2E_SRC/lib.sh"
command -v sqlite3 >/dev/null || { echo "skip: needs sqlite3" >&2; exit 77; }
daemon_start
script steps 'for i in 0..6 {
    println("step " + i)
    await sleep(300)
}'
script quick 'println("quick")'
ctl submit "$T/steps.script"; expect_rc 0; steps=$(last_line)
wait_state "$steps" suspended
# hold the write lock for 2 s
( echo "BEGIN IMMEDIATE;"; sleep 2; echo "COMMIT;" ) | sqlite3 "$T/db" &
locker=$!
sleep 0.3
ctl submit "$T/quick.script"
[ "$RC" -ne 0 ] || fail "a submission was acknowledged while the database was locked"
expect_err_has "submit refused"
expect_err_has "is locked by another process holding a write lock"
wait "$locker"
# the lock is gone: submissions are acknowledged again
ctl submit "$T/quick.script"; expect_rc 0; quick=$(last_line)
ctl wait "$quick"; expect_rc 0
ctl wait "$steps"; expect_rc 0
ctl logs "$steps"; expect_rc 0
expect_out "step 0
step 1
step 2
step 3
step 4
step 5"
kill -KILL "$DPID"; wait "$DPID" 2>/dev/null; DPID=
for id in "$steps" "$quick"; do
	st=$(sqlite3 "$T/db" "SELECT state || ',' || status FROM jobs WHERE \
	    id = $id")
	[ "$st" = "1,0" ] || fail "job $id stored as '$st'"
done
out=$(sqlite3 "$T/db" "SELECT group_concat(CAST(bytes AS TEXT), '') FROM \
    (SELECT bytes FROM output WHERE job = $steps ORDER BY seq)")
[ "$out" = "step 0
step 1
step 2
step 3
step 4
step 5" ] || fail "job $steps stored output: $out"
