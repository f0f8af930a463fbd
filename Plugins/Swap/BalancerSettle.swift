import Foundation
import TMEOpsCore
import TMEOpsHosts

/// How long a rolling swap lets a load balancer settle after a batch, before the next one starts.
///
/// A balancer at its defaults takes a server out when its port refuses a connection and takes it back
/// only later: nginx after its `fail_timeout` (10 s, with `max_fails=1`), HAProxy once its health checks
/// pass again (`rise` 2 × `inter` 2 s), a cloud target group after its healthy threshold. Were the next
/// batch swapped before that, every server could be out at once, and the balancer would refuse every
/// request. So after a batch in which a server's port went unanswered (the `replace` strategy's stop and
/// start, or the first `proxy` deploy taking the port), the swap waits `defaultWait` unless
/// `deploy.batch_wait` says otherwise; after a batch whose ports never closed (a `proxy` reload), it
/// goes on at once.
enum BalancerSettle {
    /// Covers nginx's default `fail_timeout` (10 s) and HAProxy's default re-admission (2 checks 2 s apart).
    static let defaultWait = ConfigDuration(seconds: 11)

    /// The pause before the next batch: `configured` (`deploy.batch_wait`) when set, else `defaultWait`
    /// when a port of the last batch went unanswered, else none.
    static func wait(configured: ConfigDuration?, portsClosed: Bool) -> TimeInterval {
        if let configured { return configured.seconds }
        return portsClosed ? defaultWait.seconds : 0
    }

    /// Waits as `wait` says before the next `what` (batch, node), saying so on `out`.
    static func pause(configured: ConfigDuration?, portsClosed: Bool, before what: String, out: Output) {
        let seconds = wait(configured: configured, portsClosed: portsClosed)
        guard seconds > 0 else { return }
        out.line("      waiting \(ConfigDuration(seconds: seconds)) before the next \(what): \(reason(configured: configured))")
        Thread.sleep(forTimeInterval: seconds)
    }

    /// Why the swap waits, for its progress line and the plan.
    static func reason(configured: ConfigDuration?) -> String {
        if let configured { return "deploy.batch_wait is \(configured)" }
        return
            "a load balancer takes back a server whose port refused a connection only after nginx's fail_timeout (10 s) "
            + "or HAProxy's health checks; deploy.batch_wait sets this"
    }

    /// The plan's words for the waits between `batches` batches.
    static func plan(configured: ConfigDuration?, batches: Int, portsClose: Bool) -> String {
        guard batches > 1 else { return "" }
        if configured == nil && !portsClose {
            return "; \(defaultWait) after a batch only if its ports went unanswered (a proxy's first deploy takes them from the app)"
        }
        let seconds = wait(configured: configured, portsClosed: portsClose)
        guard seconds > 0 else { return "; no wait between batches" }
        let total = ConfigDuration(seconds: seconds * Double(batches - 1))
        return "; \(ConfigDuration(seconds: seconds)) after each batch but the last (\(total) in all): \(reason(configured: configured))"
    }
}

extension DeployConfig: ConfigSectionAdvice {
    /// A `batch_wait` shorter than nginx's default `fail_timeout`, on several servers swapped with their
    /// ports closing (`replace`): the next batch may find every server out of the balancer.
    public func warnings(in environment: EnvironmentConfig) -> [String] {
        guard let wait = batchWait, wait.seconds < 10, strategy == ReplaceStrategy.name,
            (environment.section(SSHConfig.self)?.hosts.count ?? 0) > 1
        else { return [] }
        return [
            "environments.\(environment.name).deploy.batch_wait is \(wait): a load balancer at its defaults keeps a server whose port refused a connection out for longer (nginx: fail_timeout 10s; HAProxy: rise × inter), so the next batch may find every server out and the balancer refuse every request; unset it (\(BalancerSettle.defaultWait) after a batch whose ports closed) or set it to your balancer's figure"
        ]
    }
}
