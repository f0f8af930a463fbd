import ArgumentParser

/// A tmeops plugin: it describes itself and contributes commands and config sections.
///
/// Plugins are registered with the ``PluginRegistry`` by the composition root before any command
/// line is parsed. Commands reach config, logger and output through the ``CommandContext`` they
/// are handed, never through globals.
public protocol Plugin: Sendable {
    /// Identity, summary and examples, shown by `tmeops help PLUGIN` and `tmeops plugins`.
    static var description: PluginDescription { get }
    /// Top-level commands the plugin adds (`ssh`, `transfer`, ...), each an argument-parser command.
    static var commands: [any ParsableCommand.Type] { get }
    /// The parts of `tmeops.yml` the plugin owns.
    static var configSections: [any ConfigSection.Type] { get }
    /// Services the plugin offers the others, each under a protocol a lower layer defines (e.g. the host
    /// layer's `PreChangeBackups`). A plugin finds one with `context.registry.service(P.self)`, so plugins
    /// stay siblings: neither needs the other's module, and nothing is wired through a mutable global.
    static var services: [PluginService] { get }
}

extension Plugin {
    public static var configSections: [any ConfigSection.Type] { [] }
    public static var services: [PluginService] { [] }
}

/// A service a plugin offers, filed under the protocol it implements.
public struct PluginService: Sendable {
    let key: ObjectIdentifier
    let name: String
    let value: any Sendable

    /// Offers `value` as the `Protocol` service (`PluginService(PreChangeBackups.self, BackupsService())`).
    public init<Protocol>(_ type: Protocol.Type, _ value: Protocol) where Protocol: Sendable {
        key = ObjectIdentifier(type)
        name = String(describing: type)
        self.value = value
    }
}

/// How a plugin describes itself.
public struct PluginDescription: Sendable, Equatable {
    /// Short lower-case name, e.g. `transfer`; also the `tmeops help` topic.
    public let id: String
    /// One line: what the plugin is for.
    public let summary: String
    /// Worked examples; each is a tmeops command line and is parsed by a test, so they stay true.
    public let examples: [PluginExample]

    public init(id: String, summary: String, examples: [PluginExample] = []) {
        self.id = id
        self.summary = summary
        self.examples = examples
    }
}

/// One example command line with the sentence that explains it.
public struct PluginExample: Sendable, Equatable {
    /// The command line, starting with `tmeops`.
    public let command: String
    public let explanation: String

    public init(_ command: String, _ explanation: String) {
        self.command = command
        self.explanation = explanation
    }

    /// The arguments after `tmeops`, split on spaces (examples use no quoting).
    public var arguments: [String] {
        Array(command.split(separator: " ").map(String.init).dropFirst())
    }
}

/// Where a plugin came from, as `tmeops plugins` reports it.
public enum PluginOrigin: Sendable, Equatable {
    /// Shipped with tmeops.
    case builtIn
    /// A team plugin compiled in from `Plugins/NAME` (scaffolded by `tmeops plugin new`).
    case team
    /// The core host's own commands.
    case core

    public var label: String {
        switch self {
        case .builtIn: return "built-in"
        case .team: return "team (compiled in)"
        case .core: return "core"
        }
    }
}
