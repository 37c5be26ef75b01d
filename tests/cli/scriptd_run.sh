#!/bin/sh
# `scriptd run`: outputs and exit codes (0 completed, 1 failed, 2 usage,
# compile or verification errors). Usage: scriptd_run.sh PATH/TO/scriptd
#                                                        PATH/TO/scriptc
set -u
scriptd=$1
scriptc=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

check() {	# check NAME EXPECTED_STATUS COMMAND...
	name=$1 want=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	got=$?
	if [ "$got" -ne "$want" ]; then
		echo "FAIL $name: exit $got, expected $want"
		cat "$tmp/out" "$tmp/err"
		fails=$((fails + 1))
	fi
}

contains() {	# contains NAME FILE TEXT
	if ! grep -qF -- "$3" "$tmp/$2"; then
		echo "FAIL $1: $2 lacks: $3"
		cat "$tmp/$2"
		fails=$((fails + 1))
	fi
}

printf 'print("a")\neprintln("b")\nprintln(40 + 2)\n' >"$tmp/ok.script"
printf 'fn f(x: int) -> int { 10 / x }\nprintln(f(0))\n' >"$tmp/fail.script"
printf 'let x = 1 + 2.0\n' >"$tmp/bad.script"

check help 0 "$scriptd" --help
contains help out "usage: scriptd"
check version 0 "$scriptd" --version
contains version out "scriptd 0.1.0"
check no-args 2 "$scriptd"
check run-no-file 2 "$scriptd" run
check missing 2 "$scriptd" run "$tmp/missing.script"
contains missing err "missing.script"

check ok 0 "$scriptd" run "$tmp/ok.script"
printf 'a42\n' >"$tmp/want_out"
printf 'b\n' >"$tmp/want_err"
cmp -s "$tmp/out" "$tmp/want_out" || { echo "FAIL ok: stdout"; cat "$tmp/out"; fails=$((fails + 1)); }
cmp -s "$tmp/err" "$tmp/want_err" || { echo "FAIL ok: stderr"; cat "$tmp/err"; fails=$((fails + 1)); }

"$scriptc" -o "$tmp/ok.sbc" "$tmp/ok.script"
check sbc 0 "$scriptd" run "$tmp/ok.sbc"
contains sbc out "a42"

check fail 1 "$scriptd" run "$tmp/fail.script"
contains fail err "error: division by zero"
contains fail err "  at f ($tmp/fail.script:1)"

check compile-error 2 "$scriptd" run "$tmp/bad.script"
contains compile-error err "bad.script:1:11: error: mismatched types"

printf 'garbage' >"$tmp/garbage.sbc"
check garbage 2 "$scriptd" run "$tmp/garbage.sbc"
contains garbage err "bad module"

if [ "$fails" -ne 0 ]; then
	echo "$fails failed"
	exit 1
fi
echo "scriptd run cli: all passed"
