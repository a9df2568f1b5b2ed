#!/usr/bin/env bash
# Installs what the test suite talks to for real, when missing: the mosquitto MQTT broker
# (se2state --mqtt), tshark (decoding replayed traffic), headless Chromium (the dashboard),
# tcpdump (the reference for capture filters).
# Debian packages through apt-get as root; on a machine without apt-get or root it says so and
# the tests that need a missing part skip with a message naming it. Idempotent and quiet when
# everything is there.
set -uo pipefail
want=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || want+=(mosquitto)
command -v tshark >/dev/null 2>&1 || want+=(tshark)
command -v chromium >/dev/null 2>&1 || want+=(chromium)
command -v jq >/dev/null 2>&1 || want+=(jq)
command -v tcpdump >/dev/null 2>&1 || want+=(tcpdump)
[ ${#want[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
    echo "test-deps: WARNING: cannot install ${want[*]} (needs apt-get as root); the tests using them will skip" >&2
    exit 0
fi
echo "test-deps: installing ${want[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${want[@]}"; } >/tmp/sekit-test-deps.log 2>&1; then
    echo "test-deps: WARNING: installing ${want[*]} failed (see /tmp/sekit-test-deps.log); the tests using them will skip" >&2
fi
exit 0
