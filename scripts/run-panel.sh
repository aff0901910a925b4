#!/usr/bin/env bash
# Set up and run the panel on SQLite with the demo county (see README.md).
#
# Safe to run again: the virtual environment is reused, migrations are idempotent, and the
# demo county is loaded only into an empty database. The demo accounts' password is
# generated on the first run and kept in instance/demo-password (not in the repository), so
# every run can print the same login.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-5000}"

ensure_venv ""

say "Bringing the database up to date (alembic upgrade head)"
alembic upgrade head

mkdir -p instance
PASSWORD_FILE="instance/demo-password"
if [ -z "${DEMO_PASSWORD:-}" ]; then
  if [ ! -s "$PASSWORD_FILE" ]; then
    (umask 077 && python -c 'import secrets; print(secrets.token_urlsafe(12))' >"$PASSWORD_FILE")
  fi
  DEMO_PASSWORD="$(cat "$PASSWORD_FILE")"
fi
export DEMO_PASSWORD

say "Loading the demo county (skipped when the database already holds data)"
flask --app app demo load

cat <<MESSAGE

================================================================
 School transport panel:  http://$HOST:$PORT/
 Sign in as supervisor with password: $DEMO_PASSWORD
 (officer and assistant have the same password; Ctrl-C stops)
================================================================

MESSAGE
# The background worker (letters, whole-year assessment and allocation jobs; services/jobs):
# on the SQLite default its queue is the file instance/jobs.db, with JOB_QUEUE_URL or
# REDIS_URL set it is Redis. It stops with the panel.
say "Starting the background worker (flask jobs worker)"
flask --app app jobs worker &
WORKER_PID=$!
trap 'kill "$WORKER_PID" 2>/dev/null; wait "$WORKER_PID" 2>/dev/null' EXIT INT TERM
flask --app app run --host "$HOST" --port "$PORT"
