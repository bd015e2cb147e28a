#!/bin/bash
# The README's second command: install, build, run every test; the last line is
# "N passed, N failed, N skipped". Exit status 0 only when nothing failed.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test || exit 1

passed=0 failed=0 skipped=0
failures=()
record() { # name status(pass|fail|skip) [detail]
	case $2 in
	pass) passed=$((passed + 1)) ;;
	fail) failed=$((failed + 1)); failures+=("$1${3:+: $3}") ;;
	skip) skipped=$((skipped + 1)); echo "SKIP $1: ${3:-}" ;;
	esac
}

# A TAP stream's cases, each counted as one test.
count_tap() { # prefix file
	while IFS= read -r line; do
		case $line in
		"ok "*) record "$1${line#ok }" pass ;;
		"not ok "*) record "$1${line#not ok }" fail ;;
		esac
	done <"$2"
}

run_unit_tests() { # builddir prefix
	for t in "$1"/tests/test_*; do
		[ -f "$t" ] && [ -x "$t" ] || continue
		out=$(mktemp)
		if ! "$t" >"$out" 2>&1 && ! grep -q '^not ok' "$out"; then
			record "$2$(basename "$t")" fail "exited non-zero: $(tail -n 3 "$out" | tr '\n' ' ')"
		fi
		grep '^#' "$out" | sed "s|^|  $2$(basename "$t") |" || :
		count_tap "$2$(basename "$t"): " "$out"
		rm -f "$out"
	done
}

echo "== build"
if ! scripts/build.sh build; then
	echo "build failed"; echo "0 passed, 1 failed"; exit 1
fi
record build pass

echo "== unit tests"
run_unit_tests build ""

echo "== unit tests under AddressSanitizer + UBSan"
if scripts/build.sh build-asan -Db_sanitize=address,undefined -Dbuildtype=debug \
	-Db_lundef=false; then
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		run_unit_tests build-asan "asan: "
else
	record asan-build fail "the sanitizer build failed"
fi

echo "== static analysis and format"
if out=$(cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
	--inline-suppr -I src src 2>&1); then
	record cppcheck pass
else
	record cppcheck fail "$out"
fi
bad=$(find src tests -name '*.[ch]' -print0 | xargs -0 clang-format --dry-run 2>&1 | grep -c 'warning:' || :)
if [ "$bad" -eq 0 ]; then record clang-format pass
else record clang-format fail "$bad lines differ from .clang-format (run clang-format -i)"
fi

echo "== integration tests"
junit=$(mktemp)
HULL_BIN=$PWD/build/hull HULL_PROBE=$PWD/build/tests/hull-probe \
	/usr/bin/python3 -m pytest tests/integration -q -rs -p no:cacheprovider --junitxml="$junit"
read -r p f s < <(/usr/bin/python3 - "$junit" <<'PY'
import sys, xml.etree.ElementTree as ET
p = f = s = 0
try:
    for case in ET.parse(sys.argv[1]).iter("testcase"):
        kinds = {c.tag for c in case}
        if "skipped" in kinds: s += 1
        elif kinds & {"failure", "error"}: f += 1
        else: p += 1
except Exception:
    f = 1
print(p, f, s)
PY
)
rm -f "$junit"
passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))

for x in "${failures[@]}"; do echo "FAILED $x"; done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
