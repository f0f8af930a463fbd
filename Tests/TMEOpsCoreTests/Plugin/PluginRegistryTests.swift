import ArgumentParser
import TMEOpsCore
import XCTest

enum AlphaPlugin: Plugin {
    static let description = PluginDescription(
        id: "alpha", summary: "First test plugin.",
        examples: [PluginExample("tmeops alpha run --fast", "Runs fast.")])
    static let commands: [any ParsableCommand.Type] = [AlphaCommand.self]
    static let configSections: [any ConfigSection.Type] = [TestSSH.self]
}

struct AlphaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "alpha", abstract: "Alpha things.", subcommands: [AlphaRun.self])
}

struct AlphaRun: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run alpha.")
    @Flag var fast = false
}

enum BetaPlugin: Plugin {
    static let description = PluginDescription(id: "beta", summary: "Second test plugin.")
    static let commands: [any ParsableCommand.Type] = []
}

enum AlphaAgainPlugin: Plugin {
    static let description = PluginDescription(id: "alpha-again", summary: "Claims alpha's command.")
    static let commands: [any ParsableCommand.Type] = [AlphaCommand.self]
}

enum SectionThiefPlugin: Plugin {
    static let description = PluginDescription(id: "thief", summary: "Claims alpha's section.")
    static let commands: [any ParsableCommand.Type] = []
    static let configSections: [any ConfigSection.Type] = [TestSSH.self]
}

final class PluginRegistryTests: XCTestCase {
    func testRegistersInOrderAndFreezesOnRead() throws {
        let registry = PluginRegistry()
        try registry.register(AlphaPlugin.self, origin: .builtIn)
        XCTAssertFalse(registry.frozen)
        XCTAssertEqual(registry.plugins.map(\.description.id), ["alpha"])
        XCTAssertTrue(registry.frozen)
        XCTAssertThrowsError(try registry.register(BetaPlugin.self, origin: .team)) { error in
            XCTAssertEqual(error as? PluginRegistry.RegistryError, .frozen("beta"))
            XCTAssertEqual("\(error)", "plugin 'beta' cannot be registered after the plugin list has been read; register every plugin before parsing starts")
        }
        XCTAssertEqual(registry.plugins.count, 1)
    }

    func testRejectsClashes() throws {
        let registry = PluginRegistry()
        try registry.register(AlphaPlugin.self, origin: .builtIn)
        XCTAssertThrowsError(try registry.register(AlphaPlugin.self, origin: .team)) {
            XCTAssertEqual($0 as? PluginRegistry.RegistryError, .duplicateID("alpha"))
        }
        XCTAssertThrowsError(try registry.register(AlphaAgainPlugin.self, origin: .team)) {
            XCTAssertEqual($0 as? PluginRegistry.RegistryError, .duplicateCommand("alpha", "alpha", "alpha-again"))
        }
        XCTAssertThrowsError(try registry.register(SectionThiefPlugin.self, origin: .team)) {
            XCTAssertEqual($0 as? PluginRegistry.RegistryError, .duplicateSection("ssh"))
        }
    }

    func testFindsTheOwnerOfNestedCommands() throws {
        let registry = PluginRegistry()
        try registry.register(AlphaPlugin.self, origin: .builtIn)
        try registry.register(BetaPlugin.self, origin: .team)
        XCTAssertEqual(registry.plugin(owning: AlphaRun.self)?.description.id, "alpha")
        XCTAssertEqual(registry.commandNames, ["alpha"])
        XCTAssertEqual(registry.configSections.map { $0.key }, ["ssh"])
    }

    func testPluginHelpShowsSummaryCommandsConfigAndExamples() throws {
        let registry = PluginRegistry()
        try registry.register(AlphaPlugin.self, origin: .builtIn)
        let help = PluginHelp.render(try XCTUnwrap(registry.plugin(id: "alpha")))
        XCTAssertTrue(help.hasPrefix("alpha — First test plugin.\nOrigin: built-in\n"), help)
        XCTAssertTrue(help.contains("  alpha                   Alpha things.\n    alpha run               Run alpha.\n"), help)
        XCTAssertTrue(help.contains("environments.<name>.ssh"), help)
        XCTAssertTrue(help.contains("  tmeops alpha run --fast\n      Runs fast.\n"), help)
        XCTAssertEqual(AlphaPlugin.description.examples[0].arguments, ["alpha", "run", "--fast"])
    }
}
