#!/usr/bin/env bash
# The .deb, as a municipality's server would get it (issue 18 item 6): CPack builds it from the
# build tree; dpkg -x unpacks it into a temporary root; its contents and the unit's sandbox
# settings are checked; then the unit's ExecStart command line runs from that root (paths
# rebased into it, a config pointing at a temporary data directory made by the packaged
# relay-node init) until /healthz answers; SIGTERM stops it cleanly. The reference data must
# come from the package, not from the source tree.
# Usage: deb_test.sh BUILD_DIR
set -euo pipefail
build="$1"
work="$(mktemp -d "${TMPDIR:-/tmp}/relay-deb.XXXXXX")"
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
  [ -n "${RELAY_KEEP_TEST_DATA:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  [ -f "$work/node.log" ] && tail -20 "$work/node.log" >&2
  exit 1
}

(cd "$build" && cpack -G DEB -B "$work/out" >"$work/cpack.log" 2>&1) || {
  cat "$work/cpack.log" >&2
  fail "cpack"
}
deb="$(ls "$work"/out/relaynode_*.deb)"
echo "package: $(basename "$deb") ($(stat -c %s "$deb") bytes)"
info="$(dpkg-deb --info "$deb")"
grep -q "Package: relaynode" <<<"$info" || fail "package name"
grep -q "Depends:.*libsodium" <<<"$info" || fail "shlibdeps: no libsodium dependency"
# A build with RELAY_JEMALLOC (the default) needs the allocator on the server too.
if objdump -p "$build/node/relay-node" | grep -q "NEEDED.*libjemalloc"; then
  grep -q "Depends:.*libjemalloc2" <<<"$info" || fail "shlibdeps: no libjemalloc2 dependency"
fi
control="$(dpkg-deb --ctrl-tarfile "$deb" | tar -t)"
grep -q postinst <<<"$control" || fail "no postinst"

root="$work/root"
dpkg -x "$deb" "$root"
for f in usr/bin/relay-node usr/bin/relay-audit usr/lib/systemd/system/relay-node.service \
  usr/share/relaynode/reference/prefectures.json usr/share/relaynode/node.example.jsonc \
  usr/share/doc/relaynode/operations.md usr/share/doc/relaynode/README.md; do
  [ -e "$root/$f" ] || fail "missing /$f"
done

unit="$root/usr/lib/systemd/system/relay-node.service"
for line in User=relaynode ProtectSystem=strict ReadWritePaths=/var/lib/relaynode \
  NoNewPrivileges=true PrivateTmp=true ProtectHome=true CapabilityBoundingSet= \
  Restart=on-failure 'ExecReload=/bin/kill -HUP $MAINPID'; do
  grep -qxF "$line" "$unit" || fail "unit lacks $line"
done
# systemd's own check of the unit (keys in the wrong section, unknown keys, an ExecStart that
# is not there): a copy whose binary paths point into the unpacked root (--root would need a
# whole system there).
mkdir -p "$work/unit"
sed "s|/usr/bin/relay-node|$root/usr/bin/relay-node|g" "$unit" >"$work/unit/relay-node.service"
verify="$(systemd-analyze verify "$work/unit/relay-node.service" 2>&1)" ||
  fail "systemd-analyze verify: $verify"
[ -z "$verify" ] || fail "systemd-analyze verify warns: $verify"
exec_start="$(sed -n 's/^ExecStart=//p' "$unit")"
[ -n "$exec_start" ] || fail "unit has no ExecStart"

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
data="$work/var/lib/relaynode"
"$root/usr/bin/relay-node" init --data-dir "$data" --name deb.relaynode --region JP-28 \
  --listen "127.0.0.1:$port" >/dev/null || fail "packaged relay-node init"
cmd="${exec_start//\/usr\/bin\/relay-node/$root/usr/bin/relay-node}"
cmd="${cmd//\/var\/lib\/relaynode/$data}"
echo "ExecStart: $exec_start"
echo "run as:    $cmd"
$cmd >"$work/node.log" 2>&1 &
pid=$!

# /healthz within 20 s, while the process lives.
python3 - "$port" "$pid" <<'PY' || fail "/healthz did not answer 200"
import json, os, sys, time, urllib.request
port, pid = sys.argv[1], int(sys.argv[2])
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy
deadline = time.time() + 20
while time.time() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit("relay-node exited")
    try:
        with opener.open(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
            if r.status == 200 and json.load(r).get("node") == "deb.relaynode":
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.1)
sys.exit("no answer")
PY
grep -q "reference data from $root/usr/share/relaynode/reference" "$work/node.log" ||
  fail "reference data not read from the package"
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=""
[ "$status" -eq 0 ] || fail "relay-node serve exited $status after SIGTERM"
echo "ok: packaged relay-node served /healthz from $root"
