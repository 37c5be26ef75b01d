#!/bin/sh
# Extern calls through the real daemon and its FFI workers, with the test
# library tests/ffilib/scripttest.c ($FFILIB): every type, strings, handles
# (use after free, double free, lifetime, job end), and each fault costing
# exactly the one task: a crash, an abort, a hang past ffi.call_timeout,
# memory without end, and forbidden system calls (open, fork, socket).
# After every fault the daemon and the other jobs carry on.
. "$E2E_SRC/lib.sh"
[ -n "${FFILIB:-}" ] && [ -f "$FFILIB" ] || fail "FFILIB not set"

L=$FFILIB
daemon_start "[limits]
handle_lifetime = 1s
[tenant]
max_handles = 3
[ffi]
workers = 2
call_timeout = 2s
worker_memory = 128M
allow = $L st_add (int, int) -> int
allow = $L st_add32 (i32, i32) -> i32
allow = $L st_scale (float, float) -> float
allow = $L st_not (bool) -> bool
allow = $L st_greet (string) -> string
allow = $L st_len (string) -> int
allow = $L st_null_str () -> string
allow = $L st_obj_new (int) -> ptr
allow = $L st_obj_get (ptr) -> int
allow = $L st_obj_free (ptr) frees
allow = $L st_crash () -> int
allow = $L st_abort () -> int
allow = $L st_hang () -> int
allow = $L st_hog () -> int
allow = $L st_open (string) -> int
allow = $L st_spawn () -> int
allow = $L st_socket () -> int"

# the extern block every program starts with
EXT="extern \"$L\" {
    fn st_add(a: int, b: int) -> int
    fn st_add32(a: i32, b: i32) -> i32
    fn st_scale(x: float, k: float) -> float
    fn st_not(b: bool) -> bool
    fn st_greet(name: string) -> string
    fn st_len(s: string) -> int
    fn st_null_str() -> string
    fn st_obj_new(v: int) -> ptr
    fn st_obj_get(o: ptr) -> int
    fn st_obj_free(o: ptr)
    fn st_crash() -> int
    fn st_abort() -> int
    fn st_hang() -> int
    fn st_hog() -> int
    fn st_open(path: string) -> int
    fn st_spawn() -> int
    fn st_socket() -> int
}"

# run NAME BODY WANT-RC: scriptctl run of the extern block plus BODY
run() {
	script "$1" "$EXT
$2"
	ctl run "$T/$1.script"
	expect_rc "$3" "$1"
}

run types 'println(await st_add(40, 2))
println(await st_add32(-7, 3))
println(await st_scale(1.25, 4.0))
println(await st_not(false))
println(await st_greet("Zoë"))
println(await st_len("héllo"))' 0
expect_out "42
-4
5
true
hello, Zoë
6"

run i32_range 'println(await st_add32(3000000000, 1))' 1
expect_err_has "st_add32: argument 1: 3000000000 does not fit in i32"

run nul_string 'println(await st_len("a" + "\0" + "b"))' 1
expect_err_has "st_len: argument 1: the string has a NUL byte"

run null_string 'println(await st_null_str())' 1
expect_err_has "extern call st_null_str failed: st_null_str returned NULL"

run handles 'let o = await st_obj_new(7)
println(await st_obj_get(o))
await st_obj_free(o)
println("freed")
println(await st_obj_get(o))' 1
expect_out "7
freed"
expect_err_has "st_obj_get: argument 1: FFI handle"
expect_err_has "is not live"

run double_free 'let o = await st_obj_new(1)
await st_obj_free(o)
await st_obj_free(o)' 1
expect_err_has "st_obj_free: argument 1: FFI handle"

run handle_limit 'let a = await st_obj_new(1)
let b = await st_obj_new(2)
let c = await st_obj_new(3)
println(await st_obj_get(c))
let d = await st_obj_new(4)' 1
expect_out "3"
expect_err_has "tenant 0: FFI handle limit (3) reached (tenant.max_handles)"

# the handles of an ended job are gone: the next job gets all 3 again
run handles_freed_at_job_end 'let a = await st_obj_new(1)
let b = await st_obj_new(2)
let c = await st_obj_new(3)
println(await st_obj_get(a) + await st_obj_get(b) + await st_obj_get(c))' 0
expect_out "6"

run lifetime 'let o = await st_obj_new(5)
println(await st_obj_get(o))
await sleep(1300)
println(await st_obj_get(o))' 1
expect_out "5"
expect_err_has "expired after 1000 ms (limits.handle_lifetime)"

