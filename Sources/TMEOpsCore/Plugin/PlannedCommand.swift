import ArgumentParser

/// Describes a command a plugin has announced but a later issue builds.
public protocol PlannedCommandSpec {
    static var name: String { get }
    static var abstract: String { get }
    /// Subcommands it will have, shown in its help.
    static var subcommands: [String] { get }
    /// The issue that builds it.
    static var issue: Int { get }
    /// The command it sits under, for nested placeholders (`image` for `image push`).
    static var parent: String? { get }
}

extension PlannedCommandSpec {
    public static var parent: String? { nil }
}

/// A placeholder that appears in help with its planned subcommands and, when run, says plainly that
/// it is not built yet and which issue brings it (exit 1). Replaced command by command as issues land.
public struct PlannedCommand<Spec: PlannedCommandSpec>: TMEOpsCommand {
    public static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: Spec.name,
            abstract: Spec.abstract,
            discussion: Spec.subcommands.isEmpty
                ? "Not built yet: arrives with issue #\(Spec.issue)."
                : "Planned subcommands: \(Spec.subcommands.joined(separator: ", ")). Not built yet: arrives with issue #\(Spec.issue).")
    }

    @OptionGroup public var globals: GlobalOptions

    @Argument(parsing: .captureForPassthrough, help: .hidden)
    public var arguments: [String] = []

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let words = (Spec.parent.map { [$0] } ?? []) + [Spec.name] + (Spec.subcommands.isEmpty ? [] : Array(arguments.prefix(1)))
        throw TMEOpsError("`tmeops \(words.joined(separator: " "))` is not built yet; it arrives with issue #\(Spec.issue)")
    }
}
