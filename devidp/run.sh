#!/usr/bin/env bash
# `make run`: Inigo on http://127.0.0.1:$PORT (8000; gunicorn, SQLite, reloading on code changes) and, unless
# LOCAL_IDP=0, the local identity provider that plays Okta on http://127.0.0.1:$IDP_PORT (9400) with a demo tenant.
# Ctrl-C stops both. Plain bash (3.2 and later), no curl: it runs from a fresh clone with only Python.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="${BIN:-.venv/bin}"
APP_PORT="${PORT:-8000}"
IDP_PORT="${IDP_PORT:-9400}"
for port in "$APP_PORT" "$IDP_PORT"; do
  case "$port" in
    ''|*[!0-9]*) echo "Ports are numbers from 1024 to 65535, e.g. make run PORT=8001 IDP_PORT=9401 (got '$port')." >&2
                 exit 2 ;;
  esac
  if [ "$port" -lt 1024 ] || [ "$port" -gt 65535 ]; then
    echo "Ports are numbers from 1024 to 65535, e.g. make run PORT=8001 IDP_PORT=9401 (got '$port')." >&2
    exit 2
  fi
done
if [ "$APP_PORT" = "$IDP_PORT" ]; then
  echo "PORT and IDP_PORT must differ (both are $APP_PORT)." >&2
  exit 2
fi
APP_URL="http://127.0.0.1:${APP_PORT}"
IDP_URL="http://127.0.0.1:${IDP_PORT}"
LOCAL_IDP="${LOCAL_IDP:-1}"

export DJANGO_DEBUG=true
export PYTHONUNBUFFERED=1

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_for NAME PORT PID: until PORT answers; gives up when the process ends or after 30 seconds.
wait_for() {
  for _ in $(seq 1 300); do
    listening "$2" && return 0
    kill -0 "$3" 2>/dev/null || { echo "$1 did not start (see above)." >&2; exit 1; }
    sleep 0.1
  done
  echo "$1 did not answer on port $2 within 30 seconds." >&2
  exit 1
}

for port in "$APP_PORT" $([ "$LOCAL_IDP" = 0 ] || echo "$IDP_PORT"); do
  if listening "$port"; then
    echo "Port $port on 127.0.0.1 is already in use. Is another \`make run\` still running? Stop it first, or choose other ports: make run PORT=8001 IDP_PORT=9401." >&2
    exit 1
  fi
done

PIDS=()
stop() {
  trap - EXIT INT TERM
  if [ "${#PIDS[@]}" -gt 0 ]; then
    kill "${PIDS[@]}" 2>/dev/null || true
    wait "${PIDS[@]}" 2>/dev/null || true
  fi
}
trap stop EXIT
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM

"$BIN/python" manage.py migrate --no-input

if [ "$LOCAL_IDP" != 0 ]; then
  # Only here, on loopback, may a tenant's issuer be plain http://.
  export SSO_ALLOW_INSECURE_ISSUERS=true
  "$BIN/python" manage.py ensure_demo_tenant --issuer "$IDP_URL"
  # LOCAL_IDP_IGNORE_REAUTH=1: it ignores prompt=login and max_age, as Okta does for some federated people.
  "$BIN/python" -m devidp.server --port "$IDP_PORT" --app-url "$APP_URL" \
    $([ "${LOCAL_IDP_IGNORE_REAUTH:-0}" = 1 ] && echo --ignore-reauth) &
  PIDS+=("$!")
  wait_for "The local identity provider" "$IDP_PORT" "$!"
fi

"$BIN/gunicorn" --config gunicorn.conf.py --bind "127.0.0.1:${APP_PORT}" --workers 2 --reload inigo_sso.wsgi &
APP_PID=$!
PIDS+=("$APP_PID")
wait_for "Inigo (gunicorn)" "$APP_PORT" "$APP_PID"

if [ "$LOCAL_IDP" != 0 ]; then
  "$BIN/python" -m devidp.demo --app-url "$APP_URL" --issuer "$IDP_URL"
else
  echo
  echo "  Inigo is running on ${APP_URL}/ (no local identity provider: sign in with a tenant of your own)."
  echo "  Stop with Ctrl-C. With the local identity provider that plays Okta: make run"
  echo
fi

wait "$APP_PID"
