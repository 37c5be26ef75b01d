#!/bin/sh
# `cmake --install` into a temporary prefix, then check what it put there:
# the units pass `systemd-analyze verify` and name the installed binary and
# configuration; `systemd-analyze security --offline=true` rates the
# service at most 2.5; the sysusers and tmpfiles snippets make the user,
# group and directories in a scratch root; the installed daemon starts
# with the installed default configuration; the man pages render without
# a warning; a second install keeps an edited configuration.
# Usage: units.sh BUILD-DIR SOURCE-DIR (environment: SCRIPTD, SCRIPTCTL).
set -u
B=$1
S=$2
for c in systemd-analyze systemd-sysusers systemd-tmpfiles; do
	if ! command -v $c >/dev/null 2>&1; then
		echo "skip: $c not installed (Debian: systemd)" >&2
		exit 77
	fi
done
T=$(mktemp -d /tmp/scriptd-units.XXXXXX) || exit 1
DPID=
cleanup() {
	st=$?
	trap - EXIT INT TERM HUP
	[ -n "$DPID" ] && kill -KILL "$DPID" 2>/dev/null
	rm -rf "$T"
	exit "$st"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
fail() {
	echo "FAIL (units): $*" >&2
	exit 1
}
NPASS=0
ok() {
	NPASS=$((NPASS + 1))
}

P=$T/prefix
cmake --install "$B" --prefix "$P" > "$T/install.log" 2>&1 ||
	fail "cmake --install: $(cat "$T/install.log")"
for f in bin/scriptd bin/scriptctl bin/scriptc \
	lib/systemd/system/scriptd.service lib/systemd/system/scriptd.socket \
	lib/sysusers.d/scriptd.conf lib/tmpfiles.d/scriptd.conf \
	etc/scriptd/scriptd.conf share/man/man8/scriptd.8 \
	share/man/man1/scriptctl.1 share/man/man1/scriptc.1; do
	[ -f "$P/$f" ] || fail "not installed: $f"
done
U=$P/lib/systemd/system
grep -qx "ExecStart=$P/bin/scriptd --config $P/etc/scriptd/scriptd.conf" \
	"$U/scriptd.service" || fail "ExecStart= names: $(grep ExecStart= "$U/scriptd.service")"
cmp -s "$S/systemd/scriptd.conf" "$P/etc/scriptd/scriptd.conf" ||
	fail "the installed configuration is not systemd/scriptd.conf"
ok

# verify: man pages are looked up with man(1) when it is there
if command -v man >/dev/null 2>&1; then
	MANPATH=$P/share/man systemd-analyze verify "$U/scriptd.socket" \
		"$U/scriptd.service" > "$T/verify" 2>&1
else
	systemd-analyze verify --man=no "$U/scriptd.socket" \
		"$U/scriptd.service" > "$T/verify" 2>&1
fi
st=$?
[ "$st" -eq 0 ] && [ ! -s "$T/verify" ] ||
	fail "systemd-analyze verify (exit $st): $(cat "$T/verify")"
# the units in the tree verify too (but for the binary's path)
systemd-analyze verify --man=no "$S/systemd/scriptd.socket" \
	"$S/systemd/scriptd.service" 2>&1 | grep -v 'Command /usr/bin/scriptd is not executable' > "$T/verify2"
[ -s "$T/verify2" ] && fail "systemd/ units: $(cat "$T/verify2")"
ok

systemd-analyze security --offline=true "$U/scriptd.service" > "$T/sec" 2>&1 ||
	fail "systemd-analyze security: $(cat "$T/sec")"
score=$(sed -n 's/.*Overall exposure level for scriptd.service: \([0-9.]*\).*/\1/p' "$T/sec")
[ -n "$score" ] || fail "no exposure level in: $(tail -3 "$T/sec")"
awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }' ||
	fail "exposure level $score is above 2.5"
echo "exposure level: $score"
ok

R=$T/root
mkdir -p "$R/etc"
systemd-sysusers --root="$R" "$P/lib/sysusers.d/scriptd.conf" > "$T/su" 2>&1 ||
	fail "systemd-sysusers: $(cat "$T/su")"
