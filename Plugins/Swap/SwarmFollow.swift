import Foundation
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts

/// Follows Swarm while it rolls the app's service: prints each task's changes as they happen, and ends
/// when every task of the release runs (done), when Swarm rolled the update back (exit 4, with the
/// failing task's error and its last log lines), or when the update paused or ran out of time (the
/// service is then asked to roll back, and followed until it has).
struct SwarmFollow {
    let engine: DockerEngine
    let service: String
    let release: String
    let replicas: Int
    let context: CommandContext
    let hosts: [DeployTarget]

    var out: Output { context.progress }

    /// The node addresses by node ID, to name each task's host.
    func nodeNames() -> [String: String] {
        let nodes = (try? engine.nodes()) ?? []
        return Dictionary(
            nodes.map { ($0["ID"]?.string ?? "", $0["Status"]?["Addr"]?.string ?? $0["Description"]?["Hostname"]?.string ?? "?") },
            uniquingKeysWith: { a, _ in a })
    }

    /// How long Swarm may take to settle after an update or rollback it called complete: a few health
    /// checks of the app.
    var settleSeconds: Double { Double(hosts[0].health.attempts) * hosts[0].health.interval.seconds + 10 }

    func releaseOf(_ task: JSONValue) -> String? { task["Spec"]?["ContainerSpec"]?["Labels"]?["tmeops.release"]?.string }

    /// `created`: the service is new (Swarm has no update to report; its tasks are watched). Otherwise an
    /// `UpdateStatus` counts only once it is not the one the service had before (`startedBefore`).
    func run(created: Bool, startedBefore: String?, budget: Double) throws {
        var deadline = Date().addingTimeInterval(budget)
        var extended = false
        let names = nodeNames()
        var seen: [String: String] = [:]
        var failures = 0
        var completed: Date?
        var failuresBefore = 0
        while true {
            let tasks = try engine.tasks(filters: ["service": [service]])
            for task in tasks {
                guard let id = task["ID"]?.string else { continue }
                let state = task["Status"]?["State"]?.string ?? "?"
                let desired = task["DesiredState"]?.string ?? "?"
                let key = "\(state)/\(desired)"
                guard seen[id] != key else { continue }
                let first = seen[id] == nil
                seen[id] = key
                // Tasks that were already over before this deploy began are not news.
                if first && desired == "shutdown" && ["shutdown", "failed", "rejected", "complete"].contains(state) && releaseOf(task) != release { continue }
                if releaseOf(task) == release && ["failed", "rejected"].contains(state) { failures += 1 }
                // The scheduler's own steps (new, pending, assigned, preparing, ready) are not shown.
                guard ["starting", "running", "failed", "rejected", "shutdown", "complete"].contains(state) else { continue }
                let node = task["NodeID"]?.string.flatMap { names[$0] } ?? "?"
                let err = task["Status"]?["Err"]?.string.map { ": \($0)" } ?? ""
                out.line(
                    "      task \(task["Slot"]?.number.map { "#\(Int($0)) " } ?? "")on \(node): \(releaseOf(task) ?? "?") \(state)\(desired == "running" ? "" : " (to \(desired))")\(err)"
                )
            }
            let current = tasks.filter { releaseOf($0) == release && $0["DesiredState"]?.string == "running" && $0["Status"]?["State"]?.string == "running" }
            let others = tasks.filter { releaseOf($0) != release && $0["DesiredState"]?.string == "running" }
            let status = try engine.service(service)?["UpdateStatus"]
            let fresh = status != nil && status?["StartedAt"]?.string != startedBefore
            let state = fresh ? status?["State"]?.string : nil
            switch state {
            case "rollback_completed":
                throw failed(
                    "Swarm rolled the update back by itself (\(status?["Message"]?.string ?? "update failed"))\(settled() ? "" : Self.unsettled)", tasks: tasks,
                    rolledBack: true)
            case "paused", "rollback_paused":
                let message = status?["Message"]?.string ?? state ?? "paused"
                if state == "paused" {
                    let back = try rollBack(budget: budget)
                    throw failed("Swarm paused the update (\(message)); \(back)", tasks: tasks, rolledBack: back.hasPrefix("Swarm rolled"))
                }
                throw failed("Swarm paused the rollback (\(message))", tasks: tasks, rolledBack: false)
            default: break
            }
            if current.count >= replicas && others.isEmpty && (created || state == "completed") { return }
            if state == "completed" {
                // Swarm finished watching, yet tasks of the release still fail or do not all run: a
                // release that dies after Swarm's monitor period. tmeops does not call that deployed.
                if completed == nil { (completed, failuresBefore) = (Date(), failures) }
                if failures > failuresBefore || Date().timeIntervalSince(completed ?? Date()) > settleSeconds {
                    let back = try rollBack(budget: budget)
                    throw failed(
                        "Swarm finished the update, but tasks of \(release) \(failures > failuresBefore ? "kept failing after it" : "did not all run within \(Int(settleSeconds)) s of it") (swarm.update.monitor may be shorter than the time the app needs to show a fault); \(back)",
                        tasks: tasks, rolledBack: back.hasPrefix("Swarm rolled"))
                }
            }
            if created && failures >= 2 * replicas {
                try? engine.removeService(service)
                throw failed("the new service's tasks keep failing (\(failures) failed); the service was removed", tasks: tasks, rolledBack: true)
            }
            if Date() > deadline && state == "rollback_started" && !extended {
                // Swarm is rolling back by itself (and has dropped the previous spec doing so): wait for it.
                deadline = Date().addingTimeInterval(budget)
                extended = true
            }
            if Date() > deadline {
                if created {
                    try? engine.removeService(service)
                    throw failed("the new service was not healthy after \(Int(budget)) s; it was removed", tasks: tasks, rolledBack: true)
                }
                let back = try rollBack(budget: budget)
                throw failed("the update did not finish in \(Int(budget)) s; \(back)", tasks: tasks, rolledBack: back.hasPrefix("Swarm rolled"))
            }
            Thread.sleep(forTimeInterval: 0.5)
        }
    }

