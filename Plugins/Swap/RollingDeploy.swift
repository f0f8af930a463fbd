import Foundation
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts
import ValidatePlugin

/// A release put on several hosts: the hosts swapped in batches of `deploy.batch` (the hosts of a batch
/// at once), each health-gated, `deploy.batch_wait` between batches; a failure on any host puts every
/// host already switched back on the release it ran. The deploy's swap and `rollback` both use it.
final class RollingSwap {
    let hosts: [DeployTarget]
    let context: CommandContext
    /// The hosts that run the new release now (put back, they leave the list).
    private(set) var switched: [String] = []

    init(hosts: [DeployTarget], context: CommandContext) {
        self.hosts = hosts
        self.context = context
    }

    var out: Output { context.progress }
    var deploy: DeployConfig { hosts[0].deploy }
    var batches: [[DeployTarget]] { DeployBatches.plan(hosts, size: deploy.batch) }

    /// Switches every host to `image` as `release`; `journal` writes a line of the host's own journal,
    /// `batch` a line of the lead host's (phase "batch" before a batch, "batch-healthy" after it).
    /// Returns each host's unavailability window; on failure, the error after the put-back.
    func run(
        image: String, release: String, shown: String, journal: @escaping (DeployTarget, String, [String: String]) throws -> Void,
        batch: (String, [String: String]) throws -> Void
    ) throws -> [Double] {
        var windows: [Double] = []
        var portsClosed = false
        for (index, group) in batches.enumerated() {
            if index > 0 {
                settle(portsClosed: portsClosed)
                FaultPoint.hit("swap.batch-\(index + 1)", context)
            }
            let names = group.map(\.host.name)
            try batch("batch", ["hosts": names.joined(separator: ","), "batch": "\(index + 1)"])
            out.line("      batch \(index + 1) of \(batches.count): \(names.joined(separator: ", "))")
            let results = OnEachHost.map(group) { host in
                try host.switchTo(image: image, release: release) { phase, data in try journal(host, phase, data) }
            }
            var failures: [(host: DeployTarget, error: Error)] = []
            for (host, result) in zip(group, results) {
                switch result {
                case .success(let window):
                    windows.append(window)
                    if window > 0 { portsClosed = true }
                    switched.append(host.host.name)
                    out.line(
                        "      \(out.green("✓")) \(host.host.name): \(host.app.container) runs \(shown); unavailable there for \(String(format: "%.2f", window)) s"
                    )
                case .failure(let error):
                    out.line("      \(out.red("✗")) \(host.host.name): \(error)")
                    failures.append((host, error))
                }
            }
            if !failures.isEmpty {
                // Every host that failed must have put its own old container back for the deploy to count
                // as rolled back; each is named with its reason.
                let reasons = failures.map { "the swap on \($0.host.host.name) failed: \(($0.error as? DeployError)?.message ?? "\($0.error)")" }
                throw putBack(
                    because: reasons.joined(separator: "; "),
                    failedHostRestored: failures.allSatisfy { ($0.error as? DeployError)?.production == .putBack },
                    evidence: failures.flatMap { ($0.error as? DeployError)?.evidence ?? [] })
            }
            try batch("batch-healthy", ["hosts": names.joined(separator: ",")])
            portsClosed = results.contains { (try? $0.get()).map { $0 > 0 } ?? true }
        }
        return windows
    }

    /// Lets the load balancer take the last batch's servers back before the next batch (`BalancerSettle`).
    func settle(portsClosed: Bool) {
        BalancerSettle.pause(configured: deploy.batchWait, portsClosed: portsClosed, before: "batch", out: out)
    }

    /// Puts every switched host back on the release it ran, in the same batches as the swap (so that a
    /// load balancer always has the rest), each health-gated; the error to report says which host
    /// failed and why, and where the previous release serves again.
    func putBack(because reason: String, failedHostRestored: Bool, evidence: [String]) -> DeployError {
        var lines: [String] = []
        var allBack = failedHostRestored
        var putBackBefore = false
        for group in batches {
            let back = group.filter { switched.contains($0.host.name) }
            guard !back.isEmpty else { continue }
            // Putting a server back closes its port as the swap did (unless a proxy holds it).
            if putBackBefore { settle(portsClosed: !(hosts[0].strategy is ProxyStrategy)) }
            putBackBefore = true
            let outcomes = OnEachHost.map(back) { host in try host.putBack() }
            record(back, outcomes, into: &lines, allBack: &allBack)
        }
        let summary = lines.isEmpty ? "" : "; " + lines.joined(separator: ", ")
        let env = hosts[0].environment.name
        if allBack {
            return DeployError(message: "\(reason)\(summary); every host runs the previous release", production: .putBack, evidence: evidence)
        }
        return DeployError(
            message: "\(reason)\(summary); run `tmeops recover -e \(env)` to bring every host back to one release",
            production: .notRestored, evidence: evidence)
    }

    private func record(_ back: [DeployTarget], _ outcomes: [Result<HealthWait.Outcome, Error>], into lines: inout [String], allBack: inout Bool) {
        for (host, outcome) in zip(back, outcomes) {
            switch outcome {
            case .success(let health) where health.healthy:
                lines.append("\(host.host.name) back on the previous release")
                switched.removeAll { $0 == host.host.name }
            case .success(let health):
                allBack = false
                lines.append("\(host.host.name) NOT back: \(health.detail)")
            case .failure(let error):
                allBack = false
                lines.append("\(host.host.name) NOT back: \(error)")
            }
        }
    }
}

/// The swap and the validation of a deploy to several hosts.
extension DeployPipeline {
    /// The hosts, cut into the swap's batches.
    var batches: [[DeployTarget]] { DeployBatches.plan(hosts, size: target.deploy.batch) }

    /// 7, on several hosts. Returns the longest window a host was without a healthy container (behind a
    /// load balancer that retries another host, users saw none of it).
    func rollingSwap(_ facts: DeployFacts) throws -> Double {
        let release = self.release
        let windows = try rolling.run(
            image: "\(target.config.image):\(release)", release: release, shown: facts.imageRef,
            journal: { host, phase, data in
                try host.state.record(.init(release: release, step: DeployStep.swap.rawValue, phase: phase, data: data), holding: nil)
            },
            batch: { phase, data in try self.journal(.swap, phase, data) })
        progress.containerRecord = try engine.containerDocument(target.app.container).map(ContainerRecord.init)
        return windows.max() ?? 0
    }

    /// 8, on several hosts: the same checks on every host's app container (each host's own connection to
    /// the database is what its checks prove); a failure anywhere puts every host back.
    func validateEachHost(_ facts: DeployFacts) throws {
        var failed: [String] = []
        var checks = 0
        for host in hosts {
            let results = try ValidationService.run(
                host.environment, context: context, since: Int(started.timeIntervalSince1970), healthAttempts: 5,
                connection: (host.engine, host.session, facts.database))
            checks += results.count
            for result in results where !result.ok {
                out.line("      \(out.red("✗")) \(host.host.name): \(result.name): \(result.evidence)")
                failed.append("\(host.host.name): \(result.name)")
            }
        }
        if !failed.isEmpty {
            throw rolling.putBack(because: "post-deploy validation failed (\(failed.joined(separator: "; ")))", failedHostRestored: true, evidence: [])
        }
        out.line("      \(checks) checks passed on \(hosts.count) hosts")
    }
}
