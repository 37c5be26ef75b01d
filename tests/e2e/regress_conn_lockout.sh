#!/bin/sh
# One tenant must not lock every other tenant out of the daemon by holding
# all of limits.max_connections: uid 1001 opens as many connections as the
# daemon lets it (8 tries, with limits.max_connections = 8) and keeps them
# open; uid 1002 must still be able to connect and be served. (Today the
# limit is only global, so 1002 gets "connection limit (8) reached".)
. "$E2E_SRC/lib.sh"
daemon_start "[limits]
max_connections = 8"

script hello 'println("hello")'
holders=
i=0
while [ $i -lt 8 ]; do
	# each holder keeps one connection (with Hello) for 30 s, or exits
	# at once if the daemon refuses it
	timeout 40 setpriv --reuid=1001 --regid=1001 --clear-groups \
	    "$RAWCLIENT" "$SOCK" hold 1 30 </dev/null >"$T/hold.$i" 2>&1 &
	holders="$holders $!"
	j=0
	until grep -q "held 1" "$T/hold.$i" 2>/dev/null ||
	    grep -q "rawclient" "$T/hold.$i" 2>/dev/null; do
		[ $j -lt 200 ] || fail "holder $i neither held nor failed"
		sleep 0.05
		j=$((j + 1))
	done
	i=$((i + 1))
done
held=$(cat "$T"/hold.* | grep -c "held 1")
echo "uid 1001 holds $held of 8 connections"

ctl_as 1002 stats; RC1=$RC
cp "$T/err" "$T/err1"
ctl_as 1002 run "$T/hello.script"
for p in $holders; do kill "$p" 2>/dev/null; done
for p in $holders; do wait "$p" 2>/dev/null; done
[ "$RC1" -eq 0 ] ||
    fail "uid 1002 locked out while uid 1001 holds $held connections: $(cat "$T/err1")"
expect_rc 0 "run as uid 1002"; expect_out "hello"
daemon_stop
