# Sourced by the guest's case scripts (as /hulltest/lib.sh, named by $HULLTEST_LIB).
#
#   . "$HULLTEST_LIB"
#   case_foo() { ...; [ "$x" = y ] || fail "x is $x"; pass "x is y"; }
#   run_case foo case_foo
#
# run_case runs the function in a subshell with its output in a log, and prints exactly
# one line "HULLTEST <name> PASS|FAIL|SKIP <detail>" for it: the verdict the function gave
# with pass/fail/skip (which end the subshell), or FAIL when it gave none. The log's tail
# follows a FAIL as HULLTEST-LOG lines. Details are flattened to one line.

HT_TMP=${HT_TMP:-/tmp/hulltest}
mkdir -p "$HT_TMP"

ht_flat() { printf '%s' "$*" | tr '\r\n\t' '   ' | cut -c1-700; }

ht_line() { # name status detail...
	_n=$1 _s=$2
	shift 2
	printf 'HULLTEST %s %s %s\n' "$_n" "$_s" "$(ht_flat "$*")"
}

# Verdicts: only inside a function run by run_case.
pass() { printf 'PASS %s\n' "$(ht_flat "${*:-ok}")" >&3; exit 0; }
fail() { printf 'FAIL %s\n' "$(ht_flat "${*:-failed}")" >&3; exit 1; }
skip() { printf 'SKIP %s\n' "$(ht_flat "$*")" >&3; exit 0; }

# Diagnostics for the log (shown when the case fails).
note() { printf '%s\n' "$*"; }

run_case() { # name function [args...]
	_name=$1
	shift
	_v=$HT_TMP/$_name.verdict
	_l=$HT_TMP/$_name.log
	rm -f "$_v"
	("$@") 3>"$_v" >"$_l" 2>&1 </dev/null
	_rc=$?
	_verdict=
	[ -s "$_v" ] && read -r _verdict <"$_v"
	case $_verdict in
	PASS* | FAIL* | SKIP*) ht_line "$_name" "${_verdict%% *}" "${_verdict#* }" ;;
	*) ht_line "$_name" FAIL "the case gave no verdict (exit $_rc)" ;;
	esac
	if [ "${_verdict%% *}" != PASS ] && [ "${_verdict%% *}" != SKIP ]; then
		tail -n 25 "$_l" | sed "s/^/HULLTEST-LOG $_name: /"
	fi
	[ -n "${HT_AFTER_CASE:-}" ] && "$HT_AFTER_CASE" "$_name"
	return 0
}

# wait_until TENTHS COMMAND...: poll COMMAND every 0.1 s until it succeeds; 1 if it never did.
wait_until() {
	_t=$1
	shift
	while [ "$_t" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		_t=$((_t - 1))
	done
	"$@"
}
