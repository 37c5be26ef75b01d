#!/bin/sh
# Chaos test of the durability contract (DESIGN.md): many durable jobs that
# sleep and print in steps; the daemon is killed with SIGKILL several times at
# random moments and restarted on the same database. Afterwards every job
# whose submission was acknowledged must reach exactly one final record,
# completed, with exactly its expected output: no line lost, none doubled.
# Then the daemon is killed once more, so that the output is read back from
# the database, and checked again, with the final records counted in the
# database itself (sqlite3, when installed).
#
#	chaos.sh SCRIPTD SCRIPTCTL [JOBS] [KILLS] [SEED]
set -u
scriptd=$1
scriptctl=$2
jobs=${3:-40}
kills=${4:-5}
seed=${5:-$$}
steps=8
tmp=$(mktemp -d)
sock=$tmp/scriptd.sock
db=$tmp/scriptd.db
pid=
trap 'kill -9 $pid 2>/dev/null; rm -rf "$tmp"' EXIT
echo "chaos: $jobs jobs, $kills kills, seed $seed"

# a small deterministic generator: rand N sets r to 0..N-1 (a variable,
# not output: $(rand) would run in a subshell and never advance state)
state=$seed
rand() {
	state=$(( (state * 1103515245 + 12345) % 2147483648 ))
	r=$(( (state / 65536) % $1 ))	# the low bits of an LCG cycle
}

start() {
	"$scriptd" --socket "$sock" --db "$db" >>"$tmp/daemon.log" 2>&1 &
	pid=$!
	i=0
	while [ ! -S "$sock" ] || ! "$scriptctl" --socket "$sock" stats \
	    >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 200 ]; then
			echo "chaos: daemon did not start"
			cat "$tmp/daemon.log"
			exit 1
		fi
		sleep 0.05
	done
}

# steps print to both streams; odd jobs print again from a spawned task
for j in $(seq 1 "$jobs"); do
	cat >"$tmp/job$j.script" <<S
async fn echo(i: int) {
    await sleep(3)
    println("job $j echo " + i)
}
for i in 0..$steps {
    println("job $j step " + i)
    eprintln("job $j err " + i)
    if $j % 2 == 1 {
        await spawn(echo(i))
    }
    await sleep(20 + (i * 37 + $j * 11) % 90)
}
S
	: >"$tmp/want$j"
	: >"$tmp/wanterr$j"
	for i in $(seq 0 $((steps - 1))); do
		echo "job $j step $i" >>"$tmp/want$j"
		echo "job $j err $i" >>"$tmp/wanterr$j"
		[ $((j % 2)) -eq 1 ] && echo "job $j echo $i" >>"$tmp/want$j"
	done
done

start
: >"$tmp/acked"
per=$(( (jobs + kills - 1) / kills ))
for round in $(seq 1 "$kills"); do
	# submit a share of the jobs while the daemon is killed at a random
	# moment: a submission the kill cut short is not acknowledged (and
	# may or may not exist); every acknowledged one must complete
	from=$(( (round - 1) * per + 1 ))
	to=$(( round * per < jobs ? round * per : jobs ))
	n0=$(wc -l <"$tmp/acked")
	(
		for j in $(seq "$from" "$to"); do
			if out=$("$scriptctl" --socket "$sock" submit \
			    "$tmp/job$j.script" 2>/dev/null); then
				echo "$j $(printf '%s\n' "$out" | tail -n 1)" \
				    >>"$tmp/acked"
			fi
		done
	) &
	sp=$!
	# at least one of the round acknowledged (a loaded machine can be
	# slower than any fixed delay), then a random moment
	i=0
	while [ "$(wc -l <"$tmp/acked")" -le "$n0" ] && [ $i -lt 400 ]; do
		sleep 0.025
		i=$((i + 1))
	done
	rand 3
	tenths=$r
	rand 10
	sleep "0.$tenths$r"		# 0 .. 0.29 s
	kill -9 "$pid"
	wait "$pid" 2>/dev/null
	wait "$sp"
	start
done
fail=0
nacked=0
# check WHEN: every acknowledged job completed with exactly its output
check() {
	while read -r j id; do
		"$scriptctl" --socket "$sock" wait "$id" >/dev/null 2>"$tmp/err"
		st=$?
		if [ $st -ne 0 ]; then
			echo "FAIL job $j (id $id, $1): wait exit $st:" \
			    "$(cat "$tmp/err")"
			fail=1
			continue
		fi
		"$scriptctl" --socket "$sock" logs "$id" >"$tmp/got$j" 2>&1
		"$scriptctl" --socket "$sock" logs --stderr "$id" \
		    >"$tmp/goterr$j" 2>&1
		if ! cmp -s "$tmp/got$j" "$tmp/want$j"; then
			echo "FAIL job $j (id $id, $1): stdout differs"
			diff "$tmp/want$j" "$tmp/got$j" | head -10
			fail=1
		fi
		if ! cmp -s "$tmp/goterr$j" "$tmp/wanterr$j"; then
			echo "FAIL job $j (id $id, $1): stderr differs"
			diff "$tmp/wanterr$j" "$tmp/goterr$j" | head -10
			fail=1
		fi
	done <"$tmp/acked"
}
nacked=$(wc -l <"$tmp/acked")
check "after the last restart"
kill -9 "$pid"
wait "$pid" 2>/dev/null
start
check "read back from the database"
kill -9 "$pid"
wait "$pid" 2>/dev/null
pid=
if command -v sqlite3 >/dev/null 2>&1; then
	# exactly one final record per acknowledged job, completed (0)
	while read -r j id; do
		n=$(sqlite3 "$db" "SELECT count(*) FROM jobs WHERE id = $id \
		    AND status = 0")
		live=$(sqlite3 "$db" "SELECT count(*) FROM jobs WHERE id = $id \
		    AND state = 1")
		if [ "$n" != 1 ] || [ "$live" != 1 ]; then
			echo "FAIL job $j (id $id): $n completed final records," \
			    "ended row: $live"
			fail=1
		fi
	done <"$tmp/acked"
	n=$(sqlite3 "$db" "SELECT count(*) FROM jobs WHERE state = 0")
	[ "$n" = 0 ] || { echo "FAIL: $n jobs still live"; fail=1; }
fi
if [ "$nacked" -lt "$kills" ]; then
	echo "FAIL: only $nacked of $jobs submissions were acknowledged"
	fail=1
fi
if [ $fail -ne 0 ]; then
	tail -30 "$tmp/daemon.log"
	exit 1
fi
echo "chaos: $nacked acknowledged jobs, each completed once with exact" \
    "output (also read back from the database)"
