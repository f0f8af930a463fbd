import Foundation
import TMEOpsArchive

/// Writes a docker-archive by hand (manifest, config, one tar per layer), for tests of what tmeops reads
/// from images: links, hard links and whiteouts exactly as a test wants them, with no engine involved.
public enum ImageArchiveFixture {
    /// Writes the archive to `path`; each closure fills one layer, bottom first.
    public static func write(
        to path: String, env: [String] = ["NODE_ENV=production"], workingDir: String? = nil, layers: [(TarWriter) throws -> Void]
    ) throws {
        var layerNames: [String] = []
        var layerData: [Data] = []
        for (index, fill) in layers.enumerated() {
            layerNames.append("layer\(index)/layer.tar")
            layerData.append(try tarData(fill))
        }
        var settings: [String: Any] = ["Env": env]
        if let workingDir { settings["WorkingDir"] = workingDir }
        let config = try JSONSerialization.data(withJSONObject: ["config": settings, "rootfs": ["type": "layers"]])
        let manifest = try JSONSerialization.data(withJSONObject: [["Config": "config.json", "RepoTags": ["fixture:latest"], "Layers": layerNames]])
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        defer { close(fd) }
        let writer = try TarWriter(fd: fd, destination: path)
        try writer.addData("config.json", config)
        for (name, data) in zip(layerNames, layerData) {
            try writer.addDirectory(String(name.split(separator: "/")[0]))
            try writer.addData(name, data)
        }
        try writer.addData("manifest.json", manifest)
        try writer.close()
    }

    /// The bytes of a tar that `fill` writes.
    public static func tarData(_ fill: (TarWriter) throws -> Void) throws -> Data {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tmeops-fixture-\(UUID().uuidString).tar")
        defer { try? FileManager.default.removeItem(at: url) }
        let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let writer = try TarWriter(fd: fd, destination: url.path)
        try fill(writer)
        try writer.close()
        close(fd)
        return try Data(contentsOf: url)
    }
}
