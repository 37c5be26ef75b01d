#!/bin/sh
# `scriptctl run FILE` on the language-test daemon (lang_daemon.sh), for
# tests/lang/runner.c: ctl_run.sh SCRIPTCTL STATEFILE FILE.
ctl=$1 state=$2
shift 2
sock=$(sed -n 's/^socket //p' "$state" 2>/dev/null)
[ -n "$sock" ] || { echo "ctl_run.sh: no daemon (fixture not started)" >&2; exit 3; }
exec "$ctl" --socket "$sock" run "$@"
