#!/bin/sh
# LISTEN_* and NOTIFY_SOCKET values the daemon must not trust, with the
# real daemon: garbage stops the start with a message naming the value;
# another process's LISTEN_PID and a bad NOTIFY_SOCKET are logged and
# ignored (the daemon binds its own socket and removes it at the end); an
# inherited fd 3 that is not a listening Unix stream socket is refused.
# A notify socket given as a file path gets READY=1 and STOPPING=1.
# Environment: SCRIPTD, SCRIPTCTL, SDLISTEN (binaries).
. "$(dirname "$0")/lib.sh"
SHOW="log"

SOCK=$T/s.sock
ARGS="--socket $SOCK --db $T/db"
NPASS=0

# refused: EXPECTED-MESSAGE SHELL-SNIPPET (run with "$SCRIPTD" $ARGS as $@)
refused() {
	want=$1
	shift
	timeout 20 sh -c "$1" "$SCRIPTD" $ARGS > "$T/log" 2>&1
	st=$?
	[ "$st" -eq 1 ] || fail "exit status $st, expected 1, for: $1"
	grep -Fq -- "$want" "$T/log" ||
		fail "no '$want' in: $(cat "$T/log")"
	[ -e "$SOCK" ] && fail "a refused start made $SOCK"
	NPASS=$((NPASS + 1))
}

refused 'scriptd: error: LISTEN_PID="abc" is not a process id' \
	'LISTEN_PID=abc LISTEN_FDS=1 exec "$0" "$@"'
refused 'error: LISTEN_FDS="1x" is not a number of sockets (0 to 1024)' \
	'LISTEN_PID=$$ LISTEN_FDS=1x exec "$0" "$@"'
refused 'error: LISTEN_FDS=2: scriptd serves exactly one socket (give the socket unit one ListenStream=)' \
	'LISTEN_PID=$$ LISTEN_FDS=2 LISTEN_FDNAMES=a:b exec "$0" "$@"'
refused 'error: LISTEN_FDNAMES="a:b" does not name the 1 socket(s) of LISTEN_FDS' \
	'LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=a:b exec "$0" "$@"'
refused 'error: inherited fd 3 is not a socket' \
	'exec 3</dev/null; LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" "$@"'
refused 'error: inherited fd 3: Bad file descriptor' \
	'exec 3<&-; LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" "$@"'

# another process's sockets, a notify socket as a file path
"$SDLISTEN" "$T/notify.sock" "$T/notify" &
LPID=$!
i=0
while [ ! -S "$T/notify.sock" ] && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
rm -f "$T/log"		# wait_for must not read an earlier daemon's log
LISTEN_PID=1 LISTEN_FDS=1 NOTIFY_SOCKET=$T/notify.sock "$SCRIPTD" $ARGS \
	> "$T/log" 2>&1 &
DPID=$!
wait_for "$T/log" "info: listening on $SOCK$" || fail "no own socket"
grep -Fq "warning: LISTEN_PID=1 is not this process (pid $DPID); ignoring the 1 inherited socket(s)" "$T/log" ||
	fail "the foreign LISTEN_PID was not named"
wait_for "$T/notify" '^READY=1;STATUS=0 live jobs' || fail "no READY=1"
printf 'async fn main() { println("hi") }\n' > "$T/hi.script"
out=$(timeout 20 "$SCRIPTCTL" --socket "$SOCK" run "$T/hi.script" 2>&1)
[ "$out" = hi ] || fail "run printed '$out'"
kill -TERM "$DPID"
wait "$DPID"
st=$?
DPID=
[ "$st" -eq 0 ] || fail "exit status $st after SIGTERM"
wait_for "$T/notify" '^STOPPING=1$' || fail "no STOPPING=1"
[ -e "$SOCK" ] && fail "the daemon left its own socket behind"
NPASS=$((NPASS + 1))

# a NOTIFY_SOCKET that is no address: logged, the daemon runs without it
rm -f "$T/log"
NOTIFY_SOCKET=not/absolute WATCHDOG_USEC=1000000 "$SCRIPTD" $ARGS \
	> "$T/log" 2>&1 &
DPID=$!
wait_for "$T/log" "info: listening on $SOCK$" || fail "did not start"
grep -Fq 'warning: NOTIFY_SOCKET="not/absolute" is not a Unix socket path or @abstract name; not notifying systemd' "$T/log" ||
	fail "the bad NOTIFY_SOCKET was not named"
grep -Fq 'warning: WATCHDOG_USEC is set without NOTIFY_SOCKET; no watchdog pings' "$T/log" ||
	fail "the orphan WATCHDOG_USEC was not named"
kill -TERM "$DPID"
wait "$DPID"
st=$?
DPID=
[ "$st" -eq 0 ] || fail "exit status $st after SIGTERM"
NPASS=$((NPASS + 1))
echo "$NPASS passed, 0 failed"
