#!/bin/sh
# A commit that fails loses nothing acknowledged. The SCRIPTD_STORE_FAULT=N
# test hook makes the N-th SQLite step fail as an I/O error, which loses the
# whole batch it is in. For each of several N: submissions in the lost
# batch are refused (never acknowledged), every acknowledged job still
# completes exactly once with exactly its output (lost output and snapshots
# are written again next turn), and after kill -9 and a restart the
# database holds exactly the acknowledged jobs, each with one completed
# final record and its output once.
. "$E2E_SRC/lib.sh"
command -v sqlite3 >/dev/null || { echo "skip: needs sqlite3" >&2; exit 77; }

script job 'println("one")
await sleep(150)
eprintln("two")
await sleep(150)
println("three")'
printf 'one\nthree\n' >"$T/want.out"
printf 'two\n' >"$T/want.err"

refused_total=0
for n in 2 7 19 40 77; do
	rm -f "$T/db" "$T/db-wal" "$T/db-shm"
	SCRIPTD_STORE_FAULT=$n
	export SCRIPTD_STORE_FAULT
	daemon_start
	unset SCRIPTD_STORE_FAULT
	: >"$T/acked"
	for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
		ctl submit --name "j$i" "$T/job.script"
		if [ "$RC" -eq 0 ]; then
			echo "$(last_line)" >>"$T/acked"
		else
			grep -q "submit refused" "$T/err" ||
			    fail "N=$n: submission $i failed oddly: $(cat "$T/err")"
			refused_total=$((refused_total + 1))
		fi
	done
	grep -q "SQLite step $n from now fails" "$T/daemon.log" ||
	    fail "N=$n: the hook was not armed"
	# every acknowledged job completes once with exactly its output
	while read -r id; do
		ctl wait "$id"; expect_rc 0 "N=$n: job $id"
		ctl logs "$id"; expect_rc 0
		cmp -s "$T/out" "$T/want.out" ||
		    fail "N=$n: job $id stdout: $(cat "$T/out")"
		ctl logs --stderr "$id"; expect_rc 0
		cmp -s "$T/out" "$T/want.err" ||
		    fail "N=$n: job $id stderr: $(cat "$T/out")"
	done <"$T/acked"
	kill -KILL "$DPID"; wait "$DPID" 2>/dev/null; DPID=
	# the database: exactly the acknowledged jobs, each completed once,
	# its output once
	want=$(wc -l <"$T/acked")
	got=$(sqlite3 "$T/db" "SELECT count(*) FROM jobs")
	[ "$got" = "$want" ] || fail "N=$n: $got jobs stored, $want acknowledged"
	while read -r id; do
		st=$(sqlite3 "$T/db" "SELECT state || ',' || status FROM jobs \
		    WHERE id = $id")
		[ "$st" = "1,0" ] || fail "N=$n: job $id stored as $st"
		out=$(sqlite3 "$T/db" "SELECT group_concat(CAST(bytes AS TEXT), \
		    '|') FROM (SELECT bytes FROM output WHERE job = $id \
		    ORDER BY seq)")
		# ($(...) drops the last newline)
		[ "$out" = "one
|two
|three" ] || fail "N=$n: job $id output rows: $out"
	done <"$T/acked"
	echo "N=$n: $want acknowledged, $(grep -c "error" \
	    "$T/daemon.log") store errors logged"
	mv "$T/daemon.log" "$T/daemon.log.$n"
done
# the early faults fall in a submission's batch
[ "$refused_total" -ge 1 ] || fail "no submission was ever refused"
