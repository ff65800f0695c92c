# Shared by scripts/run, scripts/test and scripts/bench. Sourced, not executed.

# Installs Debian packages that are missing, once. Nothing is installed when everything is present.
ensure_apt() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "==> installing ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

# What building Kadende needs: SQLite headers for GRDB, OpenSSL and curl headers for Foundation's networking,
# binutils for the agent link check.
ensure_build_deps() {
  ensure_apt libsqlite3-dev libssl-dev libcurl4-openssl-dev binutils iproute2
  command -v swift >/dev/null || { echo "swift is not on PATH (Kadende needs Swift 6)"; exit 1; }
}

# Two cores: keep builds from starving the machine.
SWIFT_JOBS="${SWIFT_JOBS:-2}"

# How the agent that ships to nodes is built: release, Swift runtime linked statically, optimised for size, in a
# build folder of its own so that it and the release coordinator (scripts/bench) do not rebuild each other.
# --no-export-dynamic undoes the static stdlib's -export-dynamic: an executable needs no dynamic symbol table of its
# own (26 000 symbols, 3 MB of the agent).
AGENT_BUILD_FLAGS=(-c release --static-swift-stdlib -Xswiftc -Osize -Xlinker --no-export-dynamic -Xlinker --icf=safe --scratch-path .build-agent)

# Python tools of the tests (PyPI), in a virtualenv of Kadende's own so that no system Python is touched:
# moto_server, the EC2 emulator the EC2 provider's tests speak to, and schemathesis, which fuzzes the API against
# its OpenAPI document. Exports their paths.
ensure_moto() {
  local venv="${KADENDE_VENV:-$HOME/.cache/kadende/venv}"
  if [ ! -x "$venv/bin/moto_server" ] || [ ! -x "$venv/bin/schemathesis" ]; then
    echo "==> installing moto[server] and schemathesis into $venv"
    if ! python3 -m venv "$venv" 2>/dev/null; then
      rm -rf "$venv"
      ensure_apt python3-venv
      python3 -m venv "$venv"
    fi
    "$venv/bin/python3" -m pip install -q 'moto[server]>=5.1,<6' 'schemathesis>=4.3,<5'
  fi
  export KADENDE_MOTO_SERVER="$venv/bin/moto_server" KADENDE_REQUIRE_MOTO=1 KADENDE_SCHEMATHESIS="$venv/bin/schemathesis"
}
