import ArgumentParser
import Foundation
import TMEOpsCore
import TMEOpsHosts
import TMEOpsPostgres

/// One side of a comparison: an environment, a URL, or a snapshot file.
public enum SchemaSource {
    /// A schema, and the open database it was read from (none for a snapshot file).
    struct Resolved {
        let snapshot: SchemaSnapshot
        let session: DatabaseSession?
    }

    public static func snapshot(_ source: String, context: CommandContext) throws -> SchemaSnapshot {
        let resolved = try resolve(source, context: context)
        resolved.session?.close()
        return resolved.snapshot
    }

    /// Reads `source`'s schema and keeps its database open; the caller closes the session.
    static func resolve(_ source: String, context: CommandContext) throws -> Resolved {
        let session: DatabaseSession
        if source.hasPrefix("postgresql://") || source.hasPrefix("postgres://") {
            let target = try PostgresTarget(url: source)
            if let password = target.password { context.redactor.add(password) }
            session = DatabaseSession(connection: try PostgresConnection(target))
        } else if FileManager.default.fileExists(atPath: ConfigLoader.resolve(source, in: context.workingDirectory).path) {
            let file = ConfigLoader.resolve(source, in: context.workingDirectory)
            return Resolved(snapshot: try SchemaSnapshot.load(try Data(contentsOf: file), file: source), session: nil)
        } else {
            let config = try context.loadConfig(selecting: .named(source))
            session = try Databases.open(try config.environment(source), context: context)
        }
        do {
            return Resolved(snapshot: try SchemaIntrospector.snapshot(session.connection), session: session)
        } catch {
            session.close()
            throw error
        }
    }
}
