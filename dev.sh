#!/usr/bin/env bash
# soundlake's two commands:
#   ./dev.sh run    build everything and serve the app on http://127.0.0.1:3000
#   ./dev.sh test   run every test: fmt, lints (rustc, clippy), unit, integration (PostgreSQL), browser
# Both install what a fresh Debian machine with Rust lacks (wasm target, wasm-bindgen,
# PostgreSQL, Chromium, Playwright) and build into $CARGO_TARGET_DIR
# (default ~/.cache/soundlake/target, outside the checkout, so clones share one build cache).
set -euo pipefail
cd "$(dirname "$0")"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/soundlake/target}"
# The queries checked at compile time (`sqlx::query!`) are checked against the `.sqlx` data in
# the checkout, never against whatever database DATABASE_URL names (see cmd_queries).
export SQLX_OFFLINE=true
# CI builds a clean clone once: incremental compilation's caches would cost time, never be read.
if [ "${CI:-}" = true ]; then export CARGO_INCREMENTAL=0; fi
WASM_BINDGEN_VERSION=0.2.130
PY_DELTALAKE_VERSION=1.6.6
PY_ARROW_VERSION=26.0.1
PY_LIBLISTENBRAINZ_VERSION=0.7.0
PY_ADBC_FLIGHTSQL_VERSION=1.13.0
PY_MOTO_VERSION=5.2.6
PY_SCHEMATHESIS_VERSION=4.32.5
SITE_ROOT="$CARGO_TARGET_DIR/site-debug"   # build_site sets it per profile
BIN="$CARGO_TARGET_DIR/debug/soundlake"

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
is_root() { [ "$(id -u)" = 0 ]; }

apt_install() {
  if ! is_root || ! command -v apt-get >/dev/null; then
    echo "missing: $*; install it (Debian: apt-get install $*)" >&2
    return 1
  fi
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# The compilers, and wasm-bindgen unless told `later` (`test` installs it beside the build).
ensure_toolchain() {
  command -v cargo >/dev/null || { echo "Rust is needed: https://rustup.rs" >&2; exit 1; }
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  rustup component list --installed | grep -q '^clippy' || rustup component add clippy rustfmt
  [ "${1:-}" = later ] || ensure_wasm_bindgen
}

ensure_wasm_bindgen() {
  if ! wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION\$"; then
    say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 3 minutes, once)"
    env -u CARGO_TARGET_DIR cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
  fi
}

postgres_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

ensure_postgres_binaries() {
  if [ -z "$(postgres_bin)" ]; then
    say "installing PostgreSQL"
    apt_install postgresql
  fi
}

# The browser app into $SITE_ROOT/pkg, a folder per profile (so that the tests never replace
# what a running `run` serves). `release` (what `run` serves) builds the size-optimised
# profile and shrinks it with binaryen's wasm-opt; the tests build the debug profile, quicker
# to compile. Either way every file is also written brotli- and gzip-compressed at the best
# level, which the server sends instead of compressing per request.
build_site() {
  local profile="${1:-debug}" cargo_profile=() wasm_dir=debug
  SITE_ROOT="$CARGO_TARGET_DIR/site-$profile"
  if [ "$profile" = release ]; then cargo_profile=(--profile wasm-release); wasm_dir=wasm-release; fi
  say "building the browser app (wasm, $profile)"
  linted_build build -p frontend --lib --target wasm32-unknown-unknown "${cargo_profile[@]}"
  if [ ! -f frontend/node_modules/echarts/dist/echarts.min.js ] ||
    [ ! -x frontend/node_modules/.bin/wasm-opt ]; then
    command -v npm >/dev/null || apt_install nodejs npm
    (cd frontend && npm ci --include=dev --no-audit --no-fund --silent)
  fi
  local pkg="$SITE_ROOT/pkg"
  rm -rf "$pkg" && mkdir -p "$pkg"
  wasm-bindgen --target web --no-typescript --out-name soundlake --out-dir "$pkg" \
    "$CARGO_TARGET_DIR/wasm32-unknown-unknown/$wasm_dir/frontend.wasm"
  if [ "$profile" = release ]; then
    frontend/node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
      --enable-reference-types --enable-multivalue --enable-sign-ext \
      -o "$pkg/soundlake_bg.opt.wasm" "$pkg/soundlake_bg.wasm"
    mv "$pkg/soundlake_bg.opt.wasm" "$pkg/soundlake_bg.wasm"
  fi
  cp style/main.css "$pkg/soundlake.css"
  # ECharts, which draws the dashboards' charts, from the npm registry (frontend/package.json).
  cp frontend/node_modules/echarts/dist/echarts.min.js "$pkg/echarts.min.js"
  node -e '
    const fs = require("fs"), zlib = require("zlib"), path = require("path");
    const dir = process.argv[1], kb = (n) => (n / 1024).toFixed(0) + " KB";
    for (const name of fs.readdirSync(dir)) {
      const file = path.join(dir, name);
      if (!fs.statSync(file).isFile()) continue;
      const raw = fs.readFileSync(file);
      const br = zlib.brotliCompressSync(raw, { params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: raw.length } });
      const gz = zlib.gzipSync(raw, { level: 9 });
      fs.writeFileSync(file + ".br", br);
      fs.writeFileSync(file + ".gz", gz);
      console.log(`  ${name}: ${kb(raw.length)} raw, ${kb(gz.length)} gzip, ${kb(br.length)} brotli`);
    }' "$pkg"
}

