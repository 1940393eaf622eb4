#!/usr/bin/env bash
# Load harness (issue 8, done-when 1; DESIGN.md section 4). One unattended run that answers
# "how much can one small server take":
#
#  1. PostgreSQL: a fresh database seeded with APPEALS demo appeals (`murojiat demo seed`),
#     CITIZENS citizen accounts (`murojiat users create`), and the demo ruleset grown to 1,000
#     rules (benches/load/grow_rules.py), saved and activated through the admin API;
#  2. the release server on it (`--env production`, mail to files, scheduler on), then with
#     examples/load.rs:
#       - reads with the appeals present: one appeal (its citizen), the first queue page of
#         the busiest agency (the demo official), the deadline report over the whole
#         jurisdiction for this year (the demo administrator: every agency), CLIENTS
#         clients each (the report also with one client);
#       - filing (authenticated citizens, Tajik and Russian bodies, a distinct Idempotency-Key
#         each): saturation with CLIENTS clients, then a fixed RATE appeals/s, then half the
#         saturation rate (open loop, latency from each request's due start: corrected for
#         coordinated omission; percentiles of the answered requests, the rest counted as
#         failed);
#     and the server's peak RSS (after the reads, and at the end);
#  3. the database baseline: pgbench with CLIENTS clients running, per transaction, the same
#     writes as one filing (the rows one real filing wrote, copied under new keys: the
#     idempotency key and its response, the registration counter, the appeal, its jobs, its
#     event, its agency stay, its outbox rows and its report tallies), with the server stopped,
#     twice: each transaction's agency drawn as routing spread the filings just measured, and
#     drawn uniformly (which spreads the locks on the agencies' counters thinner);
#  4. the same filing runs on the SQLite default (`serve --demo` on a temporary file);
#  5. prints one Markdown table (paste it into docs/benchmarks.md, section "Load").
#
# Usage: benches/load/run.sh [APPEALS] [CLIENTS] [SECONDS] [RATE]   (from anywhere)
#   defaults: 1000000 appeals, 16 clients, 30 s per measurement, 1000 appeals/s
# Env: PG_URL (server URL without database, default postgres://postgres@127.0.0.1:5432),
#      DB (database, default murojiat_load; dropped and re-created unless REUSE=1),
#      REUSE=1 keeps an already seeded DB (skips seeding; rules and accounts are re-made),
#      BIN / LOAD = prebuilt murojiat and load binaries (else `cargo build --release`),
#      CITIZENS (default 32),
#      SSLMODE (default disable: PostgreSQL is on this machine) for the server and pgbench alike.
# Needs: psql and pgbench (postgresql-client), curl, jq, bc, python3 (all on this machine).
set -euo pipefail
cd "$(dirname "$0")/../.."
APPEALS=${1:-1000000}
CLIENTS=${2:-16}
SECONDS_EACH=${3:-30}
RATE=${4:-1000}
CITIZENS=${CITIZENS:-32}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
DB=${DB:-murojiat_load}
DB_URL="$PG_URL/$DB"
# The server and the baseline reach PostgreSQL the same way.
export PGSSLMODE=${SSLMODE:-disable}
for tool in psql pgbench curl jq bc python3; do
    command -v $tool >/dev/null || { echo "$tool is required" >&2; exit 1; }
done

if [[ -z ${BIN:-} || -z ${LOAD:-} ]]; then
    echo "== building the release binaries"
    cargo build --release --bin murojiat --example load
    TARGET=${CARGO_TARGET_DIR:-target}
    BIN=${BIN:-$TARGET/release/murojiat}
    LOAD=${LOAD:-$TARGET/release/examples/load}
