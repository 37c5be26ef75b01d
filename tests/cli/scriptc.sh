#!/bin/sh
# scriptc's command line: options, outputs and exit codes (0 success,
# 1 compile errors, 2 usage or I/O errors). Usage: scriptc.sh PATH/TO/scriptc
set -u
scriptc=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

check() {	# check NAME EXPECTED_STATUS COMMAND...
	name=$1 want=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
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

printf 'println(1 + 1)\n' >"$tmp/good.script"
printf 'let x = 1 + 2.0\nlet y = nope\n' >"$tmp/bad.script"

check help 0 "$scriptc" --help
contains help out "usage: scriptc"
check version 0 "$scriptc" --version
contains version out "scriptc 0.1.0"
check no-args 2 "$scriptc"
contains no-args err "usage: scriptc"
check bad-option 2 "$scriptc" --frobnicate x.script
check two-files 2 "$scriptc" a.script b.script
check missing-file 2 "$scriptc" "$tmp/missing.script"
contains missing-file err "missing.script: No such file or directory"

check compile 0 "$scriptc" "$tmp/good.script"
[ -s "$tmp/good.sbc" ] || { echo "FAIL compile: no good.sbc"; fails=$((fails + 1)); }
check output 0 "$scriptc" -o "$tmp/other.sbc" "$tmp/good.script"
[ -s "$tmp/other.sbc" ] || { echo "FAIL output: no other.sbc"; fails=$((fails + 1)); }
check output-dir 2 "$scriptc" -o "$tmp/nodir/x.sbc" "$tmp/good.script"
check dev-null 0 "$scriptc" -o /dev/null "$tmp/good.script"
[ -c /dev/null ] || { echo "FAIL dev-null: /dev/null replaced"; fails=$((fails + 1)); }

check errors 1 "$scriptc" "$tmp/bad.script"
contains errors err "bad.script:1:11: error: mismatched types int and float"
contains errors err "bad.script:2:9: error: unknown name 'nope'"
[ -e "$tmp/bad.sbc" ] && { echo "FAIL errors: bad.sbc written"; fails=$((fails + 1)); }

rm -f "$tmp/good.sbc"
check check-only 0 "$scriptc" --check "$tmp/good.script"
[ -e "$tmp/good.sbc" ] && { echo "FAIL check-only: wrote good.sbc"; fails=$((fails + 1)); }
check check-errors 1 "$scriptc" --check "$tmp/bad.script"

check disasm 0 "$scriptc" --disasm "$tmp/other.sbc"
contains disasm out "async fn <top-level>"
contains disasm out "PRINT"
check disasm-source 0 "$scriptc" --disasm "$tmp/good.script"
printf 'not a module' >"$tmp/garbage.sbc"
check disasm-garbage 1 "$scriptc" --disasm "$tmp/garbage.sbc"
contains disasm-garbage err "garbage.sbc:"

if [ "$fails" -ne 0 ]; then
	echo "$fails failed"
	exit 1
fi
echo "scriptc cli: all passed"