# A long-running job on the other tenant keeps going through every fault.
script survivor "$EXT
for i in 0..40 {
    assert(await st_add(i, 1) == i + 1)
    await sleep(50)
}
println(\"survived\")"
ctl_as 1001 submit "$T/survivor.script"; expect_rc 0
surv=$(last_line)

run crash 'println(await st_crash())' 1
expect_err_has "extern call st_crash crashed the FFI worker with SIGSEGV"
expect_err_has "at <top-level>"

run abort 'println(await st_abort())' 1
expect_err_has "extern call st_abort crashed the FFI worker with SIGABRT"

run hang 'println(await st_hang())' 1
expect_err_has "extern call st_hang timed out after 2000 ms (ffi.call_timeout)"

run hog 'println(await st_hog())' 1
expect_err_has "extern call st_hog ran out of memory: the FFI worker reached its limit (ffi.worker_memory 134217728 bytes)"

run open 'println(await st_open("/etc/passwd"))' 1
expect_err_has "extern call st_open made a forbidden system call (open"

run spawn 'println(await st_spawn())' 1
expect_err_has "extern call st_spawn made a forbidden system call ("

run socket 'println(await st_socket())' 1
expect_err_has "extern call st_socket made a forbidden system call (socket"

# after all that, calls work, the survivor finished, the daemon is up
run after 'println(await st_add(1, 1))' 0
expect_out "2"
ctl_as 1001 wait "$surv"; expect_rc 0 "the other tenant's job"
ctl_as 1001 logs "$surv"; expect_out_has "survived"
# both workers serve again (a replacement takes ~2 ms, more when loaded)
i=0
while ctl --json stats && [ "$(json_get ffi_workers)" != 2 ]; do
	[ $i -lt 100 ] || fail "$(json_get ffi_workers) FFI workers, not 2"
	sleep 0.05
	i=$((i + 1))
done
[ "$(json_get ffi_calls_total)" -gt 40 ] || fail "ffi_calls_total"

# Refused at submission: not allowed, wrong signature (exit 3).
script notallowed "extern \"$L\" {
    fn st_add(a: int, b: int) -> int
    fn st_free_everything() -> int
}
println(await st_add(1, 2))"
ctl submit "$T/notallowed.script"; expect_rc 3
expect_err_has "st_free_everything () -> int is not allowed by the daemon's configuration"
script badsig "extern \"$L\" {
    fn st_add(a: float, b: int) -> int
}
println(await st_add(1.0, 2))"
ctl submit "$T/badsig.script"; expect_rc 3
expect_err_has "st_add (float, int) -> int does not match the allowed signature (int, int) -> int"

daemon_stop

# One worker, and the per-tenant extern call rate: one job trips it, the
# next call of another tenant does not notice.
CONF2="[tenant]
extern_rate = 5
extern_burst = 5
[ffi]
workers = 1
allow = $L st_add (int, int) -> int
allow = $L st_obj_new (int) -> ptr
allow = $L st_obj_get (ptr) -> int
allow = $L st_crash () -> int"
daemon_start "$CONF2"
EXT="extern \"$L\" {
    fn st_add(a: int, b: int) -> int
    fn st_obj_new(v: int) -> ptr
    fn st_obj_get(o: ptr) -> int
    fn st_crash() -> int
}"

# A handle dies with its worker (one worker here: the crash is on it).
run handle_dies_with_worker 'let o = await st_obj_new(9)
let t = spawn(st_crash())
await sleep(300)
println(await st_obj_get(o))' 1
expect_err_has "st_obj_get: argument 1: FFI handle"
expect_err_has "is not live (freed, or died with its worker)"

# FFI handles do not survive a restart: a durable job holding one comes
# back after kill -9, and its next use of the handle fails, saying why.
script holder "$EXT
let o = await st_obj_new(4)
println(await st_obj_get(o))
await sleep(1500)
println(await st_obj_get(o))"
ctl submit "$T/holder.script"; expect_rc 0; held=$(last_line)
wait_state "$held" suspended
kill -KILL "$DPID"; wait "$DPID" 2>/dev/null; DPID=
daemon_start "$CONF2"
ctl wait "$held"; expect_rc 1
expect_out_has "st_obj_get: argument 1: FFI handle from before the restart is no longer valid (FFI handles do not survive a restart)"
ctl logs "$held"; expect_out "4"
sleep 1.2			# the rate bucket fills again
run rate 'for i in 0..20 {
    await st_add(i, 0)
}' 1
expect_err_has "tenant 0: extern call rate limit (5/s, burst 5) exceeded"
script other "$EXT
println(await st_add(2, 2))"
ctl_as 1001 run "$T/other.script"; expect_rc 0; expect_out "4"
daemon_stop
