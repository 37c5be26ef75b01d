# Shared by activate.sh and listen_env.sh (POSIX sh, sourced): a temporary
# directory T, removed on exit after killing the daemon (DPID) and the
# notify listener (LPID); on a failure, the files of T named in SHOW are
# printed first. fail MESSAGE ends the test; wait_for waits for a line.
set -u
T=$(mktemp -d /tmp/scriptd-sd.XXXXXX) || exit 1
DPID=
LPID=
SHOW=
TEST_NAME=$(basename "$0" .sh)

cleanup() {
	st=$?
	trap - EXIT INT TERM HUP
	[ -n "$DPID" ] && kill -KILL "$DPID" 2>/dev/null
	[ -n "$LPID" ] && kill -TERM "$LPID" 2>/dev/null
	if [ "$st" -ne 0 ] && [ "$st" -ne 77 ]; then
		for f in $SHOW; do
			[ -f "$T/$f" ] || continue
			echo "--- $f" >&2
			cat "$T/$f" >&2
		done
	fi
	rm -rf "$T"
	exit "$st"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

fail() {
	echo "FAIL ($TEST_NAME): $*" >&2
	exit 1
}

# wait_for FILE ERE [SECONDS]: until a line of FILE matches (10 s).
wait_for() {
	i=0
	while ! grep -Eq -- "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt $((${3:-10} * 20)) ] && return 1
		sleep 0.05
	done
	return 0
}
