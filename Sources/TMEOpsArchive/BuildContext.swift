import Foundation

/// Writes a Docker build context as a tar stream, honouring `.dockerignore` as the docker CLI does.
public enum BuildContext {
    public struct Summary: Sendable, Equatable {
        public var files = 0
        public var directories = 0
        public var bytes: Int64 = 0
        public var excluded = 0

        public init() {}
    }

    /// Walks `directory` in sorted order and writes every entry `.dockerignore` keeps (the Dockerfile and
    /// `.dockerignore` always stay; `.tmeops/` always goes), with uid/gid 0 and a fixed modification time.
    public static func write(directory: URL, dockerfile: String = "Dockerfile", to writer: TarWriter) throws -> Summary {
        let root = directory.standardizedFileURL.path
        let ignoreText = (try? String(contentsOfFile: root + "/.dockerignore", encoding: .utf8)) ?? ""
        // tmeops's own folder holds secrets.env and never goes to a build, whatever .dockerignore says.
        let rules = DockerIgnore(text: ignoreText).keeping([PathPattern.clean(dockerfile), ".dockerignore"]).excluding([".tmeops"])
        var summary = Summary()
        try walk(root: root, relative: "", rules: rules, writer: writer, summary: &summary)
        return summary
    }

    private static func walk(root: String, relative: String, rules: DockerIgnore, writer: TarWriter, summary: inout Summary) throws {
        let absolute = relative.isEmpty ? root : root + "/" + relative
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: absolute).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        } catch {
            throw ArchiveError(.io, "cannot read the build context folder \(absolute): \(error.localizedDescription)")
        }
        for name in names {
            let path = relative.isEmpty ? name : relative + "/" + name
            let full = root + "/" + path
            var status = stat()
            guard lstat(full, &status) == 0 else { throw ArchiveError(.io, "cannot read \(full): \(String(cString: strerror(errno)))") }
            let type = UInt32(status.st_mode) & FileType.mask
            let excluded = rules.excludes(path)
            if excluded { summary.excluded += 1 }
            switch type {
            case FileType.directory:
                if !excluded {
                    try writer.addDirectory(path, mode: UInt32(status.st_mode) & 0o7777)
                    summary.directories += 1
                }
                if !excluded || rules.mayReinclude(under: path) {
                    try walk(root: root, relative: path, rules: rules, writer: writer, summary: &summary)
                }
            case FileType.regular where !excluded:
                try writer.addFile(path, from: full, mode: UInt32(status.st_mode) & 0o7777, size: Int64(status.st_size))
                summary.files += 1
                summary.bytes += Int64(status.st_size)
            case FileType.symlink where !excluded:
                let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: full)) ?? ""
                try writer.addSymlink(path, target: target)
                summary.files += 1
            default:
                continue  // Sockets, devices and FIFOs have no place in a build context.
            }
        }
    }
}
