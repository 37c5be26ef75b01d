#!/bin/sh
# Instruction counts of the hot paths under callgrind (deterministic, unlike
# time on a shared machine), compared with icount.baseline: a count more than
# MARGIN percent above its baseline fails. Counts are for the Release build
# with computed goto on this machine's compiler.
#
#	icount.sh BUILD_DIR            check
#	icount.sh BUILD_DIR --update   rewrite icount.baseline
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=$1
update=${2:-}
MARGIN=5
scriptc=$build/compiler/scriptc
scriptd=$build/daemon/scriptd
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/fib.script" <<'S'
fn fib(n: int) -> int {
    if n < 2 { return n }
    fib(n - 1) + fib(n - 2)
}
println(fib(20))
S
cat >"$tmp/loop.script" <<'S'
let mut acc = 0
let mut i = 0
while i < 200000 {
    acc = (acc + i * 3) % 1000003
    i = i + 1
}
println(acc)
S
cat >"$tmp/yield.script" <<'S'
let mut i = 0
while i < 20000 {
    await yield_now()
    i = i + 1
}
println(i)
S
cat >"$tmp/spawn.script" <<'S'
async fn work(x: int) -> int { x }
let mut i = 0
let mut s = 0
while i < 20000 {
    s = s + await spawn(work(i))
    i = i + 1
}
println(s)
S
cat >"$tmp/strings.script" <<'S'
let mut parts: [string] = []
for i in 0..5000 { push(parts, "item " + i) }
let mut total = 0
for p in parts { total = total + len(p) }
println(total)
S
printf 'println(1)\n' >"$tmp/empty.script"
"$build/bench/gen_compile" "$tmp/big.script" "$tmp/big.lua" 300 >/dev/null

# icount COMMAND...: instructions the command executes
icount() {
	valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" \
		2>&1 >/dev/null | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

for p in empty fib loop yield spawn strings; do
	"$scriptc" -o "$tmp/$p.sbc" "$tmp/$p.script"
done
# vm_*: the program's own cost, with the start-up of an empty program
# (dynamic linking, module load) taken off; vm_empty guards start-up itself.
empty=$(icount "$scriptd" run "$tmp/empty.sbc")
{
	echo "vm_empty $empty"
	for p in fib loop yield spawn strings; do
		echo "vm_$p $(( $(icount "$scriptd" run "$tmp/$p.sbc") - empty ))"
	done
	echo "compile_300fns $(icount "$scriptc" -o "$tmp/big.sbc" "$tmp/big.script")"
} >"$tmp/counts"

if [ "$update" = "--update" ]; then
	cp "$tmp/counts" "$here/icount.baseline"
	cat "$here/icount.baseline"
	exit 0
fi
fail=0
while read -r name count; do
	base=$(sed -n "s/^$name //p" "$here/icount.baseline")
	if [ -z "$base" ]; then
		echo "$name: $count (no baseline; run icount.sh BUILD --update)"
		fail=1
		continue
	fi
	limit=$((base + base * MARGIN / 100))
	awk -v n="$name" -v c="$count" -v b="$base" 'BEGIN {
		printf "%-16s %12d  baseline %12d  %+.1f%%\n", n, c, b,
		    (c - b) * 100 / b }'
	if [ "$count" -gt "$limit" ]; then
		echo "  REGRESSION: more than $MARGIN% above the baseline"
		fail=1
	fi
done <"$tmp/counts"
exit $fail
