#!/bin/sh
# Socket activation through systemd-socket-activate, with the real daemon:
# the socket systemd made is served as it is (never chmod'ed or removed),
# the notify messages reach a stand-in notify socket (abstract name):
# READY=1 with STATUS=, WATCHDOG=1 at half of WATCHDOG_USEC, STATUS= as the
# counts change, RELOADING=1 + MONOTONIC_USEC then READY=1 around a good
# and a refused reload, STOPPING=1 on SIGTERM; and with JOURNAL_STREAM
# naming stderr, every log line has its "<N>" priority and no time.
# Environment: SCRIPTD, SCRIPTCTL, SDLISTEN (binaries).
if ! command -v systemd-socket-activate >/dev/null 2>&1; then
	echo "skip: systemd-socket-activate not installed (Debian: systemd)" >&2
	exit 77
fi
. "$(dirname "$0")/lib.sh"
SHOW="daemon.log notify"

count() {
	grep -Ec -- "$2" "$1" 2>/dev/null
}

SOCK=$T/s.sock
cat > "$T/conf" <<EOF
[daemon]
socket = $SOCK
socket_mode = 0600
[store]
synchronous = off
EOF
printf 'async fn main() { println("hi") }\n' > "$T/hi.script"
printf 'async fn main() { await sleep(20000) }\n' > "$T/sleep.script"
: > "$T/notify"
: > "$T/daemon.log"
NAME=@scriptd-test-activate-$$
"$SDLISTEN" "$NAME" "$T/notify" &
LPID=$!

# journald's stream is identified by device and inode: give the log file's
JS=$(stat -c '%d:%i' "$T/daemon.log")
umask 022
systemd-socket-activate -l "$SOCK" --fdname=scriptd.socket \
	-E NOTIFY_SOCKET="$NAME" -E WATCHDOG_USEC=400000 \
	-E JOURNAL_STREAM="$JS" \
	"$SCRIPTD" --db "$T/db" --config "$T/conf" 2>>"$T/daemon.log" &
DPID=$!
wait_for "$T/daemon.log" "Listening on $SOCK" || fail "no socket made"
mode=$(stat -c %a "$SOCK")

# the first connection starts the daemon, which serves it
out=$(timeout 20 "$SCRIPTCTL" --socket "$SOCK" run "$T/hi.script" 2>&1) ||
	fail "run through the activated socket: $out"
[ "$out" = hi ] || fail "run printed '$out'"
wait_for "$T/daemon.log" "^<6>info: listening on $SOCK \(socket from systemd, fd 3, scriptd.socket\)$" ||
	fail "no 'listening on ... (socket from systemd ...)' line"
[ "$(stat -c %a "$SOCK")" = "$mode" ] ||
	fail "socket mode changed from $mode to $(stat -c %a "$SOCK")"
wait_for "$T/notify" '^READY=1;STATUS=[0-9]+ live jobs, [0-9]+ tasks, [0-9]+ connections; [0-9]+ submissions since start$' ||
	fail "no READY=1 with STATUS="
wait_for "$T/daemon.log" "^<6>info: watchdog: pinging systemd every 200 ms$" ||
	fail "no watchdog line"
sleep 1
n=$(count "$T/notify" '^WATCHDOG=1$')
[ "$n" -ge 3 ] || fail "$n WATCHDOG=1 pings in a second at 200 ms"

# STATUS= follows the counts
id=$(timeout 20 "$SCRIPTCTL" --socket "$SOCK" submit "$T/sleep.script") ||
	fail "submit: $id"
wait_for "$T/notify" '^STATUS=1 live jobs, 1 tasks, 0 connections; 2 submissions since start$' 5 ||
	fail "STATUS= did not show the sleeping job"

# a good reload, then a refused one: RELOADING=1 then READY=1 each time
printf '[daemon]\nlog_level = info\n' >> "$T/conf"
kill -HUP "$DPID"
wait_for "$T/daemon.log" "^<6>info: configuration reloaded from $T/conf$" ||
	fail "good reload not logged"
wait_for "$T/notify" '^RELOADING=1;MONOTONIC_USEC=[0-9]+$' ||
	fail "no RELOADING=1 with MONOTONIC_USEC"
wait_for "$T/notify" '^READY=1$' || fail "no READY=1 after the reload"
printf '[limits]\nbogus = 1\n' >> "$T/conf"
kill -HUP "$DPID"
wait_for "$T/daemon.log" '^<3>error: SIGHUP: .*bogus.*; keeping the configuration in use$' ||
	fail "refused reload not logged at error priority"
i=0
while [ "$(count "$T/notify" '^READY=1$')" -lt 2 ] && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
[ "$(count "$T/notify" '^RELOADING=1;')" -eq 2 ] ||
	fail "RELOADING=1 not sent for the refused reload"
[ "$(count "$T/notify" '^READY=1$')" -eq 2 ] ||
	fail "READY=1 not sent after the refused reload"
# RELOADING=1 comes before its READY=1
grep -E '^(RELOADING|READY)=1' "$T/notify" | sed 's/;.*//' | tr '\n' ' ' |
	grep -q '^READY=1 RELOADING=1 READY=1 RELOADING=1 READY=1 $' ||
	fail "notifications out of order"
out=$(timeout 20 "$SCRIPTCTL" --socket "$SOCK" run "$T/hi.script" 2>&1)
[ "$out" = hi ] || fail "run after the reloads printed '$out'"

kill -TERM "$DPID"
i=0
while kill -0 "$DPID" 2>/dev/null && [ $i -lt 200 ]; do
	sleep 0.05
	i=$((i + 1))
done
kill -0 "$DPID" 2>/dev/null && fail "daemon did not stop on SIGTERM"
wait "$DPID"
st=$?
DPID=
[ "$st" -eq 0 ] || fail "exit status $st after SIGTERM"
wait_for "$T/notify" '^STOPPING=1$' 2 || fail "no STOPPING=1"
[ -S "$SOCK" ] || fail "the daemon removed the socket systemd owns"
# journald mode: every line of the daemon has a priority and no time
bad=$(grep -E '(info|warning|error|debug): ' "$T/daemon.log" |
	grep -Ev '^<[3467]>(info|warning|error|debug): ')
[ -z "$bad" ] || fail "log lines without a priority prefix: $bad"
grep -Eq '^<6>info: stopped$' "$T/daemon.log" || fail "no '<6>info: stopped'"
echo "1 passed, 0 failed"
