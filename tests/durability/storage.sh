#!/bin/sh
# Bad storage (issue 5): a corrupt, foreign, locked or unopenable database,
# or a newer schema, stops the start with exit 1 and a clear message and
# leaves the file exactly as it was; a full database (SQLite's
# max_page_count, set by the SCRIPTD_STORE_MAX_PAGES test hook) refuses new
# submissions with a clear error while a running job carries on.
. "$E2E_SRC/lib.sh"
[ -n "${SCRIPTD_TEST_SOCKET:-}" ] && { echo "skip: own databases"; exit 77; }

# refused DB MESSAGE: scriptd on DB exits 1 saying MESSAGE, DB unchanged
refused() {
	[ -e "$1" ] && cp -R "$1" "$T/copy"
	timeout 20 "$SCRIPTD" --socket "$T/other.sock" --db "$1" \
	    </dev/null >"$T/out" 2>"$T/err"
	RC=$?
	expect_rc 1 "start on $1"
	expect_err_has "$2"
	[ ! -S "$T/other.sock" ] || fail "it listened on a bad database"
	if [ -f "$1" ]; then
		cmp -s "$1" "$T/copy" || fail "$1 was modified"
	fi
	rm -rf "$T/copy"
}

# garbage
head -c 20000 /dev/urandom >"$T/junk.db"
printf 'not a database at all\n' | dd of="$T/junk.db" conv=notrunc \
    2>/dev/null
refused "$T/junk.db" "database $T/junk.db is corrupt (file is not a database)"
expect_err_has "it was not modified, restore it from a backup"

# a valid database of ours, then a newer schema
daemon_start
script hello 'println("hello")'
ctl submit "$T/hello.script"; expect_rc 0
ctl wait "$(last_line)"; expect_rc 0
# locked: a second daemon on the same database while the first runs
refused "$T/db" "database $T/db is locked by another process (is another scriptd running?)"
daemon_stop
cp "$T/db" "$T/new.db"
sqlite3 "$T/new.db" "PRAGMA user_version = 7" 2>/dev/null ||
    python3 -c "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); \
c.execute('PRAGMA user_version = 7'); c.commit()" "$T/new.db" ||
    fail "cannot set the schema version"
refused "$T/new.db" "database schema version 7 is newer than this scriptd (version 3): $T/new.db was not modified; run the newer scriptd"

# somebody else's SQLite file
python3 -c "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); \
c.execute('CREATE TABLE t(x)'); c.commit()" "$T/foreign.db" ||
    fail "python3 sqlite3"
refused "$T/foreign.db" "database $T/foreign.db is not a scriptd database"

# a directory where the file should be
mkdir "$T/dir.db"
refused "$T/dir.db" "cannot open database $T/dir.db"

# the old database still works, with its job
mv "$T/daemon.log" "$T/daemon.log.old"
daemon_start
ctl logs 1; expect_rc 0; expect_out "hello"
daemon_stop
mv "$T/daemon.log" "$T/daemon.log.old"

# full: a small limit; a long job runs while submissions are refused
rm -f "$T/db" "$T/db-wal" "$T/db-shm"
script runner 'for i in 0..30 {
    println("still running " + i)
    await sleep(20)
}'
SCRIPTD_STORE_MAX_PAGES=40
export SCRIPTD_STORE_MAX_PAGES
daemon_start
unset SCRIPTD_STORE_MAX_PAGES
ctl submit "$T/runner.script"; expect_rc 0; runner=$(last_line)
# modules of 3 KB each until the database is full
big=$(head -c 3000 /dev/zero | tr '\0' x)
n=0 full=
while [ $n -lt 100 ]; do
	script "fill$n" "println(\"$n $big\")"
	ctl submit "$T/fill$n.script"
	if [ "$RC" -ne 0 ]; then
		full=$n
		break
	fi
	n=$((n + 1))
done
[ -n "$full" ] || fail "100 submissions of 3 KB fit in 40 pages"
[ "$full" -ge 2 ] || fail "only $full submissions fit"
expect_rc 3
expect_err_has "disk full: submission refused, the database $T/db is at its size limit"
expect_err_has "running jobs go on"
ctl submit "$T/hello.script"; expect_rc 3; expect_err_has "disk full"
ctl wait "$runner"; expect_rc 0; expect_out_has "state     completed"
ctl logs "$runner"; expect_rc 0
[ "$(wc -l <"$T/out")" -eq 30 ] || fail "runner printed $(wc -l <"$T/out") lines"
ctl --json stats; expect_rc 0
[ "$(jq -r .submits_refused <"$T/out")" -ge 2 ] || fail "stats: $(cat "$T/out")"
daemon_stop
