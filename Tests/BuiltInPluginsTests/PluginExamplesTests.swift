import ArgumentParser
import TMEOpsCore
import XCTest

@testable import tmeops

/// Every example a plugin shows in `tmeops help PLUGIN` must be a command line tmeops accepts.
final class PluginExamplesTests: XCTestCase {
    static let registered: Void = {
        try! registerPlugins(into: .shared)
    }()

    override func setUp() {
        Self.registered
    }

    func testEveryBuiltInPluginDescribesItselfWithExamples() {
        XCTAssertEqual(PluginRegistry.shared.plugins.map(\.description.id), ["hosts", "transfer", "image", "schema", "backup", "swap", "swarm", "validate"])
        // The host layer registers config sections only; every plugin has commands and examples.
        let plugins = PluginRegistry.shared.plugins.filter { $0.origin == .builtIn }
        for plugin in plugins {
            XCTAssertFalse(plugin.description.summary.isEmpty, plugin.description.id)
            XCTAssertFalse(plugin.commands.isEmpty, plugin.description.id)
            XCTAssertFalse(plugin.description.examples.isEmpty, plugin.description.id)
        }
    }

    func testEveryExampleParses() throws {
        for plugin in PluginRegistry.shared.plugins {
            for example in plugin.description.examples {
                XCTAssertTrue(example.command.hasPrefix("tmeops "), example.command)
                XCTAssertNoThrow(try TMEOpsRoot.parseAsRoot(example.arguments), "\(plugin.description.id): \(example.command)")
            }
        }
    }

    func testRootHelpHasOneSectionPerPlugin() {
        let help = TMEOpsRoot.helpMessage(columns: 100)
        for id in ["TRANSFER", "IMAGE", "SCHEMA", "BACKUP", "SWAP", "VALIDATE"] {
            XCTAssertTrue(help.contains("\(id) PLUGIN SUBCOMMANDS:"), help)
        }
        for command in ["init", "plugins", "plugin", "config", "version", "completion"] {
            XCTAssertTrue(help.contains("\n  \(command) "), command)
        }
    }
}
