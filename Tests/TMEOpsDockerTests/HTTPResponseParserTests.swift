import Foundation
import XCTest

@testable import TMEOpsDocker

/// The response parser, tested as a parser: every split point, malformed and oversized input.
final class HTTPResponseParserTests: XCTestCase {
    /// Parses `raw` fed in pieces of `step` bytes; returns (head, body, ended).
    func parse(_ raw: String, step: Int = .max, headRequest: Bool = false, close: Bool = true) throws -> (HTTPResponseParser.Head?, String, Bool) {
        var parser = HTTPResponseParser(headRequest: headRequest)
        var head: HTTPResponseParser.Head?
        var body = Data()
        var ended = false
        let bytes = Array(raw.utf8)
        var index = 0
        func handle(_ events: [HTTPResponseParser.Event]) {
            for event in events {
                switch event {
                case .head(let h): head = h
                case .body(let chunk): body.append(chunk)
                case .end: ended = true
                }
            }
        }
        while index < bytes.count {
            let end = min(bytes.count, index + max(1, step))
            handle(try parser.feed(Data(bytes[index..<end])))
            index = end
        }
        if close, !parser.isDone { handle(try parser.finish()) }
        return (head, String(decoding: body, as: UTF8.self), ended)
    }

    let chunked =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        + "7\r\n{\"a\":1}\r\n" + "1;ext=1\r\n\n\r\n" + "10\r\n{\"stream\":\"hi\"}\n\r\n" + "0\r\nX-Trailer: t\r\n\r\n"

    func testContentLengthChunkedAndCloseDelimitedAtEverySplit() throws {
        let fixed = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nApi-Version: 1.41\r\n\r\nhello"
        let untilClose = "HTTP/1.0 200 OK\r\nServer: Docker\r\n\r\nstreamed until the end"
        for step in 1...fixed.utf8.count {
            let (head, body, ended) = try parse(fixed, step: step, close: false)
            XCTAssertEqual(head?.status, 200)
            XCTAssertEqual(head?.headers["api-version"], "1.41")
            XCTAssertEqual(body, "hello", "step \(step)")
            XCTAssertTrue(ended)
        }
        for step in 1...chunked.utf8.count {
            let (head, body, ended) = try parse(chunked, step: step, close: false)
            XCTAssertEqual(head?.headers["transfer-encoding"], "chunked")
            XCTAssertEqual(body, "{\"a\":1}\n{\"stream\":\"hi\"}\n", "step \(step)")
            XCTAssertTrue(ended, "step \(step)")
        }
        for step in [1, 3, 7, 1000] {
            let (_, body, ended) = try parse(untilClose, step: step)
            XCTAssertEqual(body, "streamed until the end")
            XCTAssertTrue(ended)
        }
    }

    func testResponsesWithoutBodies() throws {
        XCTAssertEqual(try parse("HTTP/1.1 204 No Content\r\n\r\n", close: false).2, true)
        XCTAssertEqual(try parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", headRequest: true, close: false).2, true)
        XCTAssertEqual(try parse("HTTP/1.1 304 Not Modified\r\n\r\n", close: false).1, "")
        let (head, body, _) = try parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok", close: false)
        XCTAssertEqual(head?.status, 201, "1xx interim responses are skipped")
        XCTAssertEqual(body, "ok")
    }

    func testRepeatedHeadersAreJoinedAndNamesFolded() throws {
        let (head, _, _) = try parse("HTTP/1.1 200 OK\r\nX-A: 1\r\nx-a: 2\r\nContent-Length: 0\r\n\r\n", close: false)
        XCTAssertEqual(head?.headers["x-a"], "1, 2")
    }

    func testMalformedInputIsRejected() {
        let cases: [(String, HTTPResponseParser.Failure)] = [
            ("HTTX/1.1 200 OK\r\n\r\n", .malformedStatusLine("HTTX/1.1 200 OK")),
            ("HTTP/1.1 2000 OK\r\n\r\n", .malformedStatusLine("HTTP/1.1 2000 OK")),
            ("HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n", .malformedHeader("No colon here")),
            ("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", .malformedHeader("Bad Name: x")),
            ("HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\n", .malformedHeader("content-length: -3")),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", .malformedChunkSize("zz")),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", .malformedChunkSize("X")),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n", .malformedChunkSize("ffffffffffffffffff")),
        ]
        for (raw, expected) in cases {
            XCTAssertThrowsError(try parse(raw), raw) { XCTAssertEqual($0 as? HTTPResponseParser.Failure, expected, raw) }
        }
    }

    func testTruncatedResponsesAreReported() {
        XCTAssertThrowsError(try parse("")) { XCTAssertEqual($0 as? HTTPResponseParser.Failure, .truncated("waiting for a response")) }
        XCTAssertThrowsError(try parse("HTTP/1.1 200 OK\r\nContent-Le")) {
            XCTAssertEqual($0 as? HTTPResponseParser.Failure, .truncated("the response headers"))
        }
        XCTAssertThrowsError(try parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")) {
            XCTAssertEqual($0 as? HTTPResponseParser.Failure, .truncated("the response body"))
        }
        XCTAssertThrowsError(try parse(String(chunked.dropLast(8)))) { XCTAssertEqual($0 as? HTTPResponseParser.Failure, .truncated("the response body")) }
    }

