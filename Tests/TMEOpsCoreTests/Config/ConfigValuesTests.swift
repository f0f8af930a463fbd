import TMEOpsCore
import XCTest

final class ConfigValuesTests: XCTestCase {
    func testDurations() throws {
        XCTAssertEqual(try ConfigDuration(parsing: "2s").seconds, 2)
        XCTAssertEqual(try ConfigDuration(parsing: "500ms").seconds, 0.5)
        XCTAssertEqual(try ConfigDuration(parsing: "30m").seconds, 1800)
        XCTAssertEqual(try ConfigDuration(parsing: "1h30m").seconds, 5400)
        XCTAssertEqual(try ConfigDuration(parsing: "15").seconds, 15)
        XCTAssertEqual(ConfigDuration(seconds: 1800).description, "30m")
        XCTAssertEqual(ConfigDuration(seconds: 0.25).description, "250ms")
        for bad in ["", "soon", "2x", "5m3", "-1s"] {
            XCTAssertThrowsError(try ConfigDuration(parsing: bad), bad)
        }
    }

    func testPortMappings() throws {
        let mapping = try PortMapping(parsing: "127.0.0.1:3001:3000")
        XCTAssertEqual(mapping.hostIP, "127.0.0.1")
        XCTAssertEqual(mapping.hostPort, 3001)
        XCTAssertEqual(mapping.containerPort, 3000)
        XCTAssertEqual(try PortMapping(parsing: "53:53/udp").description, "53:53/udp")
        for bad in ["80", "0:3000", "80:70000", "a:b", "80:3000/sctp"] {
            XCTAssertThrowsError(try PortMapping(parsing: bad), bad)
        }
    }

    func testInterpolation() throws {
        let interpolator = Interpolator(secrets: ["S": "from-file"], environment: ["A": "1", "S": "from-env", "EMPTY": ""])
        XCTAssertEqual(try interpolator.expand("x${A}y").value, "x1y")
        XCTAssertEqual(try interpolator.expand("${S}").value, "from-file")
        XCTAssertEqual(try interpolator.expand("$${A}").value, "${A}")
        XCTAssertEqual(try interpolator.expand("${MISSING:-dflt}").value, "dflt")
        XCTAssertEqual(try interpolator.expand("${EMPTY:-dflt}").value, "dflt")
        XCTAssertEqual(try interpolator.expand("price $5").value, "price $5")
        XCTAssertEqual(try interpolator.expand("${A}${S}").variables, ["A", "S"])
        XCTAssertThrowsError(try interpolator.expand("${MISSING}")) { XCTAssertEqual($0 as? Interpolator.Failure, .unset("MISSING")) }
        XCTAssertThrowsError(try interpolator.expand("${A")) { XCTAssertEqual($0 as? Interpolator.Failure, .malformed("${A")) }
        XCTAssertThrowsError(try interpolator.expand("${1A}")) { XCTAssertEqual($0 as? Interpolator.Failure, .malformed("${1A}")) }
    }

    func testDotEnv() throws {
        let pairs = try DotEnv.parse("# c\n\nA=1\nexport B = two \nC=\"q \\\"x\\\"\"\nD='single # kept'\nE=v # comment\n", file: "s.env")
        XCTAssertEqual(pairs.map(\.key), ["A", "B", "C", "D", "E"])
        XCTAssertEqual(pairs.map(\.value), ["1", "two", "q \"x\"", "single # kept", "v"])
        XCTAssertThrowsError(try DotEnv.parse("A=1\nnot a pair\n", file: "s.env")) {
            XCTAssertEqual("\($0)", "s.env:2:1: expected KEY=value, found a line without '='")
        }
        XCTAssertThrowsError(try DotEnv.parse("1A=x\n", file: "s.env"))
    }

    func testEnvFilesMeanWhatTheirToolMeans() throws {
        let text = """
            # written for docker compose
            NODE_ENV=production
            DATABASE_URL="postgresql://tme_user:p@ss@db:5432/tme_portal?sslmode=disable"
            export API_TOKEN = 'abc"def' # the token
            GREETING="line one\\nline \\"two\\""
            PLAIN=value with spaces   # comment
            HASH=a#b
            MULTI="first
            second"
            EMPTY=

            """
        let compose = try DotEnv.parse(text, file: ".env", format: .compose)
        XCTAssertEqual(compose.map(\.key), ["NODE_ENV", "DATABASE_URL", "API_TOKEN", "GREETING", "PLAIN", "HASH", "MULTI", "EMPTY"])
        XCTAssertEqual(
            compose.map(\.value),
            [
                "production", "postgresql://tme_user:p@ss@db:5432/tme_portal?sslmode=disable", "abc\"def", "line one\nline \"two\"", "value with spaces",
                "a#b", "first\nsecond", "",
            ])
        // docker run --env-file keeps every character after '=': the quotes are part of the value.
        let docker = try DotEnv.parse("# c\n  DATABASE_URL=\"postgresql://u:p@db/x\"\nPLAIN=v # not a comment\n", file: ".env", format: .docker)
        XCTAssertEqual(docker.map(\.value), ["\"postgresql://u:p@db/x\"", "v # not a comment"])
        XCTAssertThrowsError(try DotEnv.parse("TOKEN\n", file: ".env", format: .docker)) {
            XCTAssertTrue("\($0)".hasPrefix(".env:1:1: 'TOKEN' has no '='"), "\($0)")
        }
        XCTAssertThrowsError(try DotEnv.parse("A=\"never closed\n", file: ".env", format: .compose)) {
            XCTAssertEqual("\($0)", ".env:1:1: the value of A opens a \" quote that is never closed")
        }
        // Rendered for the container's wrapper: single-quoted, nothing interpreted by the shell.
        XCTAssertEqual(DotEnv.shellExports([("A", "it's $HOME `x`\nnext")]), "export A='it'\\''s $HOME `x`\nnext'\n")
    }

    func testSuggestions() {
        XCTAssertEqual(Suggestion.closest(to: "usr", in: ["host", "port", "user"]), "user")
        XCTAssertEqual(Suggestion.closest(to: "know_hosts", in: ["known_hosts", "host"]), "known_hosts")
        XCTAssertNil(Suggestion.closest(to: "zzzzzz", in: ["host", "port"]))
    }
}
