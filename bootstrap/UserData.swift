import KadendeModel
import KadendeWire
import Yams
import Foundation

/// Builds a node's cloud-init user-data: Kadende's `#cloud-config` (the group's packages, files and commands, then
/// the agent's config, unit and installer) and, when the group brings its own cloud-config or script, a
/// multipart MIME document holding both.
public enum UserData {
    /// EC2's limit, and so the limit everywhere: a node's user-data must fit any cloud.
    public static let maxSize = 16 * 1024
    public static let agentConfigPath = "/etc/kadende/agent.yaml"
    static let artifactEnvPath = "/etc/kadende/artifact.env"
    static let caPath = "/etc/kadende/ca.pem"
    static let unitPath = "/etc/systemd/system/kadende-agent.service"
    /// Paths the group's own files may not touch: they are Kadende's.
    static let reservedPrefixes = ["/etc/kadende/", InstallScript.path, unitPath, "/usr/local/bin/kadende-agent"]

    /// `artifact` is the coordinator's offer, nil when it serves none; a source the group names wins over it.
    public static func make(bootstrap: GroupSpec.Bootstrap, agent: AgentConfig, artifact: AgentArtifact?) throws(UserDataError) -> String {
        try validate(bootstrap)
        guard let artifact = bootstrap.agent.map({ AgentArtifact(url: $0.url, sha256: $0.sha256) }) ?? artifact else {
            throw UserDataError(.noArtifact, path: "bootstrap.agent",
                                "no kadende-agent to install: start the coordinator with --agent-artifacts DIR "
                                + "(scripts/package-agent writes .build/dist) or name one in bootstrap.agent")
        }
        guard artifact.isValid else {
            throw UserDataError(.invalidArtifact, path: "agent", "artifact needs an http(s) URL without quotes or spaces and a lowercase SHA-256")
        }
        var agentConfig = agent
        agentConfig.dataDir = nil  // the unit's StateDirectory, /var/lib/kadende-agent, is the default
        let config = CloudConfig(
            packageUpdate: bootstrap.packages.isEmpty ? nil : true,
            packages: bootstrap.packages.isEmpty ? nil : bootstrap.packages,
            writeFiles: bootstrap.files.map {
                CloudConfig.WriteFile(path: $0.path, content: $0.content, permissions: $0.mode, owner: $0.owner ?? "root:root")
            } + [
                .init(path: agentConfigPath, content: try yaml(agentConfig), permissions: "0600", owner: "root:root"),
                .init(path: artifactEnvPath, content: "KADENDE_AGENT_URL=\(artifact.url)\nKADENDE_AGENT_SHA256=\(artifact.sha256)\n"
                        + (artifact.caCertificatePEM == nil ? "" : "KADENDE_AGENT_CA=\(caPath)\n"),
                      permissions: "0600", owner: "root:root"),
            ] + (artifact.caCertificatePEM.map { [.init(path: caPath, content: $0, permissions: "0644", owner: "root:root")] } ?? []) + [
                .init(path: unitPath, content: SystemdUnit.agent.render(), permissions: "0644", owner: "root:root"),
                .init(path: InstallScript.path, content: InstallScript.text + "\n", permissions: "0700", owner: "root:root"),
            ],
            // The group's commands first: the agent starts on a node that is as the user wanted it.
            runcmd: bootstrap.commands.map { ["sh", "-c", $0] } + [[InstallScript.path]]
        )
        let kadendePart = "#cloud-config\n" + (try yaml(config))
        let document: String
        if let own = bootstrap.userData {
            document = MultipartMIME.make(parts: [
                .init(contentType: "text/cloud-config", filename: "kadende.cfg", body: kadendePart),
                .init(contentType: own.hasPrefix("#!") ? "text/x-shellscript" : "text/cloud-config", filename: "user", body: own),
            ])
        } else {
            document = kadendePart
        }
        guard document.utf8.count <= maxSize else {
            throw UserDataError(.tooLarge, "user-data is \(document.utf8.count) bytes; clouds accept at most \(maxSize)")
        }
        return document
    }

    /// Strict checks cloud-init's own schema check lets through, made before any machine is created.
    public static func validate(_ bootstrap: GroupSpec.Bootstrap) throws(UserDataError) {
        for (i, package) in bootstrap.packages.enumerated() {
            let valid = package.first.map { $0.isLetter || $0.isNumber } == true
                && package.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || "+-.:=~".contains($0)) }
            guard valid else { throw UserDataError(.invalidBootstrap, path: "bootstrap.packages[\(i)]", "\"\(package)\" is not a package name") }
        }
        for (i, file) in bootstrap.files.enumerated() {
            if reservedPrefixes.contains(where: { file.path.hasPrefix($0) || file.path == $0 }) {
                throw UserDataError(.invalidBootstrap, path: "bootstrap.files[\(i)].path", "\(file.path) belongs to Kadende's agent")
            }
            if let owner = file.owner, !owner.allSatisfy({ $0.isLetter || $0.isNumber || "_-:.".contains($0) }) {
                throw UserDataError(.invalidBootstrap, path: "bootstrap.files[\(i)].owner", "\"\(owner)\" is not user[:group]")
            }
        }
        for (i, command) in bootstrap.commands.enumerated() where command.trimmingCharacters(in: .whitespaces).isEmpty {
            throw UserDataError(.invalidBootstrap, path: "bootstrap.commands[\(i)]", "empty command")
        }
        if let agent = bootstrap.agent {
            guard AgentArtifact(url: agent.url, sha256: agent.sha256).isValid else {
                throw UserDataError(.invalidBootstrap, path: "bootstrap.agent",
                                    "needs an http(s) url without quotes, spaces or shell characters and a lowercase hex sha256 of 64 digits")
            }
        }
        if let own = bootstrap.userData {
            if own.hasPrefix("#cloud-config") {
                guard case .mapping? = try? Yams.compose(yaml: own) else {
                    throw UserDataError(.invalidBootstrap, path: "bootstrap.userData", "cloud-config does not parse as a YAML mapping")
                }
            } else if !own.hasPrefix("#!") {
                throw UserDataError(.invalidBootstrap, path: "bootstrap.userData", "must start with #cloud-config or #! (a script)")
            }
        }
    }

    private static func yaml<T: Encodable>(_ value: T) throws(UserDataError) -> String {
        do {
            let encoder = YAMLEncoder()
            encoder.options.sortKeys = true
            return try encoder.encode(value)
        } catch {
            throw UserDataError(.invalidBootstrap, "cannot encode: \(error)")
        }
    }
}

