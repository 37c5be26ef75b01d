#!/bin/sh
# The installed units under the real systemd: sysusers and tmpfiles
# snippets applied, scriptd.socket started, the first connection starts
# scriptd.service (as user scriptd, Type=notify: active only after
# READY=1), a job runs, an extern call runs in an FFI worker inside the
# sandbox (SystemCallFilter, MemoryDenyWriteExecute, ...), StatusText
# shows the counts, a user outside group scriptd cannot connect, a good
# and a bad `systemctl reload` both finish (the bad one logged at priority
# err), and `systemctl stop` is clean. Runtime units in /run/systemd/system,
# removed at the end. Skips (77) unless systemd is PID 1 and we are root,
# and never touches a scriptd.service that is already installed.
# Usage: service.sh BUILD-DIR SOURCE-DIR (environment: SCRIPTCTL).
set -u
B=$1
if [ "$(cat /proc/1/comm 2>/dev/null)" != systemd ]; then
	echo "skip: systemd is not PID 1 here (container?); the units are" \
		"checked offline by units.sh" >&2
	exit 77
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "skip: needs root to install units and users" >&2
	exit 77
fi
if systemctl cat scriptd.service >/dev/null 2>&1 ||
	systemctl cat scriptd.socket >/dev/null 2>&1; then
	echo "skip: a scriptd unit is already installed; not touching it" >&2
	exit 77
fi
# not under /tmp: the service's PrivateTmp= would hide it
P=$B/systemd-service-test
T=$(mktemp -d /tmp/scriptd-service.XXXXXX) || exit 1
RU=/run/systemd/system
started=
cleanup() {
	st=$?
	trap - EXIT INT TERM HUP
	if [ -n "$started" ]; then
		[ "$st" -ne 0 ] && journalctl -u scriptd.service -n 40 \
			--no-pager >&2
		systemctl stop scriptd.service scriptd.socket 2>/dev/null
		rm -f "$RU/scriptd.service" "$RU/scriptd.socket"
		systemctl daemon-reload
		rm -rf /var/lib/scriptd /run/scriptd
	fi
	rm -rf "$T" "$P"
	exit "$st"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
fail() {
	echo "FAIL (service): $*" >&2
	exit 1
}

rm -rf "$P"
cmake --install "$B" --prefix "$P" > "$T/install.log" 2>&1 ||
	fail "cmake --install: $(cat "$T/install.log")"
chmod -R a+rX "$P"
cat >> "$P/etc/scriptd/scriptd.conf" <<'EOF'
[ffi]
allow = libm.so.6 cos (float) -> float
EOF
systemd-sysusers "$P/lib/sysusers.d/scriptd.conf" || fail "systemd-sysusers"
systemd-tmpfiles --create "$P/lib/tmpfiles.d/scriptd.conf" ||
	fail "systemd-tmpfiles"
started=1
cp "$P/lib/systemd/system/scriptd.service" \
	"$P/lib/systemd/system/scriptd.socket" "$RU/"
systemctl daemon-reload
systemctl start scriptd.socket || fail "systemctl start scriptd.socket"
SOCK=/run/scriptd/scriptd.sock
[ "$(stat -c '%U:%G %a' "$SOCK")" = "root:scriptd 660" ] ||
	fail "socket is $(stat -c '%U:%G %a' "$SOCK")"
[ "$(stat -c '%G %a' /run/scriptd)" = "scriptd 750" ] ||
	fail "/run/scriptd is $(stat -c '%U:%G %a' /run/scriptd)"

printf 'async fn main() { println("hi") }\n' > "$T/hi.script"
printf 'extern "libm.so.6" {\n    fn cos(x: float) -> float\n}\nasync fn main() { println(await cos(0.0)) }\n' \
	> "$T/cos.script"
chmod -R a+rX "$T"
out=$(timeout 30 "$SCRIPTCTL" --socket "$SOCK" run "$T/hi.script" 2>&1) ||
	fail "run: $out"
[ "$out" = hi ] || fail "run printed '$out'"
[ "$(systemctl show -P ActiveState scriptd.service)" = active ] ||
	fail "scriptd.service is $(systemctl show -P ActiveState scriptd.service)"
pid=$(systemctl show -P MainPID scriptd.service)
[ "$(stat -c %U "/proc/$pid")" = scriptd ] ||
	fail "the daemon runs as $(stat -c %U "/proc/$pid")"
out=$(timeout 30 "$SCRIPTCTL" --socket "$SOCK" run "$T/cos.script" 2>&1) ||
	fail "extern call under the sandbox: $out"
[ "$out" = 1 ] || fail "cos(0.0) printed '$out'"
sleep 3
systemctl show -P StatusText scriptd.service | grep -Eq '^0 live jobs, 0 tasks, [0-9]+ connections; 2 submissions since start$' ||
	fail "StatusText: $(systemctl show -P StatusText scriptd.service)"

# outside group scriptd: no way in
if command -v setpriv >/dev/null 2>&1; then
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		timeout 30 "$SCRIPTCTL" --socket "$SOCK" run "$T/hi.script" \
		> "$T/out" 2>&1 && fail "nobody could connect: $(cat "$T/out")"
	grep -q 'Permission denied' "$T/out" ||
		fail "nobody got: $(cat "$T/out")"
fi

since=$(date '+%Y-%m-%d %H:%M:%S')
timeout 30 systemctl reload scriptd.service || fail "good reload"
echo 'bogus = 1' >> "$P/etc/scriptd/scriptd.conf"
timeout 30 systemctl reload scriptd.service || fail "bad reload did not finish"
sleep 1
journalctl -u scriptd.service --since "$since" -p err --no-pager -o cat |
	grep -q 'SIGHUP: .*bogus.*keeping the configuration in use' ||
	fail "the refused reload is not in the journal at priority err"
out=$(timeout 30 "$SCRIPTCTL" --socket "$SOCK" run "$T/hi.script" 2>&1)
[ "$out" = hi ] || fail "run after the reloads printed '$out'"
timeout 60 systemctl stop scriptd.service || fail "stop"
[ "$(systemctl show -P Result scriptd.service)" = success ] ||
	fail "stop result $(systemctl show -P Result scriptd.service)"
[ -S "$SOCK" ] || fail "the socket went away with the service"
echo "1 passed, 0 failed"
