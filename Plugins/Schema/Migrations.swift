import Foundation
import TMEOpsCrypto
import TMEOpsPostgres

/// One `NNN_name.sql` file in `migrations.dir`.
public struct MigrationFile: Sendable, Equatable {
    public let version: Int
    public let name: String
    public let path: String
    public let checksum: String
    /// The bytes read once, when the folder was read: what is checksummed, tested and applied are the
    /// same bytes, whatever happens to the file meanwhile.
    public let contents: Data?

    public init(version: Int, name: String, path: String, checksum: String, contents: Data? = nil) {
        self.version = version
        self.name = name
        self.path = path
        self.checksum = checksum
        self.contents = contents
    }

    /// The file's name, `NNN_name.sql`.
    public var fileName: String { (path as NSString).lastPathComponent }
    /// `NNN_name` as the ledger and messages show it.
    public var label: String { String(format: "%03d", version) + "_\(name)" }

    /// The file's text; a file that is not UTF-8 is refused by name.
    public func text() throws -> String {
        guard let data = contents ?? FileManager.default.contents(atPath: path) else { throw SchemaError("cannot read migration \(path)") }
        guard let text = String(data: data, encoding: .utf8) else { throw SchemaError("migration \(fileName) is not UTF-8 text") }
        return text
    }

    /// A file that says `-- tmeops:no-transaction` on a line of its own runs statement by statement
    /// outside a transaction (CREATE INDEX CONCURRENTLY, ALTER TYPE … ADD VALUE before use).
    public static func isNoTransaction(_ text: String) -> Bool {
        text.split(separator: "\n").contains { line in
            // The marker alone, or followed by a space and a remark of the author's.
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            return trimmed == MigrationFile.noTransactionMarker || trimmed.hasPrefix(MigrationFile.noTransactionMarker + " ")
        }
    }

    public static let noTransactionMarker = "-- tmeops:no-transaction"

    /// Reads the folder; files that do not look like migrations are reported, duplicates refused.
    public static func load(folder: URL, displayFolder: String) throws -> [MigrationFile] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else {
            throw SchemaError("migrations folder \(displayFolder) does not exist; create it or set migrations.dir in tmeops.yml")
        }
        var files: [MigrationFile] = []
        for file in names.sorted() where file.hasSuffix(".sql") {
            guard let underscore = file.firstIndex(of: "_"), let version = Int(file[..<underscore]), file[..<underscore].allSatisfy(\.isNumber) else {
                throw SchemaError("\(displayFolder)/\(file) is not named NNN_name.sql; rename it so its version comes first")
            }
            let path = folder.appendingPathComponent(file).path
            let name = String(file[file.index(after: underscore)...].dropLast(4))
            if let clash = files.first(where: { $0.version == version }) {
                throw SchemaError("\(displayFolder)/\(file) and \((clash.path as NSString).lastPathComponent) have the same version \(version); renumber one")
            }
            guard let contents = FileManager.default.contents(atPath: path) else { throw SchemaError("cannot read migration \(displayFolder)/\(file)") }
            files.append(MigrationFile(version: version, name: name, path: path, checksum: SHA256.hex(SHA256.digest(contents)), contents: contents))
        }
        return files.sorted { $0.version < $1.version }
    }
}

/// The ledger table tmeops keeps in the database's own `tmeops` schema.
public enum MigrationLedger {
    public struct Entry: Codable, Sendable, Equatable {
        public let version: Int
        public let name: String
        public let checksum: String

        public let appliedAt: String
        public let success: Bool
    }

    public static let createSQL = """
        CREATE SCHEMA IF NOT EXISTS tmeops;
        CREATE TABLE IF NOT EXISTS tmeops.schema_migrations (
            version integer PRIMARY KEY,
            name text NOT NULL,
            checksum text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
            applied_by text NOT NULL DEFAULT CURRENT_USER,
            execution_ms integer NOT NULL DEFAULT 0,
            success boolean NOT NULL DEFAULT true,
            note text
        );
        CREATE TABLE IF NOT EXISTS tmeops.migration_proofs (
            id bigserial PRIMARY KEY,
            version integer NOT NULL,
            checksum text NOT NULL,
            schema_hash text NOT NULL,
            tested_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
            tested_on text NOT NULL,
            tested_by text NOT NULL DEFAULT CURRENT_USER,
            result text NOT NULL
        );
        """

    /// A `migrate test` result: these file contents were applied to a copy of a database whose schema
    /// hashed to `schemaHash`.
    public struct Proof: Codable, Sendable, Equatable {
        public let version: Int
        public let checksum: String
        public let schemaHash: String
        public let testedAt: String
        public let testedOn: String
        public let result: String
    }

