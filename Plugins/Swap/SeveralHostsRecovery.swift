import Foundation
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts
import ValidatePlugin

extension Recovery {
    /// `recover` on an environment of several hosts: reads the lead host's journal and every host's own,
    /// looks at every host's containers, and brings all of them to one release: the new one only when
    /// every host already serves it healthily (the deploy died after its swap), else the previous one on
    /// every host. Each host ends with one healthy app container; then the staging copy, the ledger, the
    /// journals and the lock are dealt with as on one host.
    public static func recover(_ hosts: [DeployTarget], database: DeployTarget, force: Bool = false) throws -> Outcome {
        guard hosts.count > 1 else { return try recover(database, force: force) }
        let lead = hosts[0]
        let state = lead.state
        let lock = try takeLock(lead, force: force)
        defer { do { try state.release(token: lock.token) } catch { lead.context.logger.warning("the deploy lock was not released: \(error)") } }
        let journal = try state.journal()
        let journals = try hosts.map { try $0.state.journal() }
        let release = journal.last?.release ?? journals.compactMap { $0.last?.release }.first
        var outcome = Outcome(release: release, lastStep: journal.last.map { "\($0.step) \($0.phase)" })
        func act(_ host: DeployTarget?, _ text: String) {
            let line = host.map { "\($0.host.name): \(text)" } ?? text
            outcome.actions.append(line)
            lead.out.line("  • \(line)")
        }
        let isNew: (ContainerDetails?) -> Bool = { details in release != nil && details?.config.labels?["tmeops.release"] == release }

        // Which release does every host serve? A host serves the new one when its production container
        // is the new release, runs and is healthy, or when the new container was started and is healthy
        // (its rename was cut off).
        let serving = try hosts.map { host -> Bool in
            let production = try host.engine.container(host.app.container)
            if isNew(production) && production?.state.running == true { return try host.healthWait(host.app.container, attempts: 3).healthy }
            guard let candidate = try host.engine.container(host.new), candidate.state.running else { return false }
            return try host.healthWait(host.new, attempts: 3).healthy
        }
        let toNew = release != nil && serving.allSatisfy { $0 }
        if release != nil {
            act(
                nil,
                toNew
                    ? "every host serves the new release \(release ?? ""): finishing it on each"
                    : "\(serving.filter { $0 }.count) of \(hosts.count) hosts serve the new release \(release ?? ""): putting every host back on the previous one"
            )
        }
        var healthy = true
        for (host, hostJournal) in zip(hosts, journals) {
            healthy = try settle(host, release: release, aim: toNew ? .new : .previous, journal: hostJournal, act: { act(host, $0) }) && healthy
        }
        outcome.healthy = healthy
        try dropStaging(journal, release: release, target: database, act: { act(nil, $0) })
        let running = try lead.engine.container(lead.app.container)
        try correctLedger(
            state, journal: journal, release: release, outcome: outcome, running: running, servesNew: isNew(running), context: lead.context)
        if let release {
            for (host, hostJournal) in zip(hosts, journals) where !hostJournal.isEmpty { try host.state.closeJournal(release: release) }
        }
        if try state.lockOwner()?.token == lock.token {
            try state.release(token: lock.token)
            act(nil, "released the deploy lock")
        }
        state.audit(
            action: "recover", environment: lead.environment.name, release: release, outcome: outcome.healthy ? "healthy" : "unhealthy",
            detail: outcome.actions.joined(separator: "; "), context: lead.context)
        return outcome
    }
}