uid=$(awk -F: '$1 == "scriptd" { print $3 }' "$R/etc/passwd")
gid=$(awk -F: '$1 == "scriptd" { print $3 }' "$R/etc/group")
[ -n "$uid" ] && [ -n "$gid" ] || fail "no scriptd user and group made"
grep -q "^scriptd:x:$uid:$gid:.*:/var/lib/scriptd:" "$R/etc/passwd" ||
	fail "passwd line: $(grep '^scriptd:' "$R/etc/passwd")"
systemd-tmpfiles --root="$R" --create "$P/lib/tmpfiles.d/scriptd.conf" \
	> "$T/tf" 2>&1 || fail "systemd-tmpfiles: $(cat "$T/tf")"
[ "$(stat -c '%u:%g %a' "$R/run/scriptd")" = "$uid:$gid 750" ] ||
	fail "/run/scriptd is $(stat -c '%u:%g %a' "$R/run/scriptd")"
[ "$(stat -c '%u:%g %a' "$R/var/lib/scriptd")" = "$uid:$gid 700" ] ||
	fail "/var/lib/scriptd is $(stat -c '%u:%g %a' "$R/var/lib/scriptd")"
ok

# the installed daemon takes the installed default configuration
: > "$T/log"
"$P/bin/scriptd" --config "$P/etc/scriptd/scriptd.conf" --socket "$T/s" \
	--db "$T/db" > "$T/log" 2>&1 &
DPID=$!
i=0
while ! grep -q "info: listening on $T/s$" "$T/log" && [ $i -lt 200 ]; do
	kill -0 "$DPID" 2>/dev/null || fail "scriptd: $(cat "$T/log")"
	sleep 0.05
	i=$((i + 1))
done
grep -q "info: listening on $T/s$" "$T/log" || fail "scriptd: $(cat "$T/log")"
[ "$(stat -c %a "$T/s")" = 660 ] || fail "socket mode $(stat -c %a "$T/s")"
kill -TERM "$DPID"
wait "$DPID" || fail "scriptd exit status $?"
DPID=
ok

for m in share/man/man8/scriptd.8 share/man/man1/scriptctl.1 \
	share/man/man1/scriptc.1; do
	if command -v groff >/dev/null 2>&1; then
		w=$(groff -ww -z -man "$P/$m" 2>&1)
		[ -z "$w" ] || fail "$m: $w"
	fi
	grep -q '^\.SH NAME' "$P/$m" || fail "$m has no NAME section"
done
# every option of --help is in the page
for o in $("$P/bin/scriptc" --help | grep -Eo -- '--[a-z]+' | sort -u); do
	grep -Fq -- "$(echo "$o" | sed 's/-/\\-/g')" "$P/share/man/man1/scriptc.1" ||
		fail "scriptc.1 does not mention $o"
done
for c in submit run status wait cancel list logs stats; do
	for o in $("$P/bin/scriptctl" $c --help | grep -Eo -- '--[a-z]+' | sort -u); do
		grep -Fq -- "$(echo "$o" | sed 's/-/\\-/g')" \
			"$P/share/man/man1/scriptctl.1" ||
			fail "scriptctl.1 does not mention $c $o"
	done
	grep -q "^\.BI\{0,1\} $c" "$P/share/man/man1/scriptctl.1" ||
		fail "scriptctl.1 does not describe $c"
done
for o in $("$P/bin/scriptd" --help | grep -Eo -- '--[a-z]+' | sort -u); do
	grep -Fq -- "$(echo "$o" | sed 's/-/\\-/g')" "$P/share/man/man8/scriptd.8" ||
		fail "scriptd.8 does not mention $o"
done
ok

# an operator's edits survive a reinstall
echo "# edited" >> "$P/etc/scriptd/scriptd.conf"
cmake --install "$B" --prefix "$P" > "$T/install.log" 2>&1 ||
	fail "second cmake --install: $(cat "$T/install.log")"
tail -n 1 "$P/etc/scriptd/scriptd.conf" | grep -qx '# edited' ||
	fail "a reinstall overwrote the edited configuration"
grep -q "Keeping: $P/etc/scriptd/scriptd.conf" "$T/install.log" ||
	fail "the reinstall did not say it kept the configuration"
ok
echo "$NPASS passed, 0 failed"
