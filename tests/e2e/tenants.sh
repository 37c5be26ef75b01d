#!/bin/sh
# Tenants are peer uids: another tenant's job is "not found" (the same
# answer as a job that does not exist), list shows only one's own jobs,
# and an admin uid from the configuration sees and cancels every job.
# Clients run as uids 1001, 1002 (tenants) and 1003 (admin) via setpriv.
. "$E2E_SRC/lib.sh"
daemon_start "[daemon]
admin_uids = 1003"

script sleeper 'await sleep(60000)'

ctl_as 1001 submit --name job-a "$T/sleeper.script"; expect_rc 0
a=$(last_line)
ctl_as 1002 submit --name job-b "$T/sleeper.script"; expect_rc 0
b=$(last_line)

ctl_as 1001 --json status "$a"; expect_rc 0
[ "$(json_get uid)" = 1001 ] || fail "job a has uid $(json_get uid)"

# Another tenant's job is "not found", exactly like a missing one.
ctl_as 1002 status 987654321; expect_rc 3
sed "s/987654321/ID/g" "$T/err" >"$T/missing"
for cmd in status wait cancel logs; do
	ctl_as 1002 "$cmd" "$a"; expect_rc 3 "$cmd of another tenant's job"
	expect_err_has "scriptctl: $cmd refused: not found"
done
ctl_as 1002 status "$a"
sed "s/$a/ID/g" "$T/err" >"$T/other"
cmp -s "$T/missing" "$T/other" ||
    fail "another tenant's job reads differently from a missing one"
ctl_as 1002 logs --follow "$a"; expect_rc 3; expect_err_has "not found"

# list shows one's own jobs only; stats counts one's own jobs.
ctl_as 1002 list; expect_rc 0; expect_out_has "job-b"; expect_out_lacks "job-a"
ctl_as 1001 list --all; expect_rc 0; expect_out_has "job-a"
expect_out_lacks "job-b"
ctl_as 1001 --json stats; expect_rc 0
[ "$(json_get uid)" = 1001 ] || fail "stats uid $(json_get uid)"
[ "$(json_get is_admin)" = false ] || fail "1001 is admin"
[ "$(json_get jobs_suspended)" = 1 ] ||
    fail "1001 sees $(json_get jobs_suspended) suspended jobs"

# root is not special unless listed: it has no jobs.
ctl list --all; expect_rc 0; expect_out_lacks "job-a"; expect_out_lacks "job-b"

# The admin sees both, reads their status and may cancel any.
ctl_as 1003 list; expect_rc 0; expect_out_has "job-a"; expect_out_has "job-b"
ctl_as 1003 --json stats; expect_rc 0
[ "$(json_get is_admin)" = true ] || fail "1003 is not admin"
[ "$(json_get jobs_suspended)" -ge 2 ] || fail "admin stats"
ctl_as 1003 status "$b"; expect_rc 0; expect_out_has "uid       1002"
ctl_as 1003 cancel "$b"; expect_rc 0
expect_out "job $b: cancellation requested"
ctl_as 1002 wait "$b"; expect_rc 1; expect_out_has "state     cancelled"

# The owner still controls its own job after all that.
ctl_as 1001 cancel "$a"; expect_rc 0
ctl_as 1001 wait "$a"; expect_rc 1; expect_out_has "state     cancelled"

daemon_stop
