# Shared by scripts/run, scripts/test, scripts/demo and scripts/bench (sourced, not run).
# Installs the Debian packages the build needs (only those missing) and builds with ccache.
# clang-format and python3 run the source checks (scripts/check-format, scripts/check-levels);
# python3-aiosmtpd is the SMTP server the mail tests start, openssl makes their certificates;
# wrk is the load generator of scripts/bench-limits; systemd-analyze (systemd) checks the unit;
# libjs-chart.js is Chart.js, embedded in the binary for the web console at build time
# (node/console/README.md).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${RELAY_BUILD_DIR:-$ROOT/build}"
# Paths relative to the checkout, so a fresh clone elsewhere (CI) reuses the compiler cache.
export CCACHE_BASEDIR="$ROOT"
# -g would otherwise hash the build directory into every entry.
export CCACHE_NOHASHDIR=true
PACKAGES=(g++ cmake make pkg-config ccache libboost1.81-dev libsodium-dev liblmdb-dev
  libjemalloc-dev nlohmann-json3-dev doctest-dev libssl-dev libcli11-dev libspdlog-dev libicu-dev
  clang-format python3 dpkg-dev python3-aiosmtpd openssl nodejs chromium fonts-noto-cjk wrk
  systemd libjs-chart.js)

# For the benchmarks: wrk on core 0 and the servers on the other cores, when there are two or
# more (and taskset). Sets WRK and SERVER (command prefixes, SERVER empty when not pinned) and
# SERVER_CORES ("all" when not pinned).
bench_cores() {
  WRK=(wrk)
  SERVER=()
  SERVER_CORES="all"
  if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    SERVER_CORES="1-$(($(nproc) - 1))"
    WRK=(taskset -c 0 wrk)
    SERVER=(taskset -c "$SERVER_CORES")
  fi
}

# CPU time (user + system, clock ticks) a process has used so far. Per request it is a figure
# this noisy machine's steal and neighbours disturb far less than requests per second.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Context switches (voluntary and not) of the threads process $1 has now: a thread that ended
# takes its own with it. On this machine's VM one costs about 5 us (a futex round trip between
# two threads on one core: 10.5 us for two), so they are a share of a server's CPU time.
context_switches() {
  cat /proc/"$1"/task/*/status 2>/dev/null |
    awk '/^(non)?voluntary_ctxt_switches:/ {n += $2} END {print n + 0}'
}

# A benchmark node's mail spool directory (printed): on /dev/shm (tmpfs) when there is one,
# else under the work directory $1. On this machine's ext4, creating a file soon after many
# were deleted (every earlier run's spool) scans the inode table (the kernel's
# recently_deleted): 40% of the node's CPU time in scripts/bench-intake (perf), while a
# production node hands its mail to an SMTP server. The caller removes it.
bench_spool_dir() {
  if [ -d /dev/shm ] && [ "$(stat -f -c %T /dev/shm)" = tmpfs ]; then
    mktemp -d /dev/shm/relay-bench-spool.XXXXXX
  else
    mkdir -p "$1/spool" && echo "$1/spool"
  fi
}

install_packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

# The browser test's driver: puppeteer-core from the npm registry, into the gitignored
# tests/browser/node_modules (versions pinned by package-lock.json); npm from Debian if missing.
install_browser_test() {
  if ! command -v npm >/dev/null; then
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends npm
  fi
  if [ ! -d "$ROOT/tests/browser/node_modules/puppeteer-core" ]; then
    (cd "$ROOT/tests/browser" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

build() {
  local launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="${RELAY_BUILD_TYPE:-RelWithDebInfo}" \
    "${launcher[@]}" "$@" >/dev/null
  cmake --build "$BUILD_DIR" -j"${RELAY_JOBS:-2}"
}
