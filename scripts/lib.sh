# Shared by run-panel.sh and test.sh (sourced, not run): find Python 3.11+, make .venv,
# install the project into it, and install Debian packages when they are missing.
# shellcheck shell=bash

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$REPO_ROOT/.venv}"

say() { printf '\n==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Run a command as root: directly when we are root, through sudo when it is available.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    return 1
  fi
}

APT_UPDATED=0
# apt_install PKG...: install Debian packages, running `apt-get update` once first.
apt_install() {
  command -v apt-get >/dev/null 2>&1 || { echo "apt-get not available to install: $*" >&2; return 1; }
  if [ "$APT_UPDATED" -eq 0 ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q || return 1
    APT_UPDATED=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

# The first interpreter on PATH that is Python 3.11 or newer.
find_python() {
  local candidate
  for candidate in ${PYTHON:-} python3 python3.13 python3.12 python3.11 python; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

# ensure_venv EXTRAS: .venv with the project installed editable (EXTRAS e.g. "dev" or "").
# Re-installs only when pyproject.toml changed since the last install, so a second run is quick.
ensure_venv() {
  local extras="$1" python spec stamp
  if [ ! -x "$VENV/bin/python" ]; then
    python="$(find_python)" || die "Python 3.11 or newer is needed (python3 --version)"
    say "Creating $VENV with $python"
    if ! "$python" -m venv "$VENV" 2>/dev/null; then
      # Debian ships venv separately; a half-made .venv would fool the check above.
      rm -rf "$VENV"
      local minor
      minor="$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
      apt_install "python${minor}-venv" || apt_install python3-venv ||
        die "could not create a virtual environment; install python3-venv"
      "$python" -m venv "$VENV"
    fi
  fi
  spec="."
  [ -n "$extras" ] && spec=".[$extras]"
  stamp="$VENV/.installed-${extras:-base}"
  if [ ! -f "$stamp" ] || [ "$REPO_ROOT/pyproject.toml" -nt "$stamp" ]; then
    say "Installing the project and its dependencies into $VENV ($spec)"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    (cd "$REPO_ROOT" && "$VENV/bin/python" -m pip install --quiet -e "$spec")
    touch "$stamp"
  fi
  export PATH="$VENV/bin:$PATH"
  export VIRTUAL_ENV="$VENV"
}

# PostgreSQL server binaries where the tests look for them (tests/support/postgres.py).
have_postgresql() {
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || command -v initdb >/dev/null 2>&1
}

have_chromium() { [ -x "${CHROMIUM:-/usr/bin/chromium}" ]; }
