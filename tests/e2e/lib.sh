# End-to-end test library (POSIX sh), sourced by tests/e2e/*.sh. It starts
# the real scriptd on a temporary socket and database, runs the real
# scriptctl against it, and always stops the daemon and removes the
# directory on exit, whether the test passed, failed or was interrupted.
#
# Environment (set by CTest): SCRIPTD, SCRIPTCTL, RAWCLIENT (binaries),
# E2E_SRC (this directory). SCRIPTD_WRAP, if set, is a command the daemon
# runs under (the valgrind label: valgrind memcheck, whose errors make the
# daemon exit 99, which daemon_stop reports). SCRIPTD_TEST_SOCKET=PATH reuses a running
# daemon instead (e.g. one under gdb); tests that need their own
# configuration are then skipped (exit 77).
#
# Every client call is bounded by `timeout` (CTL_TIMEOUT seconds), so a
# test fails instead of hanging; nothing reads stdin.

set -u
CTL_TIMEOUT=${CTL_TIMEOUT:-30}
T=$(mktemp -d /tmp/scriptd-e2e.XXXXXX) || exit 1
chmod 755 "$T"			# other uids run scriptctl from here
DPID=
SOCK=
TEST_NAME=$(basename "$0" .sh)

cleanup() {
	st=$?
	trap - EXIT INT TERM HUP
	if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
		kill -TERM "$DPID" 2>/dev/null
		i=0
		while kill -0 "$DPID" 2>/dev/null && [ $i -lt 100 ]; do
			sleep 0.05
			i=$((i + 1))
		done
		kill -KILL "$DPID" 2>/dev/null
	fi
	if [ "$st" -ne 0 ] && [ "$st" -ne 77 ] && [ -f "$T/daemon.log" ]; then
		echo "--- daemon log (last 30 lines)" >&2
		tail -n 30 "$T/daemon.log" >&2
	fi
	rm -rf "$T"
	exit "$st"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

fail() {
	echo "FAIL ($TEST_NAME): $*" >&2
	if [ -f "$T/out" ]; then
		echo "--- last stdout" >&2; cat "$T/out" >&2
		echo "--- last stderr" >&2; cat "$T/err" >&2
	fi
	exit 1
}

# daemon_start [CONFIG-TEXT]: start scriptd with the base configuration
# (socket open to every uid, no fsync) plus CONFIG-TEXT, and wait for its
# "listening on" line (at most 10 s).
daemon_start() {
	if [ -n "${SCRIPTD_TEST_SOCKET:-}" ]; then
		if [ -n "${1:-}" ]; then
			echo "skip: needs its own daemon configuration" >&2
			exit 77
		fi
		SOCK=$SCRIPTD_TEST_SOCKET
		return 0
	fi
	SOCK=$T/sock
	# the wait below reads the log: a previous daemon's must not answer
	[ ! -f "$T/daemon.log" ] || mv "$T/daemon.log" "$T/daemon.log.prev"
	cat >"$T/scriptd.conf" <<-CONF
	[daemon]
	socket_mode = 0666
	log_level = debug
	[store]
	synchronous = off
	${1:-}
	CONF
	# shellcheck disable=SC2086
	${SCRIPTD_WRAP:-} "$SCRIPTD" --socket "$SOCK" --db "$T/db" \
	    --config "$T/scriptd.conf" </dev/null >"$T/daemon.log" 2>&1 &
	DPID=$!
	i=0
	until grep -q "listening on" "$T/daemon.log" 2>/dev/null; do
		kill -0 "$DPID" 2>/dev/null || {
			cat "$T/daemon.log" >&2
			DPID=
			fail "scriptd exited during start"
		}
		[ $i -lt 200 ] || fail "scriptd did not listen within 10 s"
		sleep 0.05
		i=$((i + 1))
	done
}

# daemon_stop: SIGTERM must make the daemon exit 0 within 20 s (valgrind checks for leaks on the way out).
daemon_stop() {
	[ -n "$DPID" ] || return 0
	kill -0 "$DPID" 2>/dev/null || fail "scriptd died during the test"
	kill -TERM "$DPID"
	( sleep 20; kill -KILL "$DPID" 2>/dev/null ) </dev/null >/dev/null 2>&1 &
	wd=$!
	wait "$DPID"
	st=$?
	kill "$wd" 2>/dev/null
	DPID=
	[ "$st" -eq 0 ] || fail "scriptd exited with status $st on SIGTERM"
}

# ctl ARGS...: run scriptctl on the test's socket; stdout in $T/out,
# stderr in $T/err, exit status in $RC.
ctl() {
	timeout -k 2 "$CTL_TIMEOUT" "$SCRIPTCTL" --socket "$SOCK" "$@" \
	    </dev/null >"$T/out" 2>"$T/err"
	RC=$?
}

# ctl_as UID ARGS...: the same as another user (tenant).
ctl_as() {
	u=$1
	shift
	timeout -k 2 "$CTL_TIMEOUT" setpriv --reuid="$u" --regid="$u" \
	    --clear-groups "$SCRIPTCTL" --socket "$SOCK" "$@" \
	    </dev/null >"$T/out" 2>"$T/err"
	RC=$?
}

# raw SCENARIO [ARGS]: tests/e2e/rawclient on the socket.
raw() {
	timeout -k 2 60 "$RAWCLIENT" "$SOCK" "$@" </dev/null >"$T/out" \
	    2>"$T/err"
	RC=$?
}

expect_rc() {
	[ "$RC" -eq "$1" ] || fail "exit status $RC, expected $1${2:+ ($2)}"
}

# expect_out TEXT: stdout is exactly TEXT (plus the final newline).
expect_out() {
	printf '%s\n' "$1" >"$T/want"
	cmp -s "$T/want" "$T/out" || fail "stdout is not exactly: $1"
}

expect_out_has() {
	grep -qF -- "$1" "$T/out" || fail "stdout lacks: $1"
}

expect_out_lacks() {
	! grep -qF -- "$1" "$T/out" || fail "stdout has: $1"
}

expect_err_has() {
	grep -qF -- "$1" "$T/err" || fail "stderr lacks: $1"
}

expect_err_empty() {
	[ ! -s "$T/err" ] || fail "stderr is not empty"
}

# script NAME TEXT: write $T/NAME.script (readable by every tenant).
script() {
	printf '%s\n' "$2" >"$T/$1.script"
	chmod 644 "$T/$1.script"
}

# json_get FIELD: the field of the JSON line on stdout (jq).
json_get() {
	jq -r ".$1" <"$T/out"
}

# submit_id: the job id on the last line of stdout.
last_line() {
	tail -n 1 "$T/out"
}

# wait_state ID STATE: poll status until the job is in STATE (10 s).
wait_state() {
	i=0
	while :; do
		ctl --json status "$1"
		[ "$(jq -r .state <"$T/out" 2>/dev/null)" = "$2" ] && return 0
		[ $i -lt 200 ] || fail "job $1 not $2 within 10 s"
		sleep 0.05
		i=$((i + 1))
	done
}
