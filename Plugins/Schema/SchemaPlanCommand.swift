import ArgumentParser
import Foundation
import TMEOpsCore
import TMEOpsHosts
import TMEOpsPostgres

/// `tmeops schema plan --from A --to B`.
public struct SchemaPlanCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "SQL that makes one schema equal another, each statement annotated with its hazards.",
        discussion: """
            FROM is the schema to change (production), TO the one it should match (development); each is an \
            environment, a URL or a snapshot file. Statements come in dependency order, each marked with \
            what it risks (deletes data, may fail on existing rows, ACCESS EXCLUSIVE lock, table rewrite, \
            index build, no transaction); for a live FROM, the rows that would violate a new constraint are \
            counted. Transactional statements are grouped in BEGIN … COMMIT; CREATE INDEX CONCURRENTLY stands \
            alone. Before it is printed, the plan is run on a scratch database rebuilt from FROM's schema \
            (on TO's server, else FROM's, else --scratch) and must leave it equal to TO. A plan that deletes \
            data is refused without --allow-hazards deletes-data.

            Examples:
              tmeops schema plan --from production --to development
              tmeops schema plan --from production --to development -o database/migrations/100_production_sync.sql
              tmeops schema plan --from prod.json --to dev.json --scratch development --json
            """)

    @OptionGroup public var globals: GlobalOptions

    @Option(help: "The schema to change (environment, URL or snapshot file).")
    public var from: String

    @Option(help: "The schema it should equal (environment, URL or snapshot file).")
    public var to: String

    @Option(name: .shortAndLong, help: "Write the plan here (a migration file) instead of standard output.", completion: .file(extensions: ["sql"]))
    public var output: String?

    @Option(help: "A database server (environment or URL) for the validation's scratch database, when neither side is a database.")
    public var scratch: String?

    @Option(help: "Accept a plan with these hazards (deletes-data).")
    public var allowHazards: [String] = []

    public init() {}

    public func validate() throws {
        for hazard in allowHazards where SchemaHazard(rawValue: hazard) == nil {
            throw ValidationError("--allow-hazards \(hazard): expected one of \(SchemaHazard.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    public func run(_ context: CommandContext) async throws {
        let (fromSource, toSource, scratchSource, allowed) = (from, to, scratch, Set(allowHazards.compactMap(SchemaHazard.init(rawValue:))))
        let (plan, validatedOn) = try await runBlocking("schema plan") { () -> (SchemaPlan, String?) in
            let left = try SchemaSource.resolve(fromSource, context: context)
            defer { left.session?.close() }
            let right = try SchemaSource.resolve(toSource, context: context)
            defer { right.session?.close() }
            var plan = SchemaPlanner.plan(from: left.snapshot, to: right.snapshot)
            if plan.isEmpty { return (plan, nil) }
            if let session = left.session {
                for index in plan.statements.indices {
                    guard let query = plan.statements[index].violationQuery else { continue }
                    plan.statements[index].violations = Int(try session.connection.query(query).scalar ?? "")
                }
            }
            let losing = plan.statements.filter { $0.hazards.contains(.deletesData) }
            if !losing.isEmpty && !allowed.contains(.deletesData) {
                throw SchemaError(
                    "the plan from \(fromSource) to \(toSource) deletes data: " + losing.map(\.summary).joined(separator: "; ")
                        + "; review it and pass --allow-hazards deletes-data to accept it (take a backup first)")
            }
            var scratchSession = right.session ?? left.session
            var ownScratch: DatabaseSession?
            if scratchSession == nil, let scratchSource {
                ownScratch = try SchemaSource.resolve(scratchSource, context: context).session
                scratchSession = ownScratch
            }
            defer { ownScratch?.close() }
            guard let scratchSession else {
                throw TMEOpsError.usage(
                    "neither \(fromSource) nor \(toSource) is a database, so the plan cannot be validated; name a server with --scratch ENV|URL")
            }
            return (plan, try SchemaPlanValidator.validate(plan, from: left.snapshot, to: right.snapshot, on: scratchSession))
        }
        let out = context.output
        if context.json { return try out.writeJSON(plan) }
        if plan.isEmpty {
            out.line("\(out.green("✓")) \(from) already matches \(to): nothing to plan")
            return
        }
        let text = plan.sql(header: [
            "tmeops schema plan: makes \(from) equal \(to) (\(plan.statements.count) statement\(plan.statements.count == 1 ? "" : "s"))",
            "validated on a scratch database (\(validatedOn ?? "none")): after it, the schemas diff empty",
        ])
        guard let output else {
            out.sink.write(text)
            return
        }
        try AtomicFile.write(Data(text.utf8), to: ConfigLoader.resolve(output, in: context.workingDirectory), overwrite: true, displayPath: output)
        let hazards = plan.hazards.sorted().map(\.explanation)
        out.line(
            "\(out.green("✓")) wrote \(output): \(plan.statements.count) statements" + (hazards.isEmpty ? "" : "; hazards: \(hazards.joined(separator: ", "))"))
        for statement in plan.statements where (statement.violations ?? 0) > 0 {
            out.line("  \(out.red("✗")) \(statement.summary): \(statement.violations!) existing rows violate it")
        }
    }
}
