#!/usr/bin/env bash
# Outside fuzzing (issue 8, done-when 3): schemathesis generates requests from the OpenAPI
# document at /api/v1/openapi.json and checks every answer against it. A run passes only with
# zero failures: no 5xx, every status documented for its operation, every body matching its
# schema and content type, problem+json for every error.
#
# For each demo role (citizen, official, supervisor, admin) the script
# 1. starts `murojiat serve --demo` on a fresh temporary SQLite database, data folder and
#    signing key (one server per role, so what one role's run changes, say an account the
#    admin run disabled, cannot hide routes from the next role's run);
# 2. signs in as the role's demo account;
# 3. runs `schemathesis run` with that bearer token: every check (`--checks all`), every phase
#    (examples, coverage, fuzzing, and stateful sequences over the links schemathesis finds
#    between operations), a fixed seed and a fixed number of examples per operation.
# Checks are configured in benches/fuzz/schemathesis.toml (what and why: docs/testing.md).
# Reports (JUnit, NDJSON) and the server logs land in $OUT/<role>/.
#
# Usage: benches/fuzz/schemathesis.sh [ROLE...]          (from anywhere; default: all four)
# Env: BIN=path        the murojiat binary (default: build it, `cargo build --release`);
#      MAX_EXAMPLES=N  test cases per operation and phase (default 30);
#      DETERMINISTIC=0 random cases from SEED instead of the same cases every run;
#      SEED=N          the random seed with DETERMINISTIC=0 (default 8003);
#      WORKERS=N       concurrent schemathesis workers (default 1: with more, hypothesis sometimes
#                      fails inside itself, "AST constructor recursion depth mismatch");
#      VENV=dir        where the Python venv goes (default $CARGO_TARGET_DIR or target/,
#                      under schemathesis-venv; never committed);
#      OUT=dir         reports (default <target>/schemathesis).
# Exit status: 0 when every role's run has zero failures, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SCHEMATHESIS_VERSION=4.32.5
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
VENV=${VENV:-$TARGET/schemathesis-venv}
OUT=${OUT:-$TARGET/schemathesis}
MAX_EXAMPLES=${MAX_EXAMPLES:-30}
SEED=${SEED:-8003}
WORKERS=${WORKERS:-1}
# Deterministic generation draws the same cases every run (schemathesis then ignores the
# seed); DETERMINISTIC=0 draws random ones from SEED instead.
if [[ ${DETERMINISTIC:-1} == 1 ]]; then GENERATION=(--generation-deterministic); else GENERATION=(--seed "$SEED"); fi
ROLES=("$@")
[[ ${#ROLES[@]} -gt 0 ]] || ROLES=(citizen official supervisor admin)

command -v jq >/dev/null || { echo "jq is required" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 (3.9 or later) is required" >&2; exit 1; }

if [[ ! -x $VENV/bin/schemathesis ]] || [[ $("$VENV/bin/schemathesis" --version) != *"$SCHEMATHESIS_VERSION"* ]]; then
    echo "== installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi

if [[ -z ${BIN:-} ]]; then
    echo "== building the release binary"
    cargo build --release --bin murojiat
    BIN=$TARGET/release/murojiat
fi

WORK=$(mktemp -d)
SERVER_PID=
stop_server() {
    if [[ -n $SERVER_PID ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=
    fi
}
cleanup() {
    stop_server
    rm -rf "$WORK"
}
trap cleanup EXIT

password_of() {
    case $1 in
        citizen) echo demo-citizen-2026 ;;
        official) echo demo-official-2026 ;;
        supervisor) echo demo-supervisor-2026 ;;
        admin) echo demo-admin-2026 ;;
        *) echo "unknown role $1 (citizen, official, supervisor, admin)" >&2; exit 2 ;;
    esac
}

mkdir -p "$OUT"
SUMMARY=$OUT/summary.txt
: >"$SUMMARY"
FAILED=0
for ROLE in "${ROLES[@]}"; do
    PASSWORD=$(password_of "$ROLE")
    DATA=$WORK/$ROLE
    REPORTS=$OUT/$ROLE
    rm -rf "$REPORTS"
    mkdir -p "$DATA" "$REPORTS"
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    B=http://127.0.0.1:$PORT
    echo "== $ROLE: serve --demo on $B (fresh database in $DATA)"
    MUROJIAT_DATABASE__URL="sqlite://$DATA/murojiat.db" \
    MUROJIAT_AUTH__SIGNING_KEY_FILE="$DATA/keys/jwt-ed25519.pem" \
    MUROJIAT_APPEALS__ATTACHMENTS_DIR="$DATA/attachments" \
    MUROJIAT_MAIL__FILE_DIR="$DATA/mail" \
    MUROJIAT_SERVER__PORT=$PORT MUROJIAT_SERVER__PUBLIC_URL=$B \
    MUROJIAT_LOGGING__FILTER=${MUROJIAT_LOGGING__FILTER:-warn} \
        "$BIN" serve --demo >"$REPORTS/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 300); do curl -fsS "$B/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
    curl -fsS "$B/readyz" >/dev/null || { echo "the server did not start; see $REPORTS/server.log" >&2; exit 1; }

    TOKEN=$(curl -fsS "$B/api/v1/auth/login" -H 'content-type: application/json' \
        -d "{\"email\":\"$ROLE@demo.murojiat.tj\",\"password\":\"$PASSWORD\"}" | jq -r .access_token)
    [[ -n $TOKEN && $TOKEN != null ]] || { echo "sign-in as $ROLE failed" >&2; exit 1; }
    # Access tokens live 15 minutes; a run per role is well within that.

    echo "== $ROLE: schemathesis run (${GENERATION[*]}, $MAX_EXAMPLES examples per operation)"
    set +e
    # Run from the report folder: schemathesis keeps its cache (.schemathesis/) where it runs.
    (cd "$REPORTS" && "$VENV/bin/schemathesis" --no-color --config-file "$ROOT/benches/fuzz/schemathesis.toml" run \
        "$B/api/v1/openapi.json" \
        --url "$B" \
        --checks all \
        --phases examples,coverage,fuzzing,stateful \
        --max-examples "$MAX_EXAMPLES" \
        "${GENERATION[@]}" \
        --workers "$WORKERS" \
        --header "Authorization: Bearer $TOKEN" \
        --request-timeout 30 \
        --report junit,ndjson --report-dir "$REPORTS") \
        2>&1 | tee "$REPORTS/schemathesis.txt"
    STATUS=${PIPESTATUS[0]}
    set -e
    stop_server
    LAST=$(grep -E '^=+ .* in [0-9.]+s =+$' "$REPORTS/schemathesis.txt" | tail -1 || true)
    CASES=$(grep -E '^ +[0-9]+ generated' "$REPORTS/schemathesis.txt" | tail -1 | sed 's/^ *//' || true)
    echo "$ROLE: exit $STATUS: ${CASES:-?}; ${LAST:-see $REPORTS/schemathesis.txt}" | tee -a "$SUMMARY"
    [[ $STATUS == 0 ]] || FAILED=1
done

echo "== summary ($SUMMARY)"
cat "$SUMMARY"
exit $FAILED