    /// Asks Swarm to return the service to its previous spec and waits until it has; says what happened.
    func rollBack(budget: Double) throws -> String {
        guard let current = try engine.service(service), let id = current["ID"]?.string, let previous = current["PreviousSpec"] else {
            return "the service has no previous spec to return to: run `tmeops recover -e \(hosts[0].environment.name)`"
        }
        let before = current["UpdateStatus"]?["StartedAt"]?.string
        let target = previous["Labels"]?["tmeops.release"]?.string
        out.line("      asking Swarm to roll \(service) back to \(target ?? "its previous spec")")
        try engine.updateService(id, version: Int(current["Version"]?["Index"]?.number ?? 0), spec: current["Spec"] ?? previous, rollback: true)
        let deadline = Date().addingTimeInterval(budget)
        while Date() < deadline {
            let now = try engine.service(service)
            let status = now?["UpdateStatus"]
            if status?["StartedAt"]?.string != before, let state = status?["State"]?.string {
                let back = now?["Spec"]?["Labels"]?["tmeops.release"]?.string == target
                if state == "rollback_completed" || (state == "completed" && back) {
                    return "Swarm rolled the service back to the previous release" + (settled() ? "" : Self.unsettled)
                }
                if state == "rollback_paused" {
                    return "the rollback paused (\(status?["Message"]?.string ?? "?")): see `docker service ps \(service)` on the manager"
                }
            }
            Thread.sleep(forTimeInterval: 0.5)
        }
        return "the rollback did not finish in \(Int(budget)) s: see `docker service ps \(service)` on the manager"
    }

    static let unsettled = " (some of its tasks are still being replaced: see `tmeops cluster status`)"

    /// After Swarm reports a rollback complete, a task of the failed release that its restart policy
    /// started meanwhile may still run beside the previous release's: waits (a few health checks long)
    /// until exactly `replicas` tasks run, none of them the failed release, so that what tmeops reports
    /// is what runs. False if Swarm has not settled by then.
    func settled() -> Bool {
        let deadline = Date().addingTimeInterval(settleSeconds)
        while true {
            let running = ((try? engine.tasks(filters: ["service": [service], "desired-state": ["running"]])) ?? []).filter {
                $0["Status"]?["State"]?.string == "running"
            }
            if running.count == replicas && !running.contains(where: { releaseOf($0) == release }) { return true }
            if Date() > deadline { return false }
            Thread.sleep(forTimeInterval: 0.5)
        }
    }

    /// The error for a failed rollout: the failing task's error and its last log lines as evidence.
    func failed(_ message: String, tasks: [JSONValue], rolledBack: Bool) -> DeployError {
        let failing =
            tasks.filter { releaseOf($0) == release && $0["Status"]?["Err"]?.string != nil }
            .max { ($0["UpdatedAt"]?.string ?? "") < ($1["UpdatedAt"]?.string ?? "") }
        let detail = failing.map { "; a task of \(release) failed: \($0["Status"]?["Err"]?.string ?? "?")" } ?? ""
        return DeployError(
            message: message + detail + (rolledBack ? "; the previous release serves" : ""), production: .afterPutBack(healthy: rolledBack),
            evidence: Self.evidence(of: failing, engine: engine, context: context))
    }

    /// A task's last 20 log lines, secrets masked: the evidence a failed rollout or test instance keeps.
    static func evidence(of task: JSONValue?, engine: DockerEngine, context: CommandContext) -> [String] {
        guard let id = task?["ID"]?.string else { return [] }
        var lines: [String] = []
        try? engine.taskLogs(id, tail: 20) { _, data in
            lines += String(decoding: data, as: UTF8.self).split(separator: "\n").map { context.redactor.redact(String($0)) }
        }
        return Array(lines.suffix(20))
    }
}
