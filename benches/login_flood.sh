#!/usr/bin/env bash
# Login-flood check (issue 2, done-when #5): do /healthz and an authenticated GET keep their
# latency while 50 clients hammer the login endpoint? Starts the release server on a free port
# with a temporary SQLite database, the demo data and the production argon2 settings
# (config/default.toml: m=19 MiB, t=2, p=1, 2 hashes at once), runs examples/login_flood.rs
# twice -- with the shipped rate limits, and with the per-address login limit raised so that
# every attempt costs an argon2 verification -- and rewrites the "Login flood" section of
# docs/benchmarks.md (the file's other sections are kept). A "Reading" subsection written
# by hand goes under the heading "## Login flood: reading" so reruns keep it.
#
# Usage: benches/login_flood.sh [CLIENTS] [SAMPLES]     (from the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENTS=${1:-50}
SAMPLES=${2:-1000}
OUT=docs/benchmarks.md

echo "== building release binaries"
cargo build --release --bin murojiat --example login_flood
TARGET=${CARGO_TARGET_DIR:-target}
BIN=$TARGET/release/murojiat
FLOOD=$TARGET/release/examples/login_flood

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    if [[ -n $SERVER_PID ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# run_case NAME [ENV=VALUE...]: a fresh server and database per case.
run_case() {
    local name=$1; shift
    local port; port=$(free_port)
    rm -rf "$WORK/data"; mkdir -p "$WORK/data"
    env "$@" \
        MUROJIAT_SERVER__PORT="$port" \
        MUROJIAT_SERVER__PUBLIC_URL="http://127.0.0.1:$port" \
        MUROJIAT_DATABASE__URL="sqlite://$WORK/data/murojiat.db" \
        MUROJIAT_AUTH__SIGNING_KEY_FILE="$WORK/data/keys/jwt-ed25519.pem" \
        MUROJIAT_LOGGING__FILTER=warn \
        "$BIN" --config config --env development serve --demo >"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do
        curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
        sleep 0.1
    done
    echo "== $name"
    {
        echo
        echo "### $name"
        echo
        "$FLOOD" "http://127.0.0.1:$port" citizen@demo.murojiat.tj demo-citizen-2026 "$CLIENTS" "$SAMPLES"
    } | tee -a "$WORK/results.md"
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
}

run_case "Shipped rate limits (login: 20 per address per minute)"
run_case "Per-address login limit raised (MUROJIAT_RATE_LIMIT__LOGIN_PER_IP__BURST=1000000)" \
    MUROJIAT_RATE_LIMIT__LOGIN_PER_IP__BURST=1000000

# Replace only this check's section of docs/benchmarks.md, so other benchmarks' sections stay.
{
    echo "## Login flood"
    echo
    echo "Does a flood of logins starve everything else? Password hashing is argon2id with the"
    echo "production parameters (19 MiB, 2 iterations, 1 lane), run on the blocking pool behind a"
    echo "semaphore of \`auth.argon2.max_concurrent_hashes\` = 2, so at most two hashes run at once"
    echo "and the async workers stay free for other requests. The flood uses a new unknown email"
    echo "per attempt, so the per-account limit never applies and each attempt that passes the"
    echo "per-address limit costs one argon2 verification (against the dummy hash)."
    echo "Latencies are measured by one client sending $SAMPLES sequential requests on a keep-alive"
    echo "connection, before and during the flood. The load generator runs on the same machine."
    echo
    echo "- Date: $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "- Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -h | awk '/^Mem:/ {print $2}') memory, shared with other work"
    echo "- Server: release build, SQLite in a temporary folder, \`serve --demo\`, log filter \`warn\`"
    echo "- Command: \`benches/login_flood.sh $CLIENTS $SAMPLES\` (load generator: examples/login_flood.rs, $CLIENTS flood clients)"
    cat "$WORK/results.md"
    echo
} >"$WORK/section.md"
python3 - "$OUT" "$WORK/section.md" <<'PY'
import pathlib, re, sys
out, section = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]).read_text()
text = out.read_text() if out.exists() else "# Benchmarks\n\nMeasurements on the project's reference machine; each section says how to repeat it.\n\n"
# The section runs from its heading to the next "## " heading (or the end).
pattern = re.compile(r"^## Login flood\n.*?(?=^## |\Z)", re.S | re.M)
text = pattern.sub(lambda _: section, text, count=1) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
out.write_text(text)
PY
echo "== updated $OUT"