fi

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED=$(date -u +%Y-%m-%dT%H:%MZ)
WORK=$(mktemp -d)
SERVER_PID=
stop_server() {
    if [[ -n $SERVER_PID ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=
    fi
}
cleanup() { stop_server; rm -rf "$WORK"; }
trap cleanup EXIT
ROWS=$WORK/rows.md
: >"$ROWS"
row() { echo "$1" | tee -a "$ROWS"; }

export MUROJIAT_LOGGING__FILTER=warn
# production.toml wants the address people use and an SMTP server: here the mail goes to
# files and the links to this machine (a serve line below may name its own address).
export MUROJIAT_MAIL__TRANSPORT=file MUROJIAT_SERVER__PUBLIC_URL=http://127.0.0.1
export MUROJIAT_AUTH__SIGNING_KEY_FILE=$WORK/keys/jwt-ed25519.pem
export MUROJIAT_MAIL__FILE_DIR=$WORK/mail
export MUROJIAT_APPEALS__ATTACHMENTS_DIR=$WORK/attachments
# The harness signs in many accounts from one address.
export MUROJIAT_RATE_LIMIT__LOGIN_PER_IP__BURST=100000

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
B=http://127.0.0.1:$PORT

# start_server [serve args...]: starts the server on $PORT and waits until it answers.
start_server() {
    MUROJIAT_SERVER__HOST=127.0.0.1 MUROJIAT_SERVER__PORT=$PORT MUROJIAT_SERVER__PUBLIC_URL=$B \
        "$BIN" --env production serve "$@" >>"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 600); do curl -fsS "$B/healthz" >/dev/null 2>&1 && return; sleep 0.1; done
    echo "the server did not start; its log:" >&2
    tail -20 "$WORK/server.log" >&2
    exit 1
}
peak_rss_mib() { awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$SERVER_PID/status"; }
# CPU time (user + system, in clock ticks) used so far by the server and by the whole
# machine, as "server machine". PostgreSQL's share of a measurement is the machine's less
# the processes measured on their own (its backends come and go with their connections).
TICK_MS=$(echo "1000 / $(getconf CLK_TCK)" | bc -l)
ticks() {
    local server=0
    [[ -n $SERVER_PID && -r /proc/$SERVER_PID/stat ]] &&
        server=$(sed 's/.*) //' "/proc/$SERVER_PID/stat" | awk '{print $12 + $13}')
    echo "$server $(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat)"
}
# cpu_ticks FILE: the ticks of a command run with `timed` (its FILE.cpu, in seconds).
cpu_ticks() { awk -v hz="$(getconf CLK_TCK)" '{printf "%d", ($1 + $2) * hz}' "$1.cpu"; }
# per_op_ms TICKS OPS: milliseconds of CPU per operation.
per_op_ms() { echo "scale=3; $1 * $TICK_MS / $2" | bc | sed 's/^\./0./'; }
# timed FILE COMMAND...: runs COMMAND with its output in FILE and its own CPU time (user +
# system, seconds) in FILE.cpu.
timed() {
    local out=$1
    shift
    local TIMEFORMAT='%U %S'
    { time "$@" >"$out" 2>"$out.err"; } 2>"$out.cpu"
}
login() { # email password
    curl -fsS "$B/api/v1/auth/login" -H 'content-type: application/json' \
        -d "{\"email\":\"$1\",\"password\":\"$2\"}" | jq -r .access_token
}

# make_citizens: CITIZENS confirmed citizen accounts (CLI), their tokens in $WORK/tokens.
make_citizens() {
    for n in $(seq "$CITIZENS"); do
        echo "load-citizen-password" | "$BIN" --env production users create --role citizen \
            --email "load$n@citizens.example.tj" --name "Load citizen $n" >/dev/null 2>&1 || true
    done
}
citizen_tokens() {
    : >"$WORK/tokens"
    for n in $(seq "$CITIZENS"); do login "load$n@citizens.example.tj" load-citizen-password >>"$WORK/tokens"; done
}

# activate_grown_rules: the demo ruleset grown to 1,000 rules, saved and activated as admin.
activate_grown_rules() {
    local admin version
    python3 benches/load/grow_rules.py 1000 >"$WORK/rules.toml"
    admin=$(login admin@demo.murojiat.tj demo-admin-2026)
    version=$(curl -fsS "$B/api/v1/admin/rulesets?description=load+harness" -H "authorization: Bearer $admin" \
        -H 'content-type: application/toml' --data-binary @"$WORK/rules.toml" | jq -r .version)
    curl -fsS -X POST "$B/api/v1/admin/rulesets/$version/activate" -H "authorization: Bearer $admin" >/dev/null
    echo "ruleset version $version active: $(grep -c '^\[\[rule\]\]' "$WORK/rules.toml") rules"
}

# filing LABEL: saturation, then the fixed rate, then half the saturation rate (a load the
# server can carry, when it cannot carry RATE).
filing() {
    local saturated half
    local before after filed=0
    [[ $1 == PostgreSQL ]] && filed=$(psql "$DB_URL" -tAc "SELECT count(*) FROM appeals")
    read -ra before <<<"$(ticks)"
    timed "$WORK/saturation-$1" "$LOAD" "$B" file tokens="$WORK/tokens" clients="$CLIENTS" \
        seconds="$SECONDS_EACH" label="$1: filing, saturation ($CLIENTS clients)" ||
        { cat "$WORK/saturation-$1.err" >&2; exit 1; }
    read -ra after <<<"$(ticks)"
    saturated=$(cat "$WORK/saturation-$1")
    row "$saturated"
    if [[ $1 == PostgreSQL ]]; then
        # Every filing of the run, its warm-up included, as the CPU times include it.
        filed=$(($(psql "$DB_URL" -tAc "SELECT count(*) FROM appeals") - filed))
        local server=$((after[0] - before[0])) load
        load=$(cpu_ticks "$WORK/saturation-$1")
        FILING_CPU="server $(per_op_ms "$server" "$filed") ms, PostgreSQL and the rest of the machine \
$(per_op_ms $((after[1] - before[1] - server - load)) "$filed") ms, load generator \
$(per_op_ms "$load" "$filed") ms ($filed filings)"
    fi
    row "$("$LOAD" "$B" file tokens="$WORK/tokens" rate="$RATE" seconds="$SECONDS_EACH" \
        label="$1: filing at $RATE/s (open loop)")"
    half=$(echo "$saturated" | awk -F'|' '{printf "%d", $5 / 2}')
    if ((half > 0 && half < RATE)); then
        row "$("$LOAD" "$B" file tokens="$WORK/tokens" rate="$half" seconds="$SECONDS_EACH" \
            label="$1: filing at $half/s, half the saturation rate (open loop)")"
    fi
}

# ------------------------------------------------------------------------ PostgreSQL
export MUROJIAT_DATABASE__URL="$DB_URL?sslmode=$PGSSLMODE"
if [[ ${REUSE:-0} == 1 ]]; then
    SEED="reused database $DB"
else
    echo "== fresh database $DB, seeding $APPEALS appeals"
    psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
    start=$(date +%s.%N)
    "$BIN" --env production demo seed --appeals "$APPEALS" | tail -1
    SEED="seeded in $(echo "$(date +%s.%N) - $start" | bc | cut -d. -f1) s"
    psql "$DB_URL" -qc "VACUUM ANALYZE"
fi
make_citizens
start_server
activate_grown_rules
citizen_tokens
PRESENT=$(psql "$DB_URL" -tAc "SELECT count(*) FROM appeals")

echo "== reads with $PRESENT appeals present"
CITIZEN=$(head -1 "$WORK/tokens")
SAMPLE_KEY=load-sample-$(date +%s%N)
SAMPLE=$(curl -fsS "$B/api/v1/appeals" -H "authorization: Bearer $CITIZEN" -H "idempotency-key: $SAMPLE_KEY" \
    -H 'content-type: application/json' \
    -d '{"kind":"complaint","subject":"Дар маҳаллаи мо се рӯз об нест","text":"Ассалому алейкум. Аз рӯзи душанбе дар кӯчаи Сино об нест. Илтимос, чора бинед.","category":"water-supply","region":"tj-dushanbe","district":"tj-dushanbe-sino","language":"tg"}' |
    jq -r .id)
OFFICIAL=$(login official@demo.murojiat.tj demo-official-2026)
ADMIN=$(login admin@demo.murojiat.tj demo-admin-2026)
YEAR=$(date -u +%Y)
read_row() { # label path token [clients]
    row "$("$LOAD" "$B" get path="$2" token="$3" clients="${4:-$CLIENTS}" seconds="$SECONDS_EACH" label="$1")"
}
read_row "PostgreSQL: GET one appeal (its citizen)" "/api/v1/appeals/$SAMPLE" "$CITIZEN"
read_row "PostgreSQL: GET first queue page (busiest agency)" "/api/v1/queue" "$OFFICIAL"
REPORT="/api/v1/reports/deadlines?from=$YEAR-01-01&to=$(date -u +%F)"
read_row "PostgreSQL: GET deadline report, whole jurisdiction, $YEAR (1 client)" "$REPORT" "$ADMIN" 1
read_row "PostgreSQL: GET deadline report, whole jurisdiction, $YEAR ($CLIENTS clients)" "$REPORT" "$ADMIN"

READ_RSS=$(peak_rss_mib)
echo "== filing on PostgreSQL"
filing PostgreSQL
PG_RSS=$(peak_rss_mib)
stop_server

# baseline MIX LABEL: pgbench with CLIENTS clients running one filing's writes per
# transaction (benches/load/baseline_sql.sh), its agency drawn by MIX; sets PG_TPS.
baseline() {
    local name=$1 done failed latencies
    MIX=$1 benches/load/baseline_sql.sh "$DB_URL" "$SAMPLE" "$SAMPLE_KEY" >"$WORK/filing-$name.sql"
    local before after
    read -ra before <<<"$(ticks)"
    timed "$WORK/pgbench-$name.txt" pgbench -n -M prepared -c "$CLIENTS" -j 2 -T "$SECONDS_EACH" \
        -f "$WORK/filing-$name.sql" --log --log-prefix="$WORK/pg-$name" "$DB_URL" ||
        { cat "$WORK/pgbench-$name.txt" "$WORK/pgbench-$name.txt.err"; exit 1; }
    read -ra after <<<"$(ticks)"
    PG_TPS=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$WORK/pgbench-$name.txt")
    failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$WORK/pgbench-$name.txt")
    done=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$WORK/pgbench-$name.txt")
    # Per-transaction latencies in microseconds: the 3rd column of pgbench's logs.
    latencies=$(cat "$WORK"/pg-"$name".* | awk '{print $3}' | sort -n |
        awk '{a[NR]=$1} END {printf "%.2f | %.2f | %.2f | %.2f", a[int(NR*0.5)]/1000, a[int(NR*0.99)]/1000, a[int(NR*0.999)]/1000, a[NR]/1000}')
    row "| PostgreSQL: pgbench, one filing's writes per transaction ($CLIENTS clients, $2) | $done | ${failed:-0} | ${PG_TPS%.*} | $latencies |"
    local client
    client=$(cpu_ticks "$WORK/pgbench-$name.txt")
    PGBENCH_CPU="PostgreSQL and the rest of the machine $(per_op_ms $((after[1] - before[1] - client)) "$done") ms, \
pgbench $(per_op_ms "$client" "$done") ms ($done transactions)"
}
# The filings' own agency mix: routed filings crowd onto a few agencies, and each holds its
# agency's registration counter until it commits.
baseline filings "agencies as the filings above were routed"
MIX_TPS=$PG_TPS
baseline uniform "agencies drawn uniformly"
# The baseline's copies (tracking number = registration number) go, so the database can be
# reused and no server delivers their outbox rows.
psql "$DB_URL" -qc "CREATE TEMP TABLE copies AS SELECT id FROM appeals WHERE tracking_number = registration_number" \
    -c "DELETE FROM outbox WHERE appeal_id IN (SELECT id FROM copies)" \
    -c "DELETE FROM jobs WHERE appeal_id IN (SELECT id FROM copies)" \
    -c "DELETE FROM appeal_events WHERE appeal_id IN (SELECT id FROM copies)" \
    -c "DELETE FROM appeal_stints WHERE appeal_id IN (SELECT id FROM copies)" \
    -c "DELETE FROM idempotency_keys WHERE key IN (SELECT id::text FROM copies)" \
    -c "DELETE FROM appeals WHERE id IN (SELECT id FROM copies)" \
    -c "DROP TABLE load_baseline_agencies"

# ------------------------------------------------------------------------ SQLite
echo "== SQLite: serve --demo on a temporary file"
export MUROJIAT_DATABASE__URL=sqlite://$WORK/murojiat.db
start_server --demo
stop_server
make_citizens
start_server
activate_grown_rules
citizen_tokens
filing SQLite
SQLITE_RSS=$(peak_rss_mib)
stop_server

# ------------------------------------------------------------------------ the table
SATURATION=$(grep -F 'PostgreSQL: filing, saturation' "$ROWS" | awk -F'|' '{print $5}' | xargs)
RATIO=$(echo "scale=2; $SATURATION / ${PG_TPS%.*}" | bc | sed 's/^\./0./')
MIX_RATIO=$(echo "scale=2; $SATURATION / ${MIX_TPS%.*}" | bc | sed 's/^\./0./')
echo
echo "## Load ($(date -u +%Y-%m-%d))"
echo
echo "- Date: $STARTED to $(date -u +%H:%MZ); machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -h | awk '/Mem:/{print $2}'); load average at the start: $LOAD_BEFORE, at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- Command: \`benches/load/run.sh $APPEALS $CLIENTS $SECONDS_EACH $RATE\`; PostgreSQL $(psql "$DB_URL" -tAc 'SHOW server_version') on loopback (sslmode=$PGSSLMODE for the server and pgbench); $SEED; $PRESENT appeals present for the reads; 1,000 routing rules; $CITIZENS citizens"
echo
echo "Latencies are of the answered (2xx) requests; \"failed\" counts the others (503: shed past \`server.max_in_flight_requests\`). Open-loop latencies count from each request's due start."
echo
echo "| measurement | requests | failed | per s | p50 ms | p99 ms | p99.9 ms | max ms |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
cat "$ROWS"
echo
echo "- Filing throughput against the database baseline: **$RATIO** ($SATURATION appeals/s over HTTP, ${PG_TPS%.*} transactions/s in pgbench with agencies drawn uniformly); **$MIX_RATIO** against the baseline with the filings' agency mix (${MIX_TPS%.*} transactions/s)"
echo "- CPU per filing in the saturation run (user + system, from /proc; the two cores are shared): $FILING_CPU; per pgbench transaction with agencies drawn uniformly: $PGBENCH_CPU"
echo "- Server peak RSS: PostgreSQL run $PG_RSS MiB ($READ_RSS MiB after the reads, before filing), SQLite run $SQLITE_RSS MiB"
