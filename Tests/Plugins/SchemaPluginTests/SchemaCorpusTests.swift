import Foundation
import TMEOpsCore
import TMEOpsPostgres
import TMEOpsTestSupport
import XCTest

@testable import SchemaPlugin

/// The schema corpus (`Corpus/NN-name/{before,after}.sql`): for each pair, A is built from before.sql and
/// B from after.sql on the development server, the plan A → B is made and validated on a scratch
/// rebuild of A, then applied to A itself, rows and all; A must then diff empty against B.
///
/// Two things are asserted. A plan that validated must apply to the real copy and leave no
/// difference (a validated plan that fails on real data is the one outcome that may never happen).
/// And every case listed in `Corpus/PASSING` must pass, so a kind of object that works stays working;
/// a case not listed may be refused (the plan does not validate), which is safe, and is reported.
final class SchemaCorpusTests: XCTestCase {
    static var corpus: URL { TMEOpsBinary.packageRoot.appendingPathComponent("Tests/Plugins/SchemaPluginTests/Corpus") }

    enum Outcome: Equatable {
        case passed
        case refused(String)
        case failedAfterValidation(String)
    }

    func run(_ folder: URL) throws -> Outcome {
        let before = try String(contentsOf: folder.appendingPathComponent("before.sql"), encoding: .utf8)
        let after = try String(contentsOf: folder.appendingPathComponent("after.sql"), encoding: .utf8)
        let a = try ScratchDatabase(self)
        let b = try ScratchDatabase(self)
        defer {
            a.drop()
            b.drop()
        }
        try a.connection.execute(before)
        try b.connection.execute(after)
        // From here on as tmeops connects: an empty search_path, every name qualified.
        let real = try PostgresConnection(a.target)
        defer { real.close() }
        let model = try PostgresConnection(b.target)
        defer { model.close() }
        let from = try SchemaIntrospector.snapshot(real)
        let to = try SchemaIntrospector.snapshot(model)
        let plan = SchemaPlanner.plan(from: from, to: to)
        let session = DatabaseSession(connection: try PostgresConnection(a.target))
        defer { session.close() }
        do {
            _ = try SchemaPlanValidator.validate(plan, from: from, to: to, on: session)
        } catch {
            return .refused("\(error)")
        }
        do {
            try SchemaSync.apply(plan, on: real)
        } catch {
            return .failedAfterValidation("applying the validated plan to the real copy failed: \(error)")
        }
        let remaining = SchemaDiff(from: try SchemaIntrospector.snapshot(real), to: to)
        guard remaining.isEmpty else {
            return .failedAfterValidation(
                "after the validated plan, \(remaining.count) differences remain: "
                    + remaining.keyedChanges.prefix(3).map { "\($0.key): \($0.change)" }.joined(separator: "; "))
        }
        return .passed
    }

    func testEveryPairOfTheCorpus() throws {
        _ = try Sandbox.require()
        let cases = try FileManager.default.contentsOfDirectory(at: Self.corpus, includingPropertiesForKeys: nil)
            .filter { FileManager.default.fileExists(atPath: $0.appendingPathComponent("before.sql").path) }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        XCTAssertGreaterThanOrEqual(cases.count, 40, "the corpus holds at least 40 pairs")
        let expected = Set(
            (try? String(contentsOf: Self.corpus.appendingPathComponent("PASSING"), encoding: .utf8))?
                .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") } ?? [])
        var passed: [String] = []
        var report: [String] = []
        for folder in cases {
            let name = folder.lastPathComponent
            let outcome: Outcome
            do {
                outcome = try run(folder)
            } catch {
                XCTFail("\(name): the pair itself could not be built: \(error)")
                continue
            }
            switch outcome {
            case .passed:
                passed.append(name)
            case .refused(let why):
                report.append("\(name): refused (safe): \(why.prefix(300))")
                XCTAssertFalse(expected.contains(name), "\(name) passed before and is refused now: \(why)")
            case .failedAfterValidation(let why):
                XCTFail("\(name): \(why)")
                report.append("\(name): FAILED after validation")
            }
        }
        let unexpected = expected.subtracting(cases.map(\.lastPathComponent))
        XCTAssertTrue(unexpected.isEmpty, "PASSING names cases that do not exist: \(unexpected.sorted())")
        print("schema corpus: \(passed.count) of \(cases.count) pairs made equal; \(report.count) refused or failed")
        for line in report { print("  \(line)") }
        print("passing: \(passed.joined(separator: " "))")
    }
}
