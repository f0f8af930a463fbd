import BackupPlugin
import Foundation
import TMEOpsCore
import TMEOpsHosts
import TMEOpsSSH

/// The deploy lock and backup that `migrate apply` takes on a protected environment (offered to the
/// schema plugin as the `ChangeProtection` service): the same lock `deploy` takes, on the environment's
/// (first) host when it has one, and the same kind of backup as a deploy's first step.
struct ProtectedChanges: ChangeProtection {
    func take(config: LoadedConfig, environment: EnvironmentConfig, context: CommandContext, purpose: String) throws -> ProtectedChangeHold {
        var state: RemoteState?
        var owner: RemoteState.LockOwner?
        var renewEvery: TimeInterval = 60
        if environment.section(SSHConfig.self) != nil {
            // The deploy lock is the one `deploy` and `lock` use: on the environment's first host.
            let deploy = try DeployConfig.of(environment)
            let session = try RemoteHost.connect(environment, .first, context: context)
            let remote = RemoteState(session: session, app: config.app, environment: environment.name, redactor: context.redactor)
            renewEvery = max(1, min(60, deploy.lockTTL.seconds / 4))
            do {
                try remote.moveSharedState(lockTTL: deploy.lockTTL.seconds, context: context)
                owner = try remote.acquire(message: purpose, ttl: deploy.lockTTL.seconds, force: false, context: context)
            } catch {
                session.close()
                throw error
            }
            state = remote
        }
        // Held as a deploy holds it: renewed while the backup and the migrations run (this connection is
        // the heartbeat's until the hold ends).
        var heartbeat: LockHeartbeat?
        if let state, let owner {
            heartbeat = LockHeartbeat(state: state, token: owner.token, every: renewEvery) { error in context.logger.error("\(error)") }
        }
        let release: () -> Void = { [state, owner, heartbeat] in
            heartbeat?.stop()
            guard let state else { return }
            do { try state.release(token: owner?.token) } catch { context.logger.warning("\(error)") }
            state.session.close()
        }
        let backup: String
        do {
            backup = try BackupService.create(environment, context: context, options: .init(label: "pre-migrate")).id
        } catch {
            release()
            throw error
        }
        return ProtectedChangeHold(backup: backup, lockHost: state?.host) { [state, heartbeat] outcome, detail in
            heartbeat?.stop()
            state?.audit(action: purpose, environment: environment.name, release: nil, outcome: outcome, detail: detail, context: context)
            release()
        }
    }
}