    func testOversizedHeadersAreRefusedButLongBodiesAreNot() throws {
        let endless = "HTTP/1.1 200 OK\r\nX: " + String(repeating: "a", count: 70_000)
        XCTAssertThrowsError(try parse(endless, close: false)) { XCTAssertEqual($0 as? HTTPResponseParser.Failure, .headersTooLarge(65536)) }
        let many = "HTTP/1.1 200 OK\r\n" + String(repeating: "X-Header: value\r\n", count: 5000)
        XCTAssertThrowsError(try parse(many, close: false)) { XCTAssertEqual($0 as? HTTPResponseParser.Failure, .headersTooLarge(65536)) }
        // A long chunked stream (thousands of chunk-size lines) is body, not headers.
        var stream = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        for _ in 0..<20_000 { stream += "4\r\nabcd\r\n" }
        stream += "0\r\n\r\n"
        let (_, body, ended) = try parse(stream, step: 4096, close: false)
        XCTAssertEqual(body.count, 80_000)
        XCTAssertTrue(ended)
        // A large fixed-length body in big pieces.
        let big = String(repeating: "z", count: 8 << 20)
        XCTAssertEqual(try parse("HTTP/1.1 200 OK\r\nContent-Length: \(big.utf8.count)\r\n\r\n" + big, step: 1 << 20, close: false).1.count, 8 << 20)
    }

    func testMultiplexedFramesAtEverySplit() throws {
        var raw = Data([1, 0, 0, 0, 0, 0, 0, 3]) + Data("out".utf8)
        raw += Data([2, 0, 0, 0, 0, 0, 0, 4]) + Data("err!".utf8)
        raw += Data([1, 0, 0, 0, 0, 0, 0, 0])
        for step in 1...raw.count {
            var decoder = MultiplexedStreamDecoder()
            var frames: [(MultiplexedStreamDecoder.Stream, Data)] = []
            var index = 0
            while index < raw.count {
                frames += try decoder.feed(raw[index..<min(raw.count, index + step)])
                index += step
            }
            try decoder.finish()
            XCTAssertEqual(frames.map(\.0), [.stdout, .stderr, .stdout])
            XCTAssertEqual(frames.map { String(decoding: $0.1, as: UTF8.self) }, ["out", "err!", ""])
        }
        var bad = MultiplexedStreamDecoder()
        XCTAssertThrowsError(try bad.feed(Data([7, 0, 0, 0, 0, 0, 0, 1, 65])))
        var short = MultiplexedStreamDecoder()
        _ = try short.feed(Data([1, 0, 0, 0, 0, 0, 0, 9, 65]))
        XCTAssertThrowsError(try short.finish()) { XCTAssertEqual($0 as? MultiplexedStreamDecoder.Failure, .truncated(9)) }
    }

    func testJSONStreamSplitsObjectsHoweverTheyArrive() {
        let text =
            #"{"stream":"Step 1/2 : FROM x\n"}{"stream":"a } in \" a string {"}"# + "\r\n" + #"{"aux":{"ID":"sha256:abc"}}"# + "\n"
            + #"{"errorDetail":{"message":"boom"},"error":"boom"}"#
        for step in 1...text.utf8.count {
            var decoder = JSONStreamDecoder()
            var objects: [Data] = []
            let bytes = Array(text.utf8)
            var index = 0
            while index < bytes.count {
                objects += decoder.feed(Data(bytes[index..<min(bytes.count, index + step)]))
                index += step
            }
            XCTAssertEqual(objects.count, 4, "step \(step)")
            XCTAssertEqual(decoder.remainder, "")
            let messages = objects.compactMap { try? JSONDecoder().decode(DockerStreamMessage.self, from: $0) }
            XCTAssertEqual(messages[1].stream, "a } in \" a string {")
            XCTAssertEqual(messages[2].aux?.id, "sha256:abc")
            XCTAssertEqual(messages[3].errorMessage, "boom")
        }
        var partial = JSONStreamDecoder()
        XCTAssertEqual(partial.feed(Data(#"{"stream":"unfinished"#.utf8)), [])
        XCTAssertEqual(partial.remainder, #"{"stream":"unfinished"#)
    }

    func testQueryAndFilterEncoding() {
        XCTAssertEqual(DockerEngine.queryString([("t", "app:v1"), ("buildargs", #"{"A":"b c"}"#)]), "?t=app%3Av1&buildargs=%7B%22A%22%3A%22b%20c%22%7D")
        XCTAssertEqual(DockerEngine.filters(["label": ["test=true"], "until": ["48h"]]).1, #"{"label":["test=true"],"until":["48h"]}"#)
    }
}