    /// Proofs recorded for the database, newest first; none when the ledger does not exist yet.
    public static func proofs(_ connection: PostgresConnection) throws -> [Proof] {
        guard try connection.query("SELECT pg_catalog.to_regclass('tmeops.migration_proofs') IS NOT NULL").scalar == "t" else { return [] }
        return try connection.query("SELECT version, checksum, schema_hash, tested_at::text, tested_on, result FROM tmeops.migration_proofs ORDER BY id DESC")
            .rows.map {
                Proof(
                    version: Int($0[0] ?? "") ?? 0, checksum: $0[1] ?? "", schemaHash: $0[2] ?? "", testedAt: $0[3] ?? "", testedOn: $0[4] ?? "",
                    result: $0[5] ?? "")
            }
    }

    public static func recordProof(_ connection: PostgresConnection, file: MigrationFile, schemaHash: String, testedOn: String, result: String) throws {
        try ensure(connection)
        try connection.query(
            "INSERT INTO tmeops.migration_proofs (version, checksum, schema_hash, tested_on, result) VALUES ($1, $2, $3, $4, $5)",
            [String(file.version), file.checksum, schemaHash, testedOn, result])
    }

    /// Records `file` as applied (or failed); `note` says how (adopted, untested, ...).
    public static func record(_ connection: PostgresConnection, file: MigrationFile, milliseconds: Int, success: Bool, note: String?) throws {
        try connection.query(
            """
            INSERT INTO tmeops.schema_migrations (version, name, checksum, execution_ms, success, note) VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (version) DO UPDATE SET name = EXCLUDED.name, checksum = EXCLUDED.checksum, applied_at = pg_catalog.now(),
                applied_by = CURRENT_USER, execution_ms = EXCLUDED.execution_ms, success = EXCLUDED.success, note = EXCLUDED.note
            """, [String(file.version), file.name, file.checksum, String(milliseconds), success ? "t" : "f", note])
    }

    /// Creates the ledger if it is missing.
    public static func ensure(_ connection: PostgresConnection) throws {
        try connection.execute(createSQL)
    }

    /// The recorded migrations; none when the ledger does not exist yet.
    public static func entries(_ connection: PostgresConnection) throws -> [Entry] {
        guard try connection.query("SELECT pg_catalog.to_regclass('tmeops.schema_migrations') IS NOT NULL").scalar == "t" else { return [] }
        return try connection.query("SELECT version, name, checksum, applied_at::text, success FROM tmeops.schema_migrations ORDER BY version").rows.map {
            Entry(version: Int($0[0] ?? "") ?? 0, name: $0[1] ?? "", checksum: $0[2] ?? "", appliedAt: $0[3] ?? "", success: $0[4] == "t")
        }
    }
}

/// Files against the ledger: what is applied, pending, missing in the middle, edited, or unknown.
public struct MigrationStatus: Codable, Sendable, Equatable {
    public struct Item: Codable, Sendable, Equatable {
        public let version: Int
        public let name: String
        /// applied, pending, gap, changed, failed, unknown.
        public let state: String
        public let detail: String?
    }

    public var items: [Item] = []

    /// Something an operator must look at before migrating: gaps, edited files, failures, unknown versions.
    public var hasProblems: Bool { items.contains { ["gap", "changed", "failed", "unknown"].contains($0.state) } }

    public init(files: [MigrationFile], ledger: [MigrationLedger.Entry]) {
        let applied = Dictionary(ledger.map { ($0.version, $0) }, uniquingKeysWith: { first, _ in first })
        let highestApplied = ledger.filter(\.success).map(\.version).max() ?? Int.min
        for file in files {
            if let entry = applied[file.version] {
                if !entry.success {
                    items.append(Item(version: file.version, name: file.name, state: "failed", detail: "recorded as failed at \(entry.appliedAt)"))
                } else if entry.checksum != file.checksum {
                    items.append(
                        Item(
                            version: file.version, name: file.name, state: "changed",
                            detail:
                                "edited after it was applied at \(entry.appliedAt) (sha256 was \(entry.checksum.prefix(12)), is \(file.checksum.prefix(12)))"))
                } else {
                    items.append(Item(version: file.version, name: file.name, state: "applied", detail: entry.appliedAt))
                }
            } else if file.version < highestApplied {
                items.append(Item(version: file.version, name: file.name, state: "gap", detail: "not applied, but later version \(highestApplied) is"))
            } else {
                items.append(Item(version: file.version, name: file.name, state: "pending", detail: nil))
            }
        }
        for entry in ledger where !files.contains(where: { $0.version == entry.version }) {
            items.append(Item(version: entry.version, name: entry.name, state: "unknown", detail: "applied at \(entry.appliedAt) but no file has this version"))
        }
        items.sort { $0.version < $1.version }
    }
}