# Cargo for the workspace's crates, linted as they compile: clippy-driver wraps rustc for the
# workspace's own crates only (the dependencies compile with plain rustc), so clippy's lints
# come with the build instead of from a second, check-only compile of every dependency. `run`
# and `test` use the same wrapper and so share one build.
workspace_cargo() {
  local driver
  driver="$(command -v clippy-driver)" ||
    { echo "clippy-driver is missing: rustup component add clippy" >&2; return 1; }
  RUSTC_WORKSPACE_WRAPPER="$driver" cargo "$@"
}

# Builds with `workspace_cargo ARGS...`; with LINTS=deny, fails when the crates it compiled
# (or compiled earlier, as cargo replays their warnings) have a rustc or clippy warning.
linted_build() {
  local log status=0
  log=$(mktemp)
  workspace_cargo "$@" 2>&1 | tee "$log" || status=$?
  # Colours stripped, in case cargo was told to colour its output even into a pipe.
  if [ "$status" = 0 ] && [ "${LINTS:-warn}" = deny ] &&
    sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -Eq '^warning: .+ generated [0-9]+ warnings?'; then
    echo "the warnings above fail the tests (rustc's and clippy's lints are denied)" >&2
    status=1
  fi
  rm -f "$log"
  return "$status"
}

# The `soundlake` binary alone. Its dependencies are the tests' (the test-only crates add
# no features to them), so `run` and `test` share one build of the dependency graph.
build_server() {
  say "building the server, linted as it compiles"
  linted_build build -p server --bin soundlake
}

# The server and every test binary.
build_tests() {
  say "building the server and the tests, linted as they compile"
  linted_build test --no-run -p lakehouse -p server -p app
}

# Cargo decides that a workspace crate is up to date by comparing its source files' times with
# its last build's, whichever checkout made that build: a working copy whose edits are older
# than a build from another clone sharing $CARGO_TARGET_DIR would keep that clone's build (the
# browser app and the server then disagree on their server functions' addresses). When the
# checkout changes, the workspace's own sources are marked as changed; dependencies stay cached.
claim_target_dir() {
  local mark="$CARGO_TARGET_DIR/.soundlake-checkout" here
  here="$(pwd -P)"
  if [ -f "$mark" ] && [ "$(cat "$mark")" != "$here" ]; then
    find app frontend lakehouse server -type f \( -name '*.rs' -o -name '*.sql' \) -exec touch {} +
  fi
  mkdir -p "$CARGO_TARGET_DIR"
  echo "$here" > "$mark"
}

cmd_run() {
  ensure_toolchain
  claim_target_dir
  [ -n "${DATABASE_URL:-}" ] || ensure_postgres_binaries
  build_site release
  build_server
  export SOUNDLAKE_SITE_ROOT="$SITE_ROOT"
  exec "$BIN" serve "$@"
}

