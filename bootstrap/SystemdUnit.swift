/// A systemd unit as typed sections, rendered to the INI form systemd reads.
struct SystemdUnit {
    var sections: [(name: String, entries: [(String, String)])]

    func render() -> String {
        sections.map { section in
            "[\(section.name)]\n" + section.entries.map { "\($0.0)=\($0.1)\n" }.joined()
        }.joined(separator: "\n")
    }

    /// `kadende-agent.service`: restarted whatever happens, without privileges it does not need. Started by the
    /// installer from cloud-init's final stage and on every boot after; it is deliberately not ordered after
    /// `cloud-final.service`, since a unit wanted by multi-user.target and ordered after cloud-final forms an
    /// ordering cycle that systemd breaks by dropping a job.
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
            ("NoNewPrivileges", "yes"),
            ("ProtectSystem", "full"),
            ("ProtectHome", "read-only"),
            ("PrivateTmp", "yes"),
            ("ProtectKernelTunables", "yes"),
            ("ProtectKernelModules", "yes"),
            ("ProtectControlGroups", "yes"),
            ("RestrictSUIDSGID", "yes"),
            ("LockPersonality", "yes"),
            ("StateDirectory", "kadende-agent"),
            ("StateDirectoryMode", "0700"),
            ("UMask", "0077"),
        ]),
        ("Install", [("WantedBy", "multi-user.target")]),
    ])
}
