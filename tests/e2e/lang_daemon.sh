#!/bin/sh
# CTest fixture for the language tests through the daemon:
#   lang_daemon.sh start STATEFILE   start scriptd on a temporary socket and
#                                    database, write the directory to STATEFILE
#   lang_daemon.sh stop STATEFILE    SIGTERM it (exit 0 expected), clean up
# The daemon is detached (setsid, every fd a file) so CTest does not wait
# for it; a small shell above it writes its exit status to a file for stop
# to check, and a watchdog kills it after 30 minutes in case stop never
# runs. SCRIPTD_WRAP (as in lib.sh) runs the daemon under a command:
# valgrind for the valgrind label, whose errors make the status 99.
# With SCRIPTD_TEST_SOCKET set, start records that socket and stop does
# nothing: the tests use the running daemon.
set -u
cmd=$1 state=$2

if [ "$cmd" = start ]; then
	if [ -n "${SCRIPTD_TEST_SOCKET:-}" ]; then
		printf 'socket %s\n' "$SCRIPTD_TEST_SOCKET" >"$state"
		exit 0
	fi
	d=$(mktemp -d /tmp/scriptd-lang.XXXXXX) || exit 1
	conf=$(realpath "$(dirname "$0")/lang.conf") || exit 1
	# shellcheck disable=SC2016,SC2086
	setsid sh -c '"$@" & echo $! >"$0/pid"; wait $!; echo $? >"$0/status"' \
	    "$d" ${SCRIPTD_WRAP:-} "$SCRIPTD" --socket "$d/sock" --db "$d/db" \
	    --config "$conf" </dev/null >"$d/log" 2>&1 &
	i=0
	until [ -s "$d/pid" ] || [ $i -ge 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	pid=$(cat "$d/pid" 2>/dev/null)
	[ -n "$pid" ] || { echo "scriptd did not start" >&2; exit 1; }
	setsid sh -c "sleep 1800; kill -KILL $pid 2>/dev/null" \
	    </dev/null >/dev/null 2>&1 &
	printf 'socket %s\ndir %s\npid %s\nwatchdog %s\n' "$d/sock" "$d" \
	    "$pid" "$!" >"$state"
	i=0
	until grep -q "listening on" "$d/log"; do
		if [ -f "$d/status" ] || [ $i -ge 600 ]; then
			echo "scriptd did not start:" >&2
			cat "$d/log" >&2
			kill -KILL "$pid" 2>/dev/null
			exit 1
		fi
		sleep 0.05
		i=$((i + 1))
	done
	exit 0
fi

[ -f "$state" ] || exit 0
d=$(sed -n 's/^dir //p' "$state")
pid=$(sed -n 's/^pid //p' "$state")
wd=$(sed -n 's/^watchdog //p' "$state")
rm -f "$state"
[ -z "$wd" ] || kill -- "-$wd" 2>/dev/null
[ -n "$pid" ] || exit 0
if [ -f "$d/status" ]; then
	echo "scriptd died during the language tests" \
	    "(status $(cat "$d/status")):" >&2
	tail -n 30 "$d/log" >&2
	rm -rf "$d"
	exit 1
fi
kill -TERM "$pid"
# 20 s: under valgrind the daemon checks for leaks on the way out
i=0
until [ -s "$d/status" ] || [ $i -ge 400 ]; do
	sleep 0.05
	i=$((i + 1))
done
st=0
if [ ! -s "$d/status" ]; then
	echo "scriptd did not exit within 20 s of SIGTERM" >&2
	kill -KILL "$pid"
	st=1
elif [ "$(cat "$d/status")" != 0 ]; then
	echo "scriptd exited with status $(cat "$d/status") on SIGTERM:" >&2
	tail -n 60 "$d/log" >&2
	st=1
fi
rm -rf "$d"
exit $st