# A PostgreSQL server for the tests: $TEST_DATABASE_URL, the machine's on 127.0.0.1:5432, or
# a private one started here. Tests create (and drop) a database each on it.
start_test_postgres() {
  if [ -n "${TEST_DATABASE_URL:-}" ]; then return; fi
  ensure_postgres_binaries
  local bin; bin="$(postgres_bin)"
  if "$bin/pg_isready" -q -h 127.0.0.1 -p 5432; then
    export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres"
    return
  fi
  say "starting a private PostgreSQL for the tests"
  local dir="/tmp/soundlake-test-postgres-$(id -u)" port=55439 as=()
  is_root && as=(runuser -u postgres --)
  mkdir -p "$dir"; is_root && chown postgres:postgres "$dir"
  [ -f "$dir/data/PG_VERSION" ] || "${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --no-locale -E UTF8 >/dev/null
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1 ||
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
      -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=''" start >/dev/null
  export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

# Python packages the tests drive soundlake with, from PyPI into a virtualenv beside the build
# cache: `deltalake` (delta-rs's Python reader) opens the lake as another engine would;
# `liblistenbrainz` (ListenBrainz's own client) plays the part of a scrobbler;
# `adbc-driver-flightsql` (Apache Arrow's ADBC driver) queries the Flight SQL endpoint as a
# notebook would; `moto`'s server is an S3-compatible object store for the lake; and
# `schemathesis` checks the REST API against its OpenAPI document.
ensure_python_packages() {
  local venv="$HOME/.cache/soundlake/venv"
  if ! "$venv/bin/python" -c 'import deltalake, pyarrow, liblistenbrainz, adbc_driver_flightsql.dbapi, moto.server, schemathesis' 2>/dev/null; then
    say "installing Python deltalake, liblistenbrainz, the ADBC Flight SQL driver, moto and schemathesis from PyPI (for the interoperability tests)"
    command -v python3 >/dev/null || apt_install python3
    rm -rf "$venv"
    python3 -m venv "$venv" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$venv"; }
    "$venv/bin/pip" install -q "deltalake==$PY_DELTALAKE_VERSION" "pyarrow==$PY_ARROW_VERSION" \
      "liblistenbrainz==$PY_LIBLISTENBRAINZ_VERSION" \
      "adbc-driver-flightsql==$PY_ADBC_FLIGHTSQL_VERSION" "moto[server]==$PY_MOTO_VERSION" \
      "schemathesis==$PY_SCHEMATHESIS_VERSION"
  fi
  export SOUNDLAKE_PYTHON="$venv/bin/python"
}

ensure_browser() {
  if [ -z "${CHROMIUM_PATH:-}" ] && ! command -v chromium >/dev/null; then
    say "installing Chromium (Debian package)"
    apt_install chromium
  fi
  command -v npm >/dev/null || apt_install nodejs npm
  (cd end2end && npm ci --no-audit --no-fund --silent)
}

# Serves a fresh demo for the browser tests, runs them, and stops the server.
run_browser_tests() {
  local port data db url log
  port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  data=$(mktemp -d /tmp/soundlake-e2e.XXXXXX)
  db="soundlake_e2e_$$"
  url="${TEST_DATABASE_URL%/*}/$db"
  log="$data/server.log"
  local token
  token=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  SOUNDLAKE_ADMIN_TOKEN="$token" \
  SOUNDLAKE_DATA_DIR="$data" DATABASE_URL="$url" SOUNDLAKE_ADDR="127.0.0.1:$port" \
    SOUNDLAKE_SITE_ROOT="$SITE_ROOT" SOUNDLAKE_DEMO_TRACKS=3000 "$BIN" serve >"$log" 2>&1 &
  local pid=$!
  local ok=""
  for _ in $(seq 1 120); do
    if node -e 'fetch(process.argv[1]).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))' \
      "http://127.0.0.1:$port/api/v1/health"; then ok=1; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if [ -z "$ok" ]; then
    echo "the server did not become healthy; its log:" >&2; cat "$log" >&2
    kill "$pid" 2>/dev/null || true
    return 1
  fi
  local status=0
  (cd end2end && SOUNDLAKE_E2E_URL="http://127.0.0.1:$port" SOUNDLAKE_E2E_ADMIN_TOKEN="$token" \
    SOUNDLAKE_E2E_ACCOUNTS="$data/demo-accounts" SOUNDLAKE_E2E_DATABASE_URL="$url" \
    SOUNDLAKE_E2E_PSQL="$(postgres_bin)/psql" npm test) || status=$?
  kill "$pid"; wait "$pid" || true
  "$(postgres_bin)/psql" -q "$TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  [ "$status" = 0 ] && rm -rf "$data" || { echo "server log: $log" >&2; }
  return "$status"
}

# The tests' tools (wasm-bindgen, Python packages, Chromium, the browser tests' npm packages)
# install in the background while the build runs: the packages wait on the network, and
# wasm-bindgen's compile (in a target directory of its own, so neither build waits on the
# other's lock) takes the cores the build leaves idle while its largest crates compile one at a
# time. npm comes first, in the foreground, as the build of the browser app needs it too and two
# package installs at once would wait on each other's lock.
start_test_tools() {
  command -v npm >/dev/null || apt_install nodejs npm
  TOOLS_LOG=$(mktemp)
  say "installing the tests' tools in the background (shown when the build is done)"
  # In a process group of its own, so that a failed build stops the installers it started.
  set -m
  (
    ensure_wasm_bindgen &
    bindgen=$!
    ensure_python_packages
    ensure_browser
    wait "$bindgen"
  ) >"$TOOLS_LOG" 2>&1 &
  TOOLS_PID=$!
  set +m
  trap 'kill -- -"$TOOLS_PID" 2>/dev/null || true; rm -f "$TOOLS_LOG"' EXIT
}

finish_test_tools() {
  local status=0
  wait "$TOOLS_PID" || status=$?
  trap - EXIT
  cat "$TOOLS_LOG"
  rm -f "$TOOLS_LOG"
  [ "$status" = 0 ] || { echo "installing the tests' tools failed (above)" >&2; return "$status"; }
  ensure_python_packages   # installed now: this only points the tests at them
}

cmd_test() {
  ensure_toolchain later
  claim_target_dir
  say "formatting"
  cargo fmt --all --check
  start_test_postgres
  start_test_tools
  export LINTS=deny
  build_tests
  finish_test_tools
  build_site
  say "unit and integration tests (PostgreSQL at ${TEST_DATABASE_URL%%@*}@…)"
  local skip=()
  if [ ! -d ../shared/data/raw ] && [ "${CI:-}" != true ]; then
    echo "skipped: lakehouse's real_data tests (the Spotify catalogue through every layer, HetRec, the demo's genre profiles), because ../shared/data/raw is not beside this checkout"
    skip+=(--skip real_data::)
  fi
  if is_root && ! command -v ip >/dev/null; then apt_install iproute2; fi
  if ! is_root && [ "${CI:-}" != true ]; then
    echo "skipped: server's cluster::a_cluster_on_hosts_of_their_own, because making its hosts (network namespaces) needs root"
    skip+=(--skip cluster::a_cluster_on_hosts_of_their_own)
  fi
  if [ ${#skip[@]} -gt 0 ]; then skip=(-- "${skip[@]}"); fi
  workspace_cargo test -p lakehouse -p server -p app "${skip[@]}"
  say "browser tests (Chromium)"
  run_browser_tests
  say "all tests passed"
}

# Writes `.sqlx` again: the description of every query checked at compile time, taken from a
# scratch database migrated to the current schema. Run it after changing such a query or the
# schema, and commit the result (a server test compares every description with the migrated
# schema, so a stale one fails the tests).
cmd_queries() {
  ensure_toolchain
  start_test_postgres
  local bin db url
  bin="$(postgres_bin)"
  db="soundlake_queries_$$"
  url="${TEST_DATABASE_URL%/*}/$db"
  "$bin/psql" -q "$TEST_DATABASE_URL" -c "CREATE DATABASE $db" >/dev/null
  for migration in migrations/*.sql; do
    "$bin/psql" -q -v ON_ERROR_STOP=1 "$url" -f "$migration" >/dev/null
  done
  rm -rf .sqlx && mkdir .sqlx
  # The macros run again only where the source changed. The build is the tests' own (the same
  # wrapper and targets), so it reuses their compiled dependencies.
  grep -rl --include='*.rs' 'sqlx::query[a-z_]*!' app lakehouse server | xargs touch
  local status=0
  SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$(pwd)/.sqlx" DATABASE_URL="$url" \
    workspace_cargo test --no-run -p lakehouse -p server -p app || status=$?
  "$bin/psql" -q "$TEST_DATABASE_URL" -c "DROP DATABASE $db WITH (FORCE)" >/dev/null
  [ "$status" = 0 ] && echo "wrote $(ls .sqlx | wc -l) query descriptions to .sqlx"
  return "$status"
}

case "${1:-}" in
  run) shift; cmd_run "$@" ;;
  test) shift; cmd_test "$@" ;;
  queries) shift; cmd_queries "$@" ;;
  *) echo "usage: ./dev.sh run | ./dev.sh test | ./dev.sh queries" >&2; exit 2 ;;
esac
