# Shared helpers of the fault scripts (sourced, not run). Each script sets `set -euo pipefail`,
# then sources this file from the repository root; see crash.sh for the variables it reads.

FAULTS_DIR=benches/faults
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
# production.toml listens on every interface; the demo accounts' passwords are public.
export MUROJIAT_SERVER__HOST=127.0.0.1
# production.toml wants the address people use and an SMTP server: here the mail goes to
# files and the links to this machine (a serve line below may name its own address).
export MUROJIAT_MAIL__TRANSPORT=file MUROJIAT_SERVER__PUBLIC_URL=http://127.0.0.1

# BIN: an already built binary, or the release build.
faults_binary() {
    if [[ -z ${BIN:-} ]]; then
        echo "== building the release binary" >&2
        cargo build --release --bin murojiat >&2
        BIN=${CARGO_TARGET_DIR:-target}/release/murojiat
    fi
    BIN=$(realpath "$BIN")
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# fresh_db NAME: drops and creates the database NAME; sets DB_URL.
fresh_db() {
    DB=$1
    DB_URL="$PG_URL/$DB"
    PGOPTIONS="-c client_min_messages=warning" psql "$PG_URL/postgres" -qX -v ON_ERROR_STOP=1 \
        -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
}

drop_db() {
    [[ -n ${DB:-} ]] || return 0
    psql "$PG_URL/postgres" -qX -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
}

# sql QUERY: one unaligned, tuples-only result from the test database.
sql() { psql "$DB_URL" -qXtA -v ON_ERROR_STOP=1 -c "$1"; }

# wait_healthy URL [SECONDS]: waits until URL/healthz answers.
wait_healthy() {
    local deadline=$((SECONDS + ${2:-60}))
    until curl -fsS -o /dev/null "$1/healthz" 2>/dev/null; do
        if ((SECONDS > deadline)); then echo "no answer from $1/healthz" >&2; return 1; fi
        sleep 0.1
    done
}

# fresh_world: the settings every script's servers share (database, keys, mail and
# attachment folders under WORK, logs), and a fresh database DB holding the demo
# jurisdiction and CITIZENS citizens (seed_demo).
fresh_world() {
    export MUROJIAT_DATABASE__URL="$PG_URL/$DB"
    export MUROJIAT_AUTH__SIGNING_KEY_FILE=$WORK/keys/jwt-ed25519.pem
    export MUROJIAT_MAIL__FILE_DIR=$WORK/mail MUROJIAT_APPEALS__ATTACHMENTS_DIR=$WORK/attachments
    export MUROJIAT_LOGGING__FILTER=warn,murojiat=info
    echo "== fresh database $DB, demo jurisdiction, $CITIZENS citizens"
    fresh_db "$DB"
    seed_demo "$WORK"
}

# create_acks_table: where filer.py records each acknowledged appeal.
create_acks_table() {
    psql "$DB_URL" -qX -v ON_ERROR_STOP=1 -c "CREATE TABLE fault_acks (phase int, key text, appeal_id uuid,
    tracking_number text, user_id uuid, guest boolean)"
}

# seed_demo WORK: starts `serve --demo` once on the empty database (demo jurisdiction, agencies,
# routing rules, one account per role), stops it, then creates $CITIZENS confirmed citizens with
# `murojiat users create` and writes their credentials to WORK/accounts.json.
seed_demo() {
    local work=$1 port pid
    port=$(free_port)
    MUROJIAT_SERVER__PORT=$port MUROJIAT_SCHEDULER__ENABLED=false MUROJIAT_MAIL__OUTBOX__DELIVER=false \
        "$BIN" --env production serve --demo >"$work/seed-server.log" 2>&1 &
    pid=$!
    wait_healthy "http://127.0.0.1:$port" 120
    kill -TERM "$pid"; wait "$pid" || true
    local accounts="[" i
    for i in $(seq "$CITIZENS"); do
        local email="citizen$i@faults.test" password="faults-citizen-$i-2026"
        echo "$password" | "$BIN" --env production users create --role citizen --email "$email" \
            --name "Шаҳрванд $i" >/dev/null
        accounts+="{\"email\":\"$email\",\"password\":\"$password\"},"
    done
    echo "${accounts%,}]" >"$work/accounts.json"
}

# stop_pid PID: SIGTERM, then SIGKILL after 10 s, for a process this script started.
stop_pid() {
    local pid=$1
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
