import Foundation
import TMEOpsCore
import TMEOpsHosts
import ValidatePlugin

/// `proxy`: an nginx container holds the published ports and sends traffic to the release's alias on
/// the app's network; the new container starts beside the old one, and only once it is healthy is the
/// proxy pointed at it and reloaded, so no request fails. The mechanics are in `ProxySwap.swift`.
public struct ProxyStrategy: DeployStrategy {
    public static let name = "proxy"

    public init() {}

    public func describeSwap(_ target: DeployTarget, image: String) -> String {
        "swap (proxy): a new container beside \(target.app.container), health-checked, then \(target.proxy) switched to it and reloaded"
    }

    public func configProblem(_ target: DeployTarget) -> String? {
        target.app.network == nil
            ? "strategy proxy needs environments.\(target.environment.name).app.network (the proxy reaches the app by alias)" : nil
    }

    public func swap(_ target: DeployTarget, image: String, release: String, journal: (String, [String: String]) throws -> Void) throws -> Double {
        try target.proxySwap(image: image, release: release, journal: journal)
    }

    public func putBack(_ target: DeployTarget) throws -> HealthWait.Outcome { try target.restoreOldBehindProxy() }

    /// Killed after the proxy was switched but before the renames: the new container already serves,
    /// so the swap is finished rather than undone.
    public func interruptedSwapServes(_ target: DeployTarget, journal: [RemoteState.JournalEntry], release: String?) throws -> Bool {
        guard let release else { return false }
        return journal.contains { $0.release == release && $0.step == "swap" && $0.phase == "switched" }
    }

    /// The proxy (if there is one) runs and points at production's alias.
    public func repair(_ target: DeployTarget) throws -> String? {
        try target.repairProxy().map { "\(target.proxy) points at \($0) and runs" }
    }
}
