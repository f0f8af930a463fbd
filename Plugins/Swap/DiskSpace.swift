import Foundation
import TMEOpsCore
import TMEOpsHosts

/// Whether a host has room for what a deploy writes before production changes: the pre-deployment
/// backup in `backups.dir` and, when the host lacks the image, the image in the engine's data folder
/// (about twice its unpacked size while loading: the archive in transit, then the layers). When both
/// folders are on one filesystem, both needs count against its free space together.
public struct DiskSpace: Equatable, Sendable {
    public struct Volume: Equatable, Sendable {
        public var free: UInt64
        /// The mount point, which tells whether two folders share a filesystem.
        public var mount: String

        public init(free: UInt64, mount: String) {
            self.free = free
            self.mount = mount
        }
    }

    public var backups: Volume
    public var backupBytes: UInt64
    public var docker: Volume?
    public var imageBytes: UInt64

    public init(backups: Volume, backupBytes: UInt64, docker: Volume?, imageBytes: UInt64) {
        self.backups = backups
        self.backupBytes = backupBytes
        self.docker = docker
        self.imageBytes = imageBytes
    }

    /// The refusal when something does not fit, naming the folder, what is free and what is needed.
    public func problem(backupsDir: String, dockerRoot: String, host: String) -> String? {
        let imageNeed = imageBytes * 2
        guard let docker, imageNeed > 0 else {
            return backups.free >= backupBytes ? nil : backupProblem(backupsDir, host: host)
        }
        if docker.mount == backups.mount {
            guard backups.free >= backupBytes + imageNeed else {
                return
                    "\(backupsDir) and \(dockerRoot) on \(host) share \(docker.mount), which has \(mib(backups.free)) free; the backup needs about \(mib(backupBytes)) and loading the image about \(mib(imageNeed)); free some space (tmeops backup prune, docker image prune) first"
            }
            return nil
        }
        if backups.free < backupBytes { return backupProblem(backupsDir, host: host) }
        if docker.free < imageNeed {
            return
                "\(dockerRoot) (the Docker engine's data) on \(host) has \(mib(docker.free)) free; loading the image needs about \(mib(imageNeed)) (twice its \(mib(imageBytes)) while it loads); free some space (docker image prune) first"
        }
        return nil
    }

    func backupProblem(_ dir: String, host: String) -> String {
        "\(dir) on \(host) has \(mib(backups.free)) free; the backup needs about \(mib(backupBytes)); free some space (tmeops backup prune) first"
    }

    func mib(_ bytes: UInt64) -> String { "\(bytes >> 20) MiB" }
}

extension DeployTarget {
    /// Free space and mount point of the filesystem holding `path` on the host (`df -P`).
    func freeSpace(_ path: String) throws -> DiskSpace.Volume {
        let output = try session.script(#"df -Pk -- "$1" | awk 'NR == 2 { print $4, $6 }'"#, [path], what: "measuring free space in \(path)")
        let fields = output.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ", maxSplits: 1).map(String.init)
        guard fields.count == 2, let kib = UInt64(fields[0]) else { throw TMEOpsError("cannot read the free space of \(path) on \(state.host)") }
        return DiskSpace.Volume(free: kib * 1024, mount: fields[1])
    }
}
