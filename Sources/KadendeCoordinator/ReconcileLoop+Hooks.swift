import KadendeGateway
import KadendeModel
import KadendeProbes
import KadendeStore
import KadendeSupport
import KadendeWire
import struct Foundation.Date
import struct Foundation.UUID

/// Lifecycle hooks. They run beside the reconcile loop, never inside a pass: a drain can take minutes and must not
/// hold up other groups. A node being terminated stays `terminating` until its `preTerminate` hook has ended
/// (successfully or not: a failed drain is recorded, and the node is terminated anyway, as it was meant to be).
extension ReconcileLoop {
    enum HookState: Sendable { case running, done }

    /// Starts the group's `preTerminate` hook for the node unless it already ran; true when destruction may go on.
    func preTerminateFinished(_ node: NodeRecord, _ context: ActionContext, reason: String) -> Bool {
        guard let hook = context.group.spec.hooks.preTerminate else { return true }
        let key = "preTerminate/\(node.id)"
        let state: HookState? = memory.withLock { m in
            if let state = m.hooks[key] { return state }
            m.hooks[key] = .running
            return nil
        }
        switch state {
        case .done?: return true
        case .running?: return false
        case nil:
            Task { await self.run(hook, name: "preTerminate", key: key, node: node, group: context.group, reason: reason) }
            return false
        }
    }

    /// Starts `postReady` for nodes that turned healthy while this coordinator watched them.
    func startPostReady(_ nodes: [NodeRecord], group: GroupRecord) {
        guard let hook = group.spec.hooks.postReady else { return }
        for node in nodes where node.state == .healthy && node.createdAt >= startedAt {
            let key = "postReady/\(node.id)"
            let fresh = memory.withLock { m in
                guard m.hooks[key] == nil else { return false }
                m.hooks[key] = .running
                return true
            }
            if fresh { Task { await self.run(hook, name: "postReady", key: key, node: node, group: group, reason: "node is healthy") } }
        }
    }

    private func run(_ hook: GroupSpec.Hook, name: String, key: String, node: NodeRecord, group: GroupRecord, reason: String) async {
        let environment = [
            "KADENDE_NODE_ID": node.id, "KADENDE_NODE_ADDRESS": node.address ?? "", "KADENDE_INSTANCE_ID": node.instanceID ?? "",
            "KADENDE_CLUSTER": group.cluster, "KADENDE_GROUP": group.name, "KADENDE_HOOK": name, "KADENDE_REASON": reason,
        ]
        let started = now()
        let summary: String
        switch hook.on {
        case .node:
            do {
                let result = try await gateway.runCommand(nodeID: node.id, RunCommand(
                    id: UUID().uuidString, command: hook.command, shell: hook.shell, timeoutSeconds: min(hook.timeout.value, 3600),
                    environment: environment))
                summary = (result.succeeded ? "succeeded" : result.timedOut ? "timed out" : "failed with exit \(result.exitStatus.map(String.init) ?? "?")")
                    + " on the node" + Self.tail(result.output)
            } catch {
                summary = "could not run on the node: \(error)"
            }
        case .coordinator:
            // Only what the server's configuration lists runs here, by name; a spec stored before hooks were named
            // (an argv of its own) runs nothing on this host.
            if let name = hook.run, let executable = coordinatorHooks[name] {
                do {
                    let outcome = try await CommandRunner.run([executable], environment: environment,
                                                              timeout: min(hook.timeout.value, 3600), outputLimit: 4096)
                    summary = (outcome.succeeded ? "succeeded" : "failed (\(outcome))") + " on the coordinator" + Self.tail(outcome.output)
                } catch {
                    summary = "could not run on the coordinator: \(error)"
                }
            } else {
                summary = "not run: the coordinator's configuration lists no hook \"\(OutsideText.sanitized(hook.run ?? hook.command.first ?? "", limit: 64))\" "
                    + "(kadende server --coordinator-hook NAME=PATH)"
            }
        }
        let seconds = (now().timeIntervalSince(started) * 10).rounded() / 10
        var log = logger
        log[metadataKey: "node.id"] = "\(node.id)"
        log[metadataKey: "group.id"] = "\(group.cluster)/\(group.name)"
        log.info("hook ended", metadata: ["hook": "\(name)", "summary": "\(summary)"])
        do {
            try await store.appendEvent(NodeEvent(at: now(), cluster: group.cluster, group: group.name, nodeID: node.id, kind: .hookRan,
                                                  reason: "\(name) \(summary) after \(seconds)s"))
        } catch {
            log.error("cannot record hook event", metadata: ["error": "\(error)"])
        }
        memory.withLock { $0.hooks[key] = .done }
        wake()
    }

    static func tail(_ output: String) -> String {
        let trimmed = output.split(whereSeparator: \.isNewline).suffix(3).joined(separator: " | ")
        return trimmed.isEmpty ? "" : ": " + OutsideText.sanitized(trimmed, limit: 300)
    }
}
