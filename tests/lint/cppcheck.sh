#!/bin/sh
# Static analysis (label lint): cppcheck's warning, portability and
# performance checks over every C file of the project must be clean. The
# few false positives are suppressed, each with its reason, in
# .cppcheck-suppressions. Usage: cppcheck.sh SOURCE_DIR BUILD_DIR
set -eu
src=$1 build=$2
command -v cppcheck >/dev/null || { echo "skip: no cppcheck" >&2; exit 77; }
cd "$src"
exec cppcheck --enable=warning,portability,performance --std=c11 \
    --inline-suppr --quiet --error-exitcode=1 \
    --suppressions-list=.cppcheck-suppressions \
    -I proto -I daemon -I compiler -I client -I "$build/proto" \
    proto daemon compiler client fuzz bench tests
