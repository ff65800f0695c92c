/// The node-side installer, run once by cloud-init's `runcmd`. It takes no values from user-data text: the
/// artifact's URL and SHA-256 come from `/etc/kadende/artifact.env`, written as a file whose values Kadende has
/// checked to be shell-safe. The binary runs only if its SHA-256 matches.
enum InstallScript {
    static let path = "/usr/local/lib/kadende/install-agent"

    static let text = #"""
        #!/bin/sh
        # Installs kadende-agent on this node: fetch, verify, install, start. Safe to run again.
        set -eu
        began=$(date +%s.%N)
        since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }
        . /etc/kadende/artifact.env
        # The coordinator's own listener is checked against its CA; a URL the group names, against the system's CAs.
        set -- --fail --silent --show-error --location --max-time 120
        [ -z "${KADENDE_AGENT_CA:-}" ] || set -- "$@" --cacert "$KADENDE_AGENT_CA"
        tmp=$(mktemp /usr/local/bin/.kadende-agent.XXXXXX)
        trap 'rm -f "$tmp"' EXIT
        attempt=0
        until curl "$@" --output "$tmp" "$KADENDE_AGENT_URL"; do
          attempt=$((attempt + 1))
          [ "$attempt" -lt 10 ] || { echo "kadende: cannot fetch $KADENDE_AGENT_URL" >&2; exit 1; }
          sleep "$attempt"
        done
        echo "kadende: fetched $(wc -c < "$tmp") bytes from $KADENDE_AGENT_URL in $(since "$began") s"
        # Whatever the transport said, only the hash carried in user-data decides whether the binary runs.
        echo "$KADENDE_AGENT_SHA256  $tmp" | sha256sum --check --status || {
          echo "kadende: $KADENDE_AGENT_URL does not have SHA-256 $KADENDE_AGENT_SHA256; refusing to run it" >&2; exit 1; }
        chmod 0755 "$tmp"
        mv -f "$tmp" /usr/local/bin/kadende-agent
        trap - EXIT
        # A unit systemd has not loaded yet is read from disk when first named: reload (slow, every generator runs
        # again) only when an earlier run left a stale copy loaded.
        systemctl enable --no-reload kadende-agent.service
        [ "$(systemctl show -p NeedDaemonReload --value kadende-agent.service)" != yes ] || systemctl daemon-reload
        systemctl restart kadende-agent.service
        echo "kadende: agent verified, installed and started $(since "$began") s after the installer began"
        """#
}
