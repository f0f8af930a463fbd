/// What `recover` does with one host's app containers, decided from what it finds there.
///
/// The decision is pure, so every point at which a deploy can die is proved by a unit test
/// (`RecoveryPlanTests`), and the end-to-end tests kill a real deploy at a few representative points.
/// `Recovery` reads the containers and the journal, asks this type what to do, does it, and asks again
/// once it knows whether production is healthy.
public enum RecoveryPlan {
    /// The names the swap gives an app container: production's own, `-old`, `-new`, `-aside`.
    public enum Slot: String, Sendable, CaseIterable {
        case production, old, new, aside
    }

    /// A container found in a slot: whether it is the interrupted release, and whether it runs.
    public struct Found: Equatable, Sendable {
        public var isNew: Bool
        public var running: Bool

        public init(isNew: Bool, running: Bool) {
            self.isNew = isNew
            self.running = running
        }
    }

    /// Which release the host must end on. One host keeps whichever serves (the new one when its swap
    /// had reached users); several hosts must all end on the same one, chosen from all of them.
    public enum Aim: Sendable, Equatable {
        case whicheverServes
        case previous
        case new
    }

    public enum Step: Equatable, Sendable, CustomStringConvertible {
        /// Production's name goes to the new container (production, if any, becoming `-old`).
        case promoteNew
        /// A container that did not reach users goes.
        case remove(Slot)
        /// A container takes production's name back.
        case rename(Slot)
        /// Production is started.
        case startProduction

        public var description: String {
            switch self {
            case .promoteNew: "promote new"
            case .remove(let slot): "remove \(slot.rawValue)"
            case .rename(let slot): "rename \(slot.rawValue)"
            case .startProduction: "start production"
            }
        }
    }

    /// The steps that leave the host with a container under production's name, and that container.
    public struct Arrangement: Equatable, Sendable {
        public var steps: [Step]
        /// What runs as production once the steps are done (nil: there is no app container at all).
        public var production: Found?
        /// Whether `-old` still exists afterwards (what a put-back needs).
        public var oldExists: Bool
    }

    /// The first decision: given the containers and whether the interrupted swap had already reached
    /// users (`swapServes`, the strategy's answer: for `replace` the new container runs and is healthy,
    /// for `proxy` the journal says the proxy was switched to it), the renames, removals and start that
    /// give the host one production container.
    public static func arrange(_ found: [Slot: Found], aim: Aim, swapServes: Bool) -> Arrangement {
        var containers = found
        var steps: [Step] = []
        if let new = containers[.new] {
            let promote = aim == .new || (aim == .whicheverServes && swapServes)
            if promote {
                steps.append(.promoteNew)
                if let production = containers[.production] { containers[.old] = production }
                containers[.production] = new
            } else {
                steps.append(.remove(.new))
            }
            containers[.new] = nil
        }
        if containers[.production] == nil {
            // `-old` first: after a swap cut between its renames it is the release users had; `-aside`
            // is what a put-back cut off before `-old` was renamed had set aside.
            for slot in [Slot.old, .aside] {
                if let candidate = containers[slot] {
                    steps.append(.rename(slot))
                    containers[.production] = candidate
                    containers[slot] = nil
                    break
                }
            }
        }
        if let production = containers[.production], !production.running {
            steps.append(.startProduction)
            containers[.production]?.running = true
        }
        return Arrangement(steps: steps, production: containers[.production], oldExists: containers[.old] != nil)
    }

    /// How the host ends once production runs.
    public enum Settlement: Equatable, Sendable {
        /// Production is healthy and stays.
        case serves
        /// The previous release (`-old`) goes back in front of users.
        case putBack
        /// Production is not healthy and there is nothing to put back.
        case unhealthy
    }

    /// The second decision. `healthy` is asked only when the answer matters: a host that must end on the
    /// previous release and runs the new one with `-old` beside it is put back without asking.
    public static func settle(_ arrangement: Arrangement, aim: Aim, healthy: () throws -> Bool) rethrows -> Settlement {
        guard let production = arrangement.production else { return .unhealthy }
        if aim == .previous && production.isNew && arrangement.oldExists { return .putBack }
        if try healthy() { return .serves }
        return aim != .new && production.isNew && arrangement.oldExists ? .putBack : .unhealthy
    }

    /// The outcome the ledger records for the interrupted release: what the host serves in the end,
    /// never a release that is not running.
    public static func ledgerOutcome(servesNew: Bool, healthy: Bool) -> String {
        guard healthy else { return "failed" }
        return servesNew ? "recovered" : "rolled back"
    }
}
