#!/bin/sh
# Extern calls through the whole daemon (issue 6): calls per second across
# the FFI pool (TASKS tasks of one job, each awaiting CALLS calls of st_add
# in a row, so up to ffi.workers calls are in flight), for 1 and for 2
# workers; and the time from a worker's crash to the next call answered by
# its replacement, seen by a Script program (now_ms before the crashing
# call, after the next call). Usage: bench/ffi_pool.sh BUILD [CALLS]
set -eu
b=$1
calls=${2:-50000}
lib=$(cd "$b/tests/ffilib" && pwd)/libscripttest.so
tmp=$(mktemp -d)
pid=
trap '[ -z "$pid" ] || kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT

start() {
	cat >"$tmp/conf" <<-CONF
	[store]
	synchronous = off
	[tenant]
	extern_rate = 10000000
	extern_burst = 10000000
	[ffi]
	workers = $1
	allow = $lib st_add (int, int) -> int
	allow = $lib st_crash () -> int
	CONF
	rm -f "$tmp/sock" "$tmp/db"*
	"$b/daemon/scriptd" --socket "$tmp/sock" --db "$tmp/db" \
	    --config "$tmp/conf" 2>"$tmp/log" &
	pid=$!
	until grep -q "listening on" "$tmp/log"; do sleep 0.05; done
	sleep 0.3			# the workers' start (~2 ms each)
}

stop() {
	kill "$pid"
	wait "$pid" || true
	pid=
}

cat >"$tmp/calls.script" <<EOF
extern "$lib" {
    fn st_add(a: int, b: int) -> int
}
async fn worker(n: int) -> int {
    let mut s = 0
    for i in 0..n {
        s = await st_add(s, 1)
    }
    return s
}
let t0 = now_ms()
let ts = [spawn(worker($calls)), spawn(worker($calls)),
    spawn(worker($calls)), spawn(worker($calls))]
let rs = await join_all(ts)
let ms = now_ms() - t0
println(rs[0] + rs[1] + rs[2] + rs[3])
println(ms)
EOF

for w in 1 2; do
	start "$w"
	for kind in --ephemeral --durable; do
		out=$("$b/client/scriptctl" --socket "$tmp/sock" run \
		    $([ $kind = --ephemeral ] && echo --ephemeral) \
		    "$tmp/calls.script")
		n=$(echo "$out" | sed -n 1p)
		ms=$(echo "$out" | sed -n 2p)
		echo "extern calls through the daemon, $w worker(s), job" \
		    "${kind#--}: $n calls in $ms ms =" \
		    "$((n * 1000 / (ms > 0 ? ms : 1))) calls/s"
	done
	stop
done

# crash -> replacement answering: 20 rounds, each its own job (a crash
# fails the task that made the call)
start 1
cat >"$tmp/crash.script" <<EOF
extern "$lib" {
    fn st_crash() -> int
}
eprintln(now_ms())
await st_crash()
EOF
cat >"$tmp/after.script" <<EOF
extern "$lib" {
    fn st_add(a: int, b: int) -> int
}
await st_add(1, 1)
println(now_ms())
EOF
: >"$tmp/gaps"
for i in $(seq 20); do
	t0=$("$b/client/scriptctl" --socket "$tmp/sock" run \
	    "$tmp/crash.script" 2>&1 | head -n 1 || true)
	t1=$("$b/client/scriptctl" --socket "$tmp/sock" run "$tmp/after.script")
	echo $((t1 - t0)) >>"$tmp/gaps"
done
sort -n "$tmp/gaps" | awk '{ a[NR] = $1 } END {
	printf "crash -> next call answered by the new worker (20 rounds, " \
	    "two scriptctl runs in between): p50 %d ms, max %d ms\n",
	    a[int((NR + 1) / 2)], a[NR] }'
stop
