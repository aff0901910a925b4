#!/usr/bin/env bash
# Set up and run the whole test suite (see README.md): ruff, pytest on SQLite, pytest on a
# PostgreSQL server the tests start themselves. Exits non-zero if anything fails.
#
# Debian's chromium and postgresql are installed with apt-get when missing (as root, or via
# sudo). With CI=true nothing may skip for want of a browser or a database.
# Extra arguments go to both pytest runs, e.g. `./scripts/test.sh -x -k school`.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

missing=()
have_chromium || missing+=(chromium)
have_postgresql || missing+=(postgresql)
# The sign-in rate limits' shared storage (tests/test_sign_in_hardening.py starts its own).
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if [ "${#missing[@]}" -gt 0 ]; then
  say "Installing Debian packages: ${missing[*]}"
  if ! apt_install "${missing[@]}"; then
    echo "could not install ${missing[*]}; those tests will skip (and fail under CI=true)" >&2
  fi
fi

ensure_venv dev

# npm packages the browser tests load (axe-core, package.json); node and npm from Debian.
if [ ! -d node_modules/axe-core ]; then
  command -v npm >/dev/null 2>&1 || apt_install nodejs npm || echo "could not install npm" >&2
  say "Installing npm packages (package.json)"
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
fi

# The suite's pure tests (tests/rules: no database) run once, in the SQLite pass.
PURE=(tests/rules)
PG_IGNORES=()
for dir in "${PURE[@]}"; do
  [ -d "$dir" ] && PG_IGNORES+=("--ignore=$dir")
done

declare -a results=()
status=0

LOG_DIR="$(mktemp -d)"
trap 'rm -rf "$LOG_DIR"' EXIT

# run_pytest LABEL ARGS...: pytest's exit status 5 ("no tests collected") is a failure too.
run_pytest() {
  local label="$1" code=0 log closing
  shift
  log="$LOG_DIR/pytest-$label.log"
  say "pytest on $label"
  set +e
  python -m pytest -p no:cacheprovider --durations=10 "$@" 2>&1 | tee "$log"
  code="${PIPESTATUS[0]}"
  set -e
  # pytest's own closing line ("=== N passed in Xs ==="), repeated in the summary below.
  closing="$(grep -E '^=+ .* in [0-9.]+s' "$log" | tail -n 1 || true)"
  # In CI a skip is a failure: the suite must not pass by leaving things out.
  if [ "$code" -eq 0 ] && [ "${CI:-}" = "true" ] && [[ "$closing" == *skipped* ]]; then
    results+=("pytest on $label: FAILED, tests skipped under CI=true  $closing")
    status=1
    return
  fi
  case "$code" in
    0) results+=("pytest on $label: passed  $closing") ;;
    5) results+=("pytest on $label: FAILED, no tests were collected  $closing"); status=1 ;;
    *) results+=("pytest on $label: FAILED (exit status $code)  $closing"); status=1 ;;
  esac
}

say "ruff check"
if ruff check .; then results+=("ruff check: passed"); else results+=("ruff check: FAILED"); status=1; fi

# The type check (issue 12): strict on rules/ and services/, mypy's defaults elsewhere
# (pyproject.toml [tool.mypy]); zero errors.
say "mypy"
if mypy; then results+=("mypy: passed"); else results+=("mypy: FAILED"); status=1; fi

run_pytest "SQLite" --db sqlite "$@"
run_pytest "PostgreSQL" --db postgresql "${PG_IGNORES[@]}" "$@"

say "Summary"
printf '  %s\n' "${results[@]}"
exit "$status"
