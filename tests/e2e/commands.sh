#!/bin/sh
# Every scriptctl command and option against a real daemon: outputs (human
# and --json), exact output bytes, exit codes 0/1/2/3, help and version.
. "$E2E_SRC/lib.sh"
daemon_start

script hello 'println("hello")
eprintln("to stderr")
print("no newline")'
script fail 'fn inner() -> int { panic("boom") }
println("before")
println(inner())'
script sleeper 'await sleep(60000)
println("never")'
script ticks 'for i in 0..20 {
    println("tick " + i)
    await sleep(20)
}'
script slow 'await sleep(5000)'
script bad 'println(1 + 2.0)'
script ext 'extern "libm.so.6" {
    fn cos(x: float) -> float
}
println(await cos(0.0))'

# --help, help COMMAND, COMMAND --help, --version: no daemon needed.
ctl --help; expect_rc 0; expect_out_has "submit   submit FILE"
expect_out_has "stats    show the daemon's counters"
ctl help run; expect_rc 0; expect_out_has "usage: scriptctl run FILE"
ctl logs --help; expect_rc 0; expect_out_has "--follow"
ctl --version; expect_rc 0; expect_out_has "scriptctl 0.1.0"

# Usage errors exit 2 and name the problem.
ctl frobnicate; expect_rc 2; expect_err_has "unknown command 'frobnicate'"
ctl status; expect_rc 2; expect_err_has "status: missing ID"
ctl status 1 2; expect_rc 2; expect_err_has "unexpected argument '2'"
ctl status x1; expect_rc 2; expect_err_has "bad job id 'x1'"
ctl submit --timeout soon "$T/hello.script"; expect_rc 2
expect_err_has "bad --timeout 'soon'"
ctl submit --bogus "$T/hello.script"; expect_rc 2
expect_err_has "unknown option --bogus"
ctl submit "$T/missing.script"; expect_rc 2
expect_err_has "$T/missing.script: No such file or directory"

# Compile errors print like scriptc's and exit 2, before any daemon.
ctl run "$T/bad.script"; expect_rc 2
expect_err_has "$T/bad.script:1:11: error: mismatched types int and float"

# Unreachable daemon: exit 3 at once.
timeout 5 "$SCRIPTCTL" --socket "$T/nope" stats >"$T/out" 2>"$T/err"
RC=$?; expect_rc 3
expect_err_has "scriptctl: stats: cannot connect to $T/nope: No such file"

# run: stdout and stderr byte for byte, exit 0, nothing else printed.
ctl run "$T/hello.script"; expect_rc 0
printf 'hello\nno newline' >"$T/want"
cmp -s "$T/want" "$T/out" || fail "run stdout differs"
printf 'to stderr\n' >"$T/want"
cmp -s "$T/want" "$T/err" || fail "run stderr differs"

# Many chunks, UTF-8, both streams: the same bytes as `scriptd run`.
script big 'for i in 0..3000 {
    print("line " + i + " h\u{e9}llo \u{2713} " + (i * 7919 % 1000) + "\n")
    if i % 100 == 0 { eprintln("err " + i) }
}'
"$SCRIPTD" run "$T/big.script" >"$T/big.want" 2>"$T/big.wanterr" ||
    fail "scriptd run big.script"
ctl run "$T/big.script"; expect_rc 0
[ "$(wc -c <"$T/big.want")" -gt 60000 ] || fail "big.script printed little"
cmp -s "$T/big.want" "$T/out" || fail "run stdout differs from scriptd run"
cmp -s "$T/big.wanterr" "$T/err" || fail "run stderr differs from scriptd run"

# run of a failing job: its output, then "error: MSG" and the trace; 1.
ctl run "$T/fail.script"; expect_rc 1; expect_out "before"
expect_err_has "error: panic: boom"
expect_err_has "  at inner ($T/fail.script:1)"
expect_err_has "  at <top-level> ($T/fail.script:3)"

# run --json: {"job":N}, chunks, then the final record.
ctl --json run "$T/hello.script"; expect_rc 0
head -n 1 "$T/out" | jq -e '.job > 0' >/dev/null || fail "no job line"
grep -q '^{"stream":"stdout","offset":0,"data":"hello\\n' "$T/out" ||
    fail "no stdout chunk"
grep -q '"stream":"stderr"' "$T/out" || fail "no stderr chunk"
tail -n 1 "$T/out" | jq -e '.state == "completed"' >/dev/null ||
    fail "no final record"

# submit prints the job id alone on the last line; wait and status.
ctl submit "$T/hello.script"; expect_rc 0
id=$(last_line)
case $id in ''|*[!0-9]*) fail "submit printed '$id'" ;; esac
ctl wait "$id"; expect_rc 0
expect_out_has "job       $id"; expect_out_has "state     completed"
expect_out_has "stdout    16 bytes"; expect_out_has "stderr    10 bytes"
ctl --json status "$id"; expect_rc 0
[ "$(json_get state)" = completed ] || fail "state $(json_get state)"
[ "$(json_get id)" = "$id" ] || fail "id $(json_get id)"
[ "$(json_get name)" = "$T/hello.script" ] || fail "name $(json_get name)"
[ "$(json_get durable)" = true ] || fail "not durable"
[ "$(json_get stdout_bytes)" = 16 ] || fail "stdout_bytes"
[ "$(json_get stderr_bytes)" = 10 ] || fail "stderr_bytes"
[ "$(json_get uid)" = 0 ] || fail "uid"
jq -e '.created_ms > 0 and .started_ms >= .created_ms and
    .ended_ms >= .started_ms and .tasks_live == 0' "$T/out" >/dev/null ||
    fail "times or tasks_live"

