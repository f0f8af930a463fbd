import Foundation
import TMEOpsTestSupport
import XCTest

@testable import TMEOpsCore

final class TeamPluginScaffoldTests: XCTestCase {
    var root: URL!

    override func setUpWithError() throws {
        root = try TemporaryDirectory.make()
        // A miniature source tree: the real templates and a Package.swift with the generated block.
        try FileManager.default.copyItem(at: TMEOpsBinary.packageRoot.appendingPathComponent("Templates"), to: root.appendingPathComponent("Templates"))
        try FileManager.default.createDirectory(at: root.appendingPathComponent("Sources/tmeops"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("Plugins/Transfer"), withIntermediateDirectories: true)
        try Data(
            """
            // swift-tools-version:6.0
            // BEGIN GENERATED TEAM PLUGINS. GENERATED FILE. DO NOT EDIT! Run `make generate`.
            let teamPlugins: [String] = []
            // END GENERATED TEAM PLUGINS
            let rest = 1

            """.utf8
        ).write(to: root.appendingPathComponent("Package.swift"))
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: root)
    }

    func read(_ path: String) throws -> String {
        String(decoding: try Data(contentsOf: root.appendingPathComponent(path)), as: UTF8.self)
    }

    func testCreateRendersFilesAndRegisters() throws {
        let scaffold = TeamPluginScaffold(root: root)
        let written = try scaffold.create(
            id: "notify-slack", summary: "Post to Slack.", templates: Templates(root: root.appendingPathComponent("Templates")), taken: ["deploy"])
        XCTAssertEqual(
            written,
            [
                "Plugins/NotifySlack/NotifySlackPlugin.swift", "Plugins/NotifySlack/plugin.yml",
                "Tests/Plugins/NotifySlackPluginTests/NotifySlackPluginTests.swift", "Package.swift", "Sources/tmeops/TeamPlugins.generated.swift",
            ])
        let source = try read("Plugins/NotifySlack/NotifySlackPlugin.swift")
        XCTAssertTrue(source.contains("public enum NotifySlackPlugin: Plugin"))
        XCTAssertTrue(source.contains("id: \"notify-slack\""))
        XCTAssertFalse(source.contains("{{"))
        XCTAssertTrue(try read("Package.swift").contains("let teamPlugins: [String] = [\n    \"NotifySlack\",\n]\n// END GENERATED TEAM PLUGINS\nlet rest = 1"))
        let registry = try read("Sources/tmeops/TeamPlugins.generated.swift")
        XCTAssertTrue(registry.hasPrefix("// GENERATED FILE. DO NOT EDIT!"))
        XCTAssertTrue(registry.contains("import NotifySlackPlugin\n"))
        XCTAssertTrue(registry.contains("NotifySlackPlugin.self,"))
        XCTAssertEqual(try scaffold.staleFiles(), [])
    }

    func testRefusesBadOrTakenNamesAndExistingFolders() throws {
        let scaffold = TeamPluginScaffold(root: root)
        let templates = Templates(root: root.appendingPathComponent("Templates"))
        for bad in ["Hello", "1st", "a_b", "-x", "x-", ""] {
            XCTAssertThrowsError(try scaffold.create(id: bad, summary: "s", templates: templates, taken: []), bad)
        }
        XCTAssertThrowsError(try scaffold.create(id: "deploy", summary: "s", templates: templates, taken: ["deploy"])) {
            XCTAssertEqual("\($0)", "'deploy' is already a tmeops command or plugin; choose another name")
        }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("Plugins/Hello"), withIntermediateDirectories: true)
        let before = try read("Package.swift")
        XCTAssertThrowsError(try scaffold.create(id: "hello", summary: "s", templates: templates, taken: []))
        XCTAssertEqual(try read("Package.swift"), before, "nothing changed")
    }

    func testDetectsStaleGeneratedFiles() throws {
        let scaffold = TeamPluginScaffold(root: root)
        try scaffold.generate()
        XCTAssertEqual(try scaffold.staleFiles(), [])
        try FileManager.default.createDirectory(at: root.appendingPathComponent("Plugins/Extra"), withIntermediateDirectories: true)
        try Data("id: extra\nname: Extra\n".utf8).write(to: root.appendingPathComponent("Plugins/Extra/plugin.yml"))
        XCTAssertEqual(try scaffold.staleFiles(), ["Package.swift", "Sources/tmeops/TeamPlugins.generated.swift"])
        XCTAssertEqual(try scaffold.generate(), ["Package.swift", "Sources/tmeops/TeamPlugins.generated.swift"])
        XCTAssertEqual(try scaffold.staleFiles(), [])
    }

    func testTemplatesRejectUnknownPlaceholders() {
        XCTAssertEqual(try Templates.render("a {{x}} b {{ y }}", ["x": "1", "y": "2"], name: "t"), "a 1 b 2")
        XCTAssertThrowsError(try Templates.render("{{nope}}", [:], name: "t")) {
            XCTAssertEqual("\($0)", "template t uses {{nope}}, which tmeops does not provide")
        }
        XCTAssertThrowsError(try Templates.render("{{open", [:], name: "t"))
    }

    func testAtomicWriteNeverReplacesWithoutOverwrite() throws {
        let url = root.appendingPathComponent("file.txt")
        try AtomicFile.write(Data("one".utf8), to: url, overwrite: false)
        XCTAssertThrowsError(try AtomicFile.write(Data("two".utf8), to: url, overwrite: false)) {
            XCTAssertEqual("\($0)", "\(url.path) already exists; nothing was changed (move it aside first)")
        }
        XCTAssertEqual(try read("file.txt"), "one")
        try AtomicFile.write(Data("three".utf8), to: url, mode: 0o600, overwrite: true)
        XCTAssertEqual(try read("file.txt"), "three")
        let mode = try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: root.path).filter { $0.hasPrefix(".file.txt") }
        XCTAssertEqual(leftovers, [])
    }
}
