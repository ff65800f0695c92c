/// A systemd unit as typed sections, rendered to the INI form systemd reads.
struct SystemdUnit {
    var sections: [(name: String, entries: [(String, String)])]

    func render() -> String {
        sections.map { section in
            "[\(section.name)]\n" + section.entries.map { "\($0.0)=\($0.1)\n" }.joined()
        }.joined(separator: "\n")
    }

    /// `kadende-agent.service`: restarted whatever happens. Started by the installer from cloud-init's final stage
    /// and on every boot after; it is deliberately not ordered after `cloud-final.service`, since a unit wanted by
    /// multi-user.target and ordered after cloud-final forms an ordering cycle that systemd breaks by dropping a job.
    ///
    /// The agent's job is the machine's configuration: pushes write `/etc` and `/usr/local`, pushed commands install
    /// packages (which write `/usr`, `/var/lib/dpkg`, set setuid bits, load modules, set sysctls, write `/root`), and
    /// every command it runs inherits its sandbox. So the sandboxing that would stop that job is left out
    /// (`ProtectSystem`, `ProtectHome`, `PrivateTmp`, `ProtectKernelTunables`, `ProtectKernelModules`,
    /// `ProtectControlGroups`, `RestrictSUIDSGID`, a restrictive `UMask`; `NoNewPrivileges` protects a service that
    /// runs unprivileged, and the agent is root). What the job allows is kept: native system calls only, no
    /// personality changes, no realtime scheduling, a private keyring, its state directory private, and a low OOM
    /// score so memory pressure takes the workload before the agent that reports it.
    static let agent = SystemdUnit(sections: [
        ("Unit", [
            ("Description", "Kadende agent"),
            ("Documentation", "https://kadende.dev/docs/agent"),
            ("Wants", "network-online.target"),
            ("After", "network-online.target"),
            ("StartLimitIntervalSec", "0"),
        ]),
        ("Service", [
            ("Type", "simple"),
            ("ExecStart", "/usr/local/bin/kadende-agent --config /etc/kadende/agent.yaml"),
            ("Restart", "always"),
            ("RestartSec", "2"),
            ("SystemCallArchitectures", "native"),
            ("LockPersonality", "yes"),
            ("RestrictRealtime", "yes"),
            ("KeyringMode", "private"),
            ("OOMScoreAdjust", "-500"),
            ("StateDirectory", "kadende-agent"),
            ("StateDirectoryMode", "0700"),
        ]),
        ("Install", [("WantedBy", "multi-user.target")]),
    ])
}
