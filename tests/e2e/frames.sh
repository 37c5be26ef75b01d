#!/bin/sh
# Bad and slow clients (tests/e2e/rawclient): garbage, oversized, zero,
# truncated and slow frames, no Hello, a wrong version, an unknown request
# kind, an idle connection. Each gets an Error with id 0 where a reply is
# possible and is closed, while another connection carries on.
. "$E2E_SRC/lib.sh"
daemon_start "[limits]
frame_timeout = 500ms
idle_timeout = 2s
max_module_size = 64K
max_request_size = 128K"

raw garbage; expect_rc 0 garbage; expect_out_has "closed"
expect_out_has "other connection: served"
grep -q "^error protocol error: ." "$T/out" || fail "garbage: no EPROTO"

raw oversized; expect_rc 0 oversized; expect_out_has "closed"
grep -q "^error limit exceeded: .*(131072 bytes)" "$T/out" ||
    fail "oversized: the error does not name the limit (131072)"
expect_out_has "other connection: served"

raw zero; expect_rc 0 zero; expect_out_has "closed"
grep -q "^error protocol error: ." "$T/out" || fail "zero: no EPROTO"

raw truncated; expect_rc 0 truncated; expect_out_has "closed"
expect_out_has "other connection: served"

raw slow 500; expect_rc 0 slow; expect_out_has "during the stall: served"
grep -q "^error timed out: frame not completed within limits.frame_timeout (500 ms)" "$T/out" ||
    fail "slow: no ETIMEOUT naming limits.frame_timeout"
expect_out_has "other connection: served"

raw nohello; expect_rc 0 nohello; expect_out_has "closed"
grep -q "^error protocol error: ." "$T/out" || fail "nohello: no EPROTO"

raw badversion; expect_rc 0 badversion; expect_out_has "closed"
grep -q "^error protocol error: .*1001" "$T/out" ||
    fail "badversion: the error does not name the version"

raw unknown; expect_rc 0 unknown
grep -q "^error protocol error: ." "$T/out" || fail "unknown: no EPROTO"
expect_out_has "after the unknown request: served"

raw idle 2000; expect_rc 0 idle; expect_out_has "closed"

# A module over limits.max_module_size is refused by name and size.
awk 'BEGIN { s = ""; for (i = 0; i < 70000; i++) s = s "x";
    print "let s = \"" s "\"\nprintln(len(s))" }' >"$T/big.script"
ctl submit "$T/big.script"; expect_rc 3
expect_err_has "scriptctl: submit refused: limit exceeded: "
expect_err_has "exceeds limits.max_module_size (65536 bytes)"

# The daemon counted the rejected frames and serves on.
ctl --json stats; expect_rc 0
[ "$(json_get frames_rejected)" -ge 4 ] ||
    fail "frames_rejected = $(json_get frames_rejected)"
script ok 'println("still here")'
ctl run "$T/ok.script"; expect_rc 0; expect_out "still here"

daemon_stop
