#!/bin/sh
# CTest fixture for the language tests through the daemon (label e2e):
#   lang_daemon.sh start STATEFILE   start scriptd on a temporary socket and
#                                    database, write the directory to STATEFILE
#   lang_daemon.sh stop STATEFILE    SIGTERM it (exit 0 expected), clean up
# The daemon is detached (setsid, every fd a file) so CTest does not wait
# for it; a watchdog kills it after 30 minutes in case stop never runs.
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
	# The in-process runner has no tenant quotas: lift them here too.
	cat >"$d/scriptd.conf" <<-CONF
	[store]
	synchronous = off
	[tenant]
	max_jobs = 100000
	max_tasks = 1000000
	submit_rate = 100000
	submit_burst = 100000
	spawn_rate = 1000000
	spawn_burst = 1000000
	CONF
	setsid "$SCRIPTD" --socket "$d/sock" --db "$d/db" \
	    --config "$d/scriptd.conf" </dev/null >"$d/log" 2>&1 &
	pid=$!
	echo "$pid" >"$d/pid"
	setsid sh -c "sleep 1800; kill -KILL $pid 2>/dev/null" \
	    </dev/null >/dev/null 2>&1 &
	printf 'socket %s\ndir %s\npid %s\nwatchdog %s\n' "$d/sock" "$d" \
	    "$pid" "$!" >"$state"
	i=0
	until grep -q "listening on" "$d/log"; do
		if ! kill -0 "$pid" 2>/dev/null || [ $i -ge 200 ]; then
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
st=0
if kill -0 "$pid" 2>/dev/null; then
	kill -TERM "$pid"
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "scriptd did not exit within 5 s of SIGTERM" >&2
		kill -KILL "$pid"
		st=1
	fi
else
	echo "scriptd died during the language tests:" >&2
	tail -n 30 "$d/log" >&2
	st=1
fi
rm -rf "$d"
exit $st
