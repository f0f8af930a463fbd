import Foundation
import Synchronization
import TMEOpsCore
import TMEOpsCrypto
import TMEOpsHosts
import TMEOpsTestSupport
import XCTest

@testable import SchemaPlugin
@testable import TMEOpsPostgres

/// The schema corpus (`Corpus/NN-name/{before,after}.sql`): for each pair, A is built from before.sql and
/// B from after.sql on the development server, the plan A → B is made and validated on a scratch
/// rebuild of A, then applied to A itself, rows and all; A must then diff empty against B.
///
/// Two things are asserted. A plan that validated must apply to the real copy and leave no
/// difference (a validated plan that fails on real data is the one outcome that may never happen).
/// And every case listed in `Corpus/PASSING` must pass, so a kind of object that works stays working;
/// a case not listed may be refused (the plan does not validate), which is safe, and is reported.
final class SchemaCorpusSandboxTests: XCTestCase {
    static var corpus: URL { TMEOpsBinary.packageRoot.appendingPathComponent("Tests/Plugins/SchemaPluginTests/Corpus") }

    enum Outcome: Equatable {
        case passed
        case refused(String)
        case failedAfterValidation(String)
    }

    /// Set to write each case's `diff.txt` from today's report instead of comparing with it.
    static var updatingReports: Bool { ProcessInfo.processInfo.environment["TMEOPS_CORPUS_UPDATE"] == "1" }

    static func run(_ folder: URL) throws -> Outcome {
        let before = try String(contentsOf: folder.appendingPathComponent("before.sql"), encoding: .utf8)
        let after = try String(contentsOf: folder.appendingPathComponent("after.sql"), encoding: .utf8)
        let a = try ScratchDatabase(nil)
        let b = try ScratchDatabase(nil)
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

        // `schema diff`: the report A vs B is the one the case expects.
        let report = SchemaDiff(from: from, to: to).report().joined(separator: "\n") + "\n"
        let expectedReport = folder.appendingPathComponent("diff.txt")
        if updatingReports {
            try report.write(to: expectedReport, atomically: true, encoding: .utf8)
        } else if let expected = try? String(contentsOf: expectedReport, encoding: .utf8), expected != report {
            return .failedAfterValidation("schema diff reports otherwise than diff.txt:\n\(report)")
        } else if !FileManager.default.fileExists(atPath: expectedReport.path) {
            return .failedAfterValidation("diff.txt is missing (TMEOPS_CORPUS_UPDATE=1 writes it)")
        }

        let plan = SchemaPlanner.plan(from: from, to: to)
        let session = DatabaseSession(connection: try PostgresConnection(a.target))
        defer { session.close() }
        do {
            _ = try SchemaPlanValidator.validate(plan, from: from, to: to, on: session)
        } catch {
            return .refused("\(error)")
        }

        // `migrate adopt`: A's ledger says before.sql was applied; the plan is the next migration. Until
        // A has the change, adopt must leave the plan pending.
        let files = [(1, "before", before), (2, "sync", plan.sql(header: ["corpus case \(folder.lastPathComponent)"]))].map { version, name, text in
            let data = Data(text.utf8)
            return MigrationFile(
                version: version, name: name, path: "\(folder.path)/\(String(format: "%03d", version))_\(name).sql", checksum: SHA256.hex(SHA256.digest(data)),
                contents: data)
        }
        try MigrationLedger.ensure(real)
        try MigrationLedger.record(real, file: files[0], milliseconds: 0, success: true, note: "corpus: built from before.sql")
        let environment = "corpus"
        let settings = MigrationRunner.Settings(lockRetries: 1)
        if !plan.isEmpty {
            let early = try MigrationService.adopt(session, environment: environment, files: files, settings: settings, dryRun: true, log: { _ in })
            if early.adopted.contains(2) {
                return .failedAfterValidation("migrate adopt took the plan as applied before A had any of it")
            }
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

        // A changed by hand now has the plan's every change: adopt records it, and only it.
        if !plan.isEmpty && !SchemaDiff(from: from, to: to).isEmpty {
            let adopted = try MigrationService.adopt(session, environment: environment, files: files, settings: settings, dryRun: false, log: { _ in })
            guard adopted.adopted == [2] else {
                return .failedAfterValidation("migrate adopt did not record the applied plan: \(adopted.notReflected)")
            }
            let ledger = try MigrationLedger.entries(real)
            guard ledger.filter(\.success).map(\.version).sorted() == [1, 2] else {
                return .failedAfterValidation("after migrate adopt the ledger holds \(ledger.map(\.version))")
            }
        }
        return .passed
    }

    func testEveryPairOfTheCorpus() throws {
        _ = try Sandbox.require()
        let cases = try FileManager.default.contentsOfDirectory(at: Self.corpus, includingPropertiesForKeys: nil)
            .filter { FileManager.default.fileExists(atPath: $0.appendingPathComponent("before.sql").path) }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
            // TMEOPS_CORPUS=71,72 runs only the cases whose names start so (while working on a kind).
            .filter { folder in
                guard let only = ProcessInfo.processInfo.environment["TMEOPS_CORPUS"] else { return true }
                return only.split(separator: ",").contains { folder.lastPathComponent.hasPrefix(String($0)) }
            }
        if ProcessInfo.processInfo.environment["TMEOPS_CORPUS"] == nil {
            XCTAssertGreaterThanOrEqual(cases.count, 40, "the corpus holds at least 40 pairs")
        }
        let expected = Set(
            (try? String(contentsOf: Self.corpus.appendingPathComponent("PASSING"), encoding: .utf8))?
                .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") } ?? [])
        // Each case has databases of its own, so cases run side by side (three at a time: the server and
        // this machine's two cores are the limit).
        let outcomes = Mutex<[String: Result<Outcome, Error>]>([:])
        DispatchQueue.concurrentPerform(iterations: 3) { worker in
            for folder in cases.enumerated().filter({ $0.offset % 3 == worker }).map(\.element) {
                let outcome = Result { try Self.run(folder) }
                outcomes.withLock { $0[folder.lastPathComponent] = outcome }
            }
        }
        var passed: [String] = []
        var report: [String] = []
        for (name, result) in outcomes.withLock({ $0 }).sorted(by: { $0.key < $1.key }) {
            switch result {
            case .failure(let error):
                XCTFail("\(name): the pair itself could not be built: \(error)")
            case .success(.passed):
                passed.append(name)
            case .success(.refused(let why)):
                report.append("\(name): refused (safe): \(why.prefix(300))")
                XCTAssertFalse(expected.contains(name), "\(name) passed before and is refused now: \(why)")
            case .success(.failedAfterValidation(let why)):
                XCTFail("\(name): \(why)")
                report.append("\(name): FAILED after validation")
            }
        }
        let unexpected = expected.subtracting(cases.map(\.lastPathComponent))
        XCTAssertTrue(
            ProcessInfo.processInfo.environment["TMEOPS_CORPUS"] != nil || unexpected.isEmpty, "PASSING names cases that do not exist: \(unexpected.sorted())")
        print("schema corpus: \(passed.count) of \(cases.count) pairs made equal; \(report.count) refused or failed")
        for line in report { print("  \(line)") }
        print("passing: \(passed.joined(separator: " "))")
    }
}
