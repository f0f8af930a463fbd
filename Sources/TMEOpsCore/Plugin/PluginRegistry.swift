import ArgumentParser
import Foundation

/// A plugin as registered: its type and where it came from.
public struct RegisteredPlugin: Sendable {
    public let description: PluginDescription
    public let origin: PluginOrigin
    public let commands: [any ParsableCommand.Type]
    public let configSections: [any ConfigSection.Type]
    public let services: [PluginService]

    /// Top-level command names the plugin adds.
    public var commandNames: [String] { commands.map { $0._commandName } }
}

/// The list of plugins, filled by the composition root before parsing and frozen once read.
///
/// As in SwiftLint's rule registry, registering after the list has been read is an error: the
/// command tree and config schema are built from it once, and a late plugin would be silently missing.
public final class PluginRegistry: @unchecked Sendable {
    public enum RegistryError: Error, CustomStringConvertible, Equatable {
        case frozen(String)
        case duplicateID(String)
        case duplicateCommand(String, String, String)
        case duplicateSection(String)
        case duplicateService(String)

        public var description: String {
            switch self {
            case .frozen(let id):
                return "plugin '\(id)' cannot be registered after the plugin list has been read; register every plugin before parsing starts"
            case .duplicateID(let id):
                return "a plugin with id '\(id)' is already registered"
            case .duplicateCommand(let command, let first, let second):
                return "command '\(command)' is registered by both '\(first)' and '\(second)'"
            case .duplicateSection(let key):
                return "config section '\(key)' is claimed by two plugins"
            case .duplicateService(let name):
                return "service \(name) is offered by two plugins"
            }
        }
    }

    /// The registry the `tmeops` executable fills. Tests make their own instances.
    public static let shared = PluginRegistry()

    private let lock = NSLock()
    private var entries: [RegisteredPlugin] = []
    private var isFrozen = false

    public init() {}

    /// Adds a plugin; throws once the registry has been read, or on a clash of ids, commands or sections.
    public func register(_ plugin: any Plugin.Type, origin: PluginOrigin) throws {
        try lock.withLock {
            let description = plugin.description
            guard !isFrozen else { throw RegistryError.frozen(description.id) }
            guard !entries.contains(where: { $0.description.id == description.id }) else {
                throw RegistryError.duplicateID(description.id)
            }
            for command in plugin.commands {
                if let owner = entries.first(where: { $0.commandNames.contains(command._commandName) }) {
                    throw RegistryError.duplicateCommand(command._commandName, owner.description.id, description.id)
                }
            }
            for section in plugin.configSections {
                let clash = entries.flatMap(\.configSections).contains { $0.key == section.key && $0.scope == section.scope }
                if clash { throw RegistryError.duplicateSection(section.key) }
            }
            for service in plugin.services where entries.flatMap(\.services).contains(where: { $0.key == service.key }) {
                throw RegistryError.duplicateService(service.name)
            }
            entries.append(
                RegisteredPlugin(
                    description: description, origin: origin, commands: plugin.commands, configSections: plugin.configSections,
                    services: plugin.services))
        }
    }

    /// The registered plugins, in registration order. Reading freezes the registry.
    public var plugins: [RegisteredPlugin] {
        lock.withLock {
            isFrozen = true
            return entries
        }
    }

    /// Whether `plugin` is registered already; unlike `plugins`, asking does not freeze the list.
    public func isRegistered(_ plugin: any Plugin.Type) -> Bool {
        lock.withLock { entries.contains { $0.description.id == plugin.description.id } }
    }

    /// Whether the list has been read (and so can no longer change).
    public var frozen: Bool { lock.withLock { isFrozen } }

    public func plugin(id: String) -> RegisteredPlugin? { plugins.first { $0.description.id == id } }

    /// The plugin that registered `command` (or one of its ancestors), for log metadata.
    public func plugin(owning command: any ParsableCommand.Type) -> RegisteredPlugin? {
        plugins.first { plugin in plugin.commands.contains { Self.tree($0).contains { ObjectIdentifier($0) == ObjectIdentifier(command) } } }
    }

    /// Every config section of every plugin.
    public var configSections: [any ConfigSection.Type] { plugins.flatMap(\.configSections) }

    /// The service a plugin offers under `type`, or nil when no registered plugin offers one.
    public func service<Service>(_ type: Service.Type) -> Service? {
        plugins.lazy.flatMap(\.services).first { $0.key == ObjectIdentifier(type) }?.value as? Service
    }

    /// Every top-level command name: what an external plugin can never shadow.
    public var commandNames: Set<String> { Set(plugins.flatMap(\.commandNames)) }

    private static func tree(_ command: any ParsableCommand.Type) -> [any ParsableCommand.Type] {
        [command] + command.configuration.subcommands.flatMap { tree($0) }
    }
}