# logs prints stdout exactly; --stderr the other stream; --json both.
ctl logs "$id"; expect_rc 0
printf 'hello\nno newline' >"$T/want"
cmp -s "$T/want" "$T/out" || fail "logs stdout differs"
ctl logs --stderr "$id"; expect_rc 0; expect_out "to stderr"
ctl logs --json "$id"; expect_rc 0
[ "$(jq -r 'select(.stream=="stderr") | .data' "$T/out")" = "to stderr" ] ||
    fail "logs --json lacks the stderr chunk"

# submit options: --name, --ephemeral, --json.
ctl --json submit --ephemeral --name "my job" "$T/hello.script"
expect_rc 0; id=$(json_get job)
ctl --json wait "$id"; expect_rc 0
[ "$(json_get name)" = "my job" ] || fail "name $(json_get name)"
[ "$(json_get durable)" = false ] || fail "ephemeral job is durable"

# --timeout: the job ends timed_out, exit 1, well before its sleep.
ctl run --timeout 1 "$T/slow.script"; expect_rc 1
expect_err_has "error: "
ctl --json list --all; expect_rc 0
jq -se 'any(.[]; .state == "timed_out")' "$T/out" >/dev/null ||
    fail "no timed_out job listed"

# A job that fails: status and wait exit 1 with the error on stderr.
ctl submit "$T/fail.script"; fid=$(last_line)
ctl wait "$fid"; expect_rc 1; expect_out_has "state     failed"
expect_err_has "error: panic: boom"
ctl status "$fid"; expect_rc 1; expect_err_has "  at inner ("

# cancel a sleeping job; list with and without --all.
ctl submit --name sleeper "$T/sleeper.script"; sid=$(last_line)
wait_state "$sid" suspended
ctl list; expect_rc 0; expect_out_has "sleeper"
grep -q "^$sid  *suspended" "$T/out" || fail "list lacks job $sid"
expect_out_lacks "$T/hello.script"
ctl --json list; expect_rc 0
jq -se "any(.[]; .id == $sid)" "$T/out" >/dev/null || fail "json list"
ctl cancel "$sid"; expect_rc 0; expect_out "job $sid: cancellation requested"
ctl wait "$sid"; expect_rc 1; expect_out_has "state     cancelled"
expect_err_has "error: "
ctl --json cancel "$sid"; expect_rc 0
expect_out "{\"job\":$sid,\"was_running\":false}"
ctl list; expect_rc 0; expect_out_lacks "sleeper"
ctl list --all; expect_rc 0; expect_out_has "sleeper"

# logs --follow streams until the job ends.
ctl submit "$T/ticks.script"; tid=$(last_line)
ctl logs --follow "$tid"; expect_rc 0
[ "$(wc -l <"$T/out")" -eq 20 ] || fail "follow got $(wc -l <"$T/out") lines"
expect_out_has "tick 19"

# wait on a terminal shows the state and elapsed time on stderr.
ctl submit "$T/ticks.script"; tid=$(last_line)
SCRIPTCTL_Q=$(printf '%s' "$SCRIPTCTL")
timeout 20 script -qec "'$SCRIPTCTL_Q' --socket '$SOCK' wait $tid" \
    /dev/null >"$T/tty" </dev/null 2>&1
grep -q "job $tid: " "$T/tty" || fail "no progress line on a terminal"
# Redrawn four times a second, not in a busy loop (the job takes < 2 s).
[ "$(grep -o "job $tid: " "$T/tty" | wc -l)" -lt 20 ] ||
    fail "wait redrew its line $(grep -o "job $tid: " "$T/tty" | wc -l) times"
grep -q "state     completed" "$T/tty" || fail "no record after waiting"

# Not found: exit 3 with the daemon's message.
ctl status 987654321; expect_rc 3
expect_err_has "scriptctl: status refused: not found"

# A module with an extern the configuration does not allow is refused.
ctl submit "$T/ext.script"; expect_rc 3
expect_err_has "scriptctl: submit refused: "
expect_err_has 'extern "libm.so.6" cos (float) -> float is not allowed'

# stats, human and --json; $SCRIPTD_SOCKET is the default socket.
ctl stats; expect_rc 0; expect_out_has "submits_total"
SCRIPTD_SOCKET=$SOCK timeout 10 "$SCRIPTCTL" --json stats >"$T/out" \
    2>"$T/err"; RC=$?; expect_rc 0
jq -e '.submits_total >= 8 and .submits_refused >= 1 and
    .connections >= 1 and (.server_version | length) > 0' "$T/out" \
    >/dev/null || fail "stats --json"

daemon_stop
