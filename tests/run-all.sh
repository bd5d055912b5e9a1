#!/usr/bin/env bash
# `make test`: runs each suite (a make target) in turn, then a summary: what was
# skipped and why (every "SKIPPED:" line the suites printed), and what failed.
set -u
log=$(mktemp)
trap 'rm -f "$log"' EXIT
failed=()
for suite in "$@"; do
  echo "=== $suite"
  ${MAKE:-make} --no-print-directory "$suite" 2>&1 | tee -a "$log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || failed+=("$suite")
done
echo
echo "=== summary"
grep -h "^SKIPPED:\|SKIPPED: " "$log" | sed "s/^.*SKIPPED: /SKIPPED: /" | sort -u
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all tests passed"
