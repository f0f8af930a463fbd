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
        defer { try? state.release(token: lock.token) }
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
            healthy = try settle(host, release: release, toNew: toNew, journal: hostJournal, isNew: isNew, act: { act(host, $0) }) && healthy
        }
        outcome.healthy = healthy
        try dropStaging(journal, release: release, target: database, act: { act(nil, $0) })
        try correctLedger(
            state, journal: journal, release: release, outcome: outcome, running: try lead.engine.container(lead.app.container), finishedNew: isNew,
            context: lead.context)
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

    /// Brings one host to the chosen release with one healthy app container; whether it is healthy.
    static func settle(
        _ host: DeployTarget, release: String?, toNew: Bool, journal: [RemoteState.JournalEntry], isNew: (ContainerDetails?) -> Bool,
        act: (String) -> Void
    ) throws -> Bool {
        let engine = host.engine
        let name = host.app.container
        if toNew {
            for action in try host.strategy.finishInterruptedSwap(host, journal: journal, release: release) { act(action) }
        } else if try engine.container(host.new) != nil {
            // A new container that had not yet taken production's name: the old one still has it.
            try engine.removeContainer(host.new, force: true)
            act("removed \(host.new) (the swap had not reached this host's users)")
        }
        if try engine.container(name) == nil {
            if try engine.container(host.old) != nil {
                try engine.renameContainer(host.old, to: name)
                act("renamed \(host.old) back to \(name) (the swap stopped between the renames)")
            } else if try engine.container(host.aside) != nil {
                try engine.renameContainer(host.aside, to: name)
                act("renamed \(host.aside) back to \(name) (a put-back was cut off)")
            }
        }
        guard let current = try engine.container(name) else {
            throw TMEOpsError("there is no app container on \(host.host.name) (\(name), \(host.old) and \(host.new) are all missing); deploy a release again")
        }
        var health: HealthWait.Outcome
        let oldExists = try engine.container(host.old) != nil
        if !toNew && isNew(current) && oldExists {
            health = try host.putBack()
            act(health.healthy ? "put the previous release back (\(host.old) → \(name))" : "putting the previous release back failed: \(health.detail)")
        } else {
            if !current.state.running {
                try engine.startContainer(name)
                act("started \(name) (it was \(current.state.status))")
            }
            health = try host.healthWait(name)
            act("\(name) runs the \(isNew(current) ? "new" : "previous") release and is \(health.healthy ? "healthy" : "NOT healthy: \(health.detail)")")
        }
        if health.healthy, let repaired = try host.strategy.repair(host) { act(repaired) }
        try removeLeftovers(host, healthy: health.healthy, act: act)
        return health.healthy
    }
}
