import ArgumentParser
import TMEOpsCore
import XCTest

/// A service protocol as a lower layer would define it.
protocol Greeting: Sendable {
    func greet(_ name: String) -> String
}

struct EnglishGreeting: Greeting {
    func greet(_ name: String) -> String { "hello, \(name)" }
}

enum GreetingPlugin: Plugin {
    static let description = PluginDescription(id: "greeting", summary: "Offers a greeting.")
    static let commands: [any ParsableCommand.Type] = []
    static let services = [PluginService(Greeting.self, EnglishGreeting())]
}

enum SecondGreetingPlugin: Plugin {
    static let description = PluginDescription(id: "greeting-two", summary: "Offers a greeting too.")
    static let commands: [any ParsableCommand.Type] = []
    static let services = [PluginService(Greeting.self, EnglishGreeting())]
}

final class PluginServiceTests: XCTestCase {
    func testAPluginFindsAnotherPluginsServiceByItsProtocol() throws {
        let registry = PluginRegistry()
        XCTAssertFalse(registry.isRegistered(GreetingPlugin.self))
        try registry.register(GreetingPlugin.self, origin: .builtIn)
        XCTAssertTrue(registry.isRegistered(GreetingPlugin.self))
        XCTAssertFalse(registry.frozen, "asking whether a plugin is registered must not freeze the list")
        XCTAssertEqual(registry.service(Greeting.self)?.greet("ops"), "hello, ops")
    }

    func testAServiceNobodyOffersIsNil() throws {
        let registry = PluginRegistry()
        try registry.register(BetaPlugin.self, origin: .builtIn)
        XCTAssertNil(registry.service(Greeting.self))
    }

    func testTwoPluginsCannotOfferOneService() throws {
        let registry = PluginRegistry()
        try registry.register(GreetingPlugin.self, origin: .builtIn)
        XCTAssertThrowsError(try registry.register(SecondGreetingPlugin.self, origin: .team)) { error in
            XCTAssertEqual("\(error)", "service Greeting is offered by two plugins")
        }
    }
}
