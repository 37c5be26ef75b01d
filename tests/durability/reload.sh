#!/bin/sh
# SIGHUP applies the [store] settings to the running store: after a reload
# lowers store.retention_count to 1, the next retention pass (every 5 s)
# deletes all but each tenant's newest ended job from the database.
. "$E2E_SRC/lib.sh"
command -v sqlite3 >/dev/null || { echo "skip: needs sqlite3" >&2; exit 77; }
daemon_start
script quick 'println("hi")'
for i in 1 2 3; do
	ctl run "$T/quick.script"; expect_rc 0
done
n=$(sqlite3 "$T/db" "SELECT count(*) FROM jobs")
[ "$n" = 3 ] || fail "$n jobs stored before the reload"
sed -i 's/^synchronous = off$/synchronous = full\nretention_count = 1/' \
    "$T/scriptd.conf"
grep -q "^retention_count = 1$" "$T/scriptd.conf" || fail "config not edited"
kill -HUP "$DPID"
i=0
until grep -q "configuration reloaded" "$T/daemon.log"; do
	[ $i -lt 100 ] || fail "no reload"
	sleep 0.05
	i=$((i + 1))
done
grep -q "settings not applied" "$T/daemon.log" && fail "store settings refused"
i=0
until [ "$(sqlite3 "$T/db" "SELECT count(*) FROM jobs")" = 1 ]; do
	[ $i -lt 150 ] || fail "retention_count 1 not applied within 15 s:" \
	    "$(sqlite3 "$T/db" "SELECT count(*) FROM jobs") jobs"
	sleep 0.1
	i=$((i + 1))
done
ctl list --all; expect_rc 0
[ "$(wc -l <"$T/out")" -le 2 ] || fail "list after retention: $(cat "$T/out")"
daemon_stop
