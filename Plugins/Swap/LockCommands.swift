import ArgumentParser
import BackupPlugin
import Foundation
import ImagePlugin
import SchemaPlugin
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts
import TMEOpsPostgres
import TransferPlugin
import ValidatePlugin

/// `tmeops lock status|acquire|release -e ENV`.
public struct LockCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "lock", abstract: "Show, take or release the remote deploy lock.",
        subcommands: [LockStatusCommand.self, LockAcquireCommand.self, LockReleaseCommand.self])

    public init() {}
}

public struct LockStatusCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(commandName: "status", abstract: "Who holds the deploy lock, since when, and why.")

    @OptionGroup public var globals: GlobalOptions

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let owner = try await withTarget(context, "lock status", host: .first) { target in try target.state.lockOwner() }
        if context.json { return try context.output.writeJSON(owner) }
        guard let owner else { return context.output.line("the deploy lock is free") }
        context.output.line("held by \(owner.owner)@\(owner.host) (pid \(owner.pid)) since \(owner.at): \"\(owner.message)\"")
    }
}

public struct LockAcquireCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "acquire", abstract: "Take the deploy lock (e.g. for maintenance by hand).",
        discussion: """
            Examples:
              tmeops lock acquire -e production --message "vacuum full by hand"
              tmeops lock acquire -e production --lock-wait 10m --message "maintenance after the running deploy"
            """)

    @OptionGroup public var globals: GlobalOptions

    @Option(help: "Why.")
    public var message: String = "held by hand"

    @Flag(help: "Break the lock if it has expired.")
    public var force = false

    @Option(help: ArgumentHelp("Wait this long for a lock someone else holds (e.g. 10m) instead of refusing at once.", valueName: "duration"))
    public var lockWait: ConfigDuration?

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let (message, force, wait) = (self.message, self.force, self.lockWait?.seconds ?? 0)
        let owner = try await withTarget(context, "lock acquire", host: .first) { target -> RemoteState.LockOwner in
            let owner = try target.state.acquire(
                message: message, ttl: target.deploy.lockTTL.seconds, force: force, wait: wait, byHand: true, context: context)
            target.state.audit(action: "lock acquire", environment: target.environment.name, release: nil, outcome: "held", detail: message, context: context)
            return owner
        }
        context.output.line("\(context.output.green("✓")) deploy lock taken at \(owner.at): \"\(owner.message)\"")
    }
}

public struct LockReleaseCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "release", abstract: "Release the deploy lock (--force when a deploy holds it).",
        discussion: """
            Examples:
              tmeops lock release -e production --force
            """)

    @OptionGroup public var globals: GlobalOptions

    @Flag(help: "Release it even though a deploy holds it (check `lock status` first).")
    public var force = false

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let force = self.force
        let text = try await withTarget(context, "lock release", host: .first) { target -> String in
            guard let owner = try target.state.lockOwner() else { return "the deploy lock was free" }
            if !force {
                throw TMEOpsError.usage(
                    "the lock is held by \(owner.owner)@\(owner.host) since \(owner.at) (\"\(owner.message)\"); pass --force to release it anyway")
            }
            try target.state.release(token: nil)
            target.state.audit(
                action: "lock release", environment: target.environment.name, release: nil, outcome: "released", detail: owner.message, context: context)
            return "released the lock of \(owner.owner)@\(owner.host)"
        }
        context.output.line(text)
    }
}
