import Foundation
import TMEOpsCrypto

/// What a finished transfer did.
public struct TransferReport: Sendable, Equatable {
    /// Where the file ended up.
    public let destination: String
    public let bytes: UInt64
    /// Bytes already in place from an earlier attempt (`--resume`).
    public let resumedFrom: UInt64
    /// SHA-256 of the whole file, checked on both ends.
    public let sha256: String
    public let seconds: Double
    /// Bytes that crossed the link (fewer than `bytes - resumedFrom` when compressed).
    public var wireBytes: UInt64 = 0
    /// How the bytes travelled: `gzip`, or nil as they are.
    public var encoding: String?
}

/// Uploads and downloads over one session, with the guarantees an operator needs: the destination
/// only ever holds a complete, verified file.
///
/// Data is written to `NAME.part` and renamed into place only after the SHA-256 of what arrived
/// matches the source. Bytes travel over an exec stream (`tee`/`cat`) rather than SCP, because the
/// stream lets the server hash the data while it is written (the check costs no second pass) and can
/// append to a `.part` for `--resume`, which SCP cannot.
public struct FileTransfer {
    public let session: SSHSession
    /// Called with (bytes done, bytes total) as data moves.
    public var progress: (UInt64, UInt64) -> Void
    /// Whether the server may write and hash with Python 3 when it has it (else `tee | openssl dgst`).
    var serverPython = true
    /// How the bytes travel, chosen once the number of bytes to move is known: nil as they are, or
    /// encoded (compressed) by one end and decoded by the other. Either way the SHA-256 checked is the
    /// file's own.
    public var encoding: (UInt64) -> WireEncoding? = { _ in nil }

    public init(session: SSHSession, progress: @escaping (UInt64, UInt64) -> Void = { _, _ in }) {
        self.session = session
        self.progress = progress
    }

    private var host: String { session.options.host }

    // MARK: - Upload

    /// Copies local file `local` to `remote` on the host.
    ///
    /// - Parameters:
    ///   - remote: A file path, or an existing folder to put the file in under its own name.
    ///   - resume: Continue an existing `.part` if its bytes match the start of the local file.
    ///   - mode: The final file's permissions (0600 for sensitive files); the `.part` is 0600 throughout.
    ///   - createDirectories: Create missing parent folders instead of failing.
    public func upload(_ local: String, to remote: String, resume: Bool = false, mode: Int = 0o644, createDirectories: Bool = false) throws -> TransferReport {
        let started = Date()
        let size = try localRegularFileSize(local)
        let sftp = try SFTPClient(session)
        var target = remote
        // A trailing slash names a folder even before it exists (`put release.tar releases/ --mkdir`).
        if remote.hasSuffix("/") {
            if try sftp.stat(remote) == nil {
                guard createDirectories else {
                    throw SSHError(.transfer, "remote folder \(remote) does not exist on \(host); create it first or pass --mkdir")
                }
                try sftp.makeDirectories(remote)
            }
            target = (remote as NSString).appendingPathComponent((local as NSString).lastPathComponent)
        } else if let info = try sftp.stat(remote), info.isDirectory {
            target = (remote as NSString).appendingPathComponent((local as NSString).lastPathComponent)
        }
        let folder = (target as NSString).deletingLastPathComponent.isEmpty ? "." : (target as NSString).deletingLastPathComponent
        if try sftp.stat(folder) == nil {
            guard createDirectories else {
                throw SSHError(.transfer, "remote folder \(folder) does not exist on \(host); create it first or pass --mkdir")
            }
            try sftp.makeDirectories(folder)
        }
        if let info = try sftp.stat(target), info.isDirectory {
            throw SSHError(.transfer, "\(target) on \(host) is a folder; name a file")
        }
        let part = target + ".part"

        var offset: UInt64 = 0
        if resume, let existing = try sftp.stat(part), existing.isRegularFile, existing.size > 0, existing.size <= size {
            let remotePrefix = try remoteHash(of: part)
            if remotePrefix == (try SHA256.hexOfFile(atPath: local, limit: existing.size)) {
                offset = existing.size
                session.logger.info("resuming \(part) after \(existing.size) bytes that match the local file")
            } else {
                session.logger.warning("\(part) does not match the start of \(local); uploading it again from the beginning")
            }
        }

        // The bytes land in the .part (never readable by others). A fresh upload is hashed on the server
        // as it is written (tee feeds OpenSSL, or coreutils' sha256sum where there is no OpenSSL), so
        // verifying costs no second pass over the file; the size of what reached the disk is checked too
        // (a full disk truncates the file, not the stream). A resumed one is hashed whole afterwards.
        let quotedPart = ShellQuote.quote(part.hasPrefix("/") ? part : "./" + part)
        let shortWrite = "the file on the server holds fewer bytes than were sent (is its disk full?)"
        // Encoded bytes pass through the server's decoder first (a fixed command of the encoding's).
        let encoding = self.encoding(size - offset)
        let decode = encoding.map { "\($0.serverDecoder) | " } ?? ""
        let script =
            offset > 0
            ? "umask 077 && \(encoding?.serverDecoder ?? "cat") >> \(quotedPart) && { openssl dgst -sha256 -r \(quotedPart) 2>/dev/null || sha256sum \(quotedPart); }"
            : "umask 077; if \(serverPython ? "command -v python3 >/dev/null 2>&1" : "false"); then \(decode)python3 -c \(ShellQuote.quote(Self.writeAndHash)) \(quotedPart) \(size); exit $?; fi; "
                + "command -v openssl >/dev/null 2>&1 && h='openssl dgst -sha256 -r' || h=sha256sum; "
                + "\(decode)tee -- \(quotedPart) | $h && [ \"$(wc -c < \(quotedPart))\" -eq \(size) ] || { echo \(ShellQuote.quote(shortWrite)) >&2; exit 1; }"
        let wholeHash = SHA256()
        if offset > 0 { try feed(wholeHash, fromFile: local, limit: offset) }
        var sent = offset
        progress(sent, size)
        // The local file is read and hashed on a thread of its own, beside the one that encrypts and sends.
        let source = try PrefetchingFileSource(path: local, offset: offset, hasher: wholeHash)
        defer { source.cancel() }
        let encoded = try encoding.map { EncodingSource(source, coder: try $0.makeEncoder()) }
        var wire: UInt64 = 0
        let output: RemoteOutput
        do {
            var out = Data()
            var err = Data()
            let exit = try session.runScript(
                script, display: "cat > \(part)", stdin: encoded ?? source, timeout: nil,
                stdout: { out.append(contentsOf: $0) }, stderr: { err.append(contentsOf: $0) },
                onInput: { count in
                    wire += UInt64(count)
                    // Progress counts the file's bytes, however many travel for them.
                    sent = offset + (encoded?.consumed ?? wire)
                    progress(sent, size)
                })
            output = RemoteOutput(exit: exit, stdout: out, stderr: err)
        } catch let error as SSHError {
            throw SSHError(
                error.kind,
                "\(error.message); \(sent) of \(size) bytes were sent and kept in \(part) (the destination is untouched); run again with --resume to continue")
        } catch {
            throw SSHError(.transfer, "upload of \(local) to \(host):\(part) failed: \(error); \(target) is untouched")
        }
        let problem = output.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)
        let remoteHash = String(output.stdoutText.prefix(64))
        guard output.exit.succeeded, remoteHash.count == 64, remoteHash.allSatisfy(\.isHexDigit) else {
            let arrived = try sftp.stat(part)?.size ?? 0
            let reason = problem.isEmpty ? "\(arrived) of \(size) bytes arrived (\(output.exit))" : problem
            throw SSHError(
                .transfer, "upload of \(local) to \(host):\(part) failed: \(reason); \(target) is untouched and what arrived is kept in \(part) for --resume")
        }
        let localHash = try source.finishHash()
        guard remoteHash == localHash else {
            throw SSHError(.verification, "\(part) on \(host) has SHA-256 \(remoteHash), but \(local) has \(localHash); \(target) is untouched")
        }
        try finish(
            script: "chmod \(String(mode, radix: 8)) -- \(ShellQuote.quote(part)) && mv -f -- \(ShellQuote.quote(part)) \(ShellQuote.quote(target))",
            what: "move \(part) into place")
        return TransferReport(
            destination: target, bytes: size, resumedFrom: offset, sha256: localHash, seconds: Date().timeIntervalSince(started), wireBytes: wire,
            encoding: encoding?.name)
    }

    // MARK: - Download

    /// The server's side of a fresh upload where it has Python 3: one process reads what arrives in
    /// 1 MiB blocks, writes each to the file and hashes it (OpenSSL's SHA-256 through hashlib), then
    /// checks the size. Measured on a two-core machine, it costs about half of `tee | openssl dgst`,
    /// whose 8 KiB copies through two pipes compete with the encryption for the same cores; servers
    /// without Python get the `tee` pipeline.
    static let writeAndHash = """
        import hashlib, os, sys
        path, size = sys.argv[1], int(sys.argv[2])
        digest, block = hashlib.sha256(), bytearray(1 << 20)
        view, source = memoryview(block), sys.stdin.buffer.raw
        written = 0
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            while True:
                count = source.readinto(block)
                if not count:
                    break
                digest.update(view[:count])
                rest = view[:count]
                while rest:
                    rest = rest[os.write(fd, rest):]
                written += count
            os.close(fd)
        except OSError as error:
            sys.exit("writing %s on the server failed: %s" % (path, error.strerror))
        if written != size:
            sys.exit("the file on the server holds fewer bytes than were sent (is its disk full?)")
        print(digest.hexdigest())
        """

    /// Copies `remote` from the host to local path `local` (a file path, or an existing folder).
    public func download(_ remote: String, to local: String, resume: Bool = false, mode: Int = 0o644) throws -> TransferReport {
        let started = Date()
        let sftp = try SFTPClient(session)
        guard let info = try sftp.stat(remote) else { throw SSHError(.transfer, "\(remote) does not exist on \(host)") }
        guard info.isRegularFile else { throw SSHError(.transfer, "\(remote) on \(host) is not a regular file") }
        var target = local
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: local, isDirectory: &isDirectory), isDirectory.boolValue {
            target = (local as NSString).appendingPathComponent((remote as NSString).lastPathComponent)
        }
        let folder = (target as NSString).deletingLastPathComponent
        if !folder.isEmpty, !FileManager.default.fileExists(atPath: folder) {
            throw SSHError(.transfer, "local folder \(folder) does not exist; create it first")
        }
        let part = target + ".part"
        let size = info.size

        var offset: UInt64 = 0
        let wholeHash = SHA256()
        if resume, let existing = try? localRegularFileSize(part), existing > 0, existing <= size {
            let local = try SHA256.hexOfFile(atPath: part)
            let prefixScript = "head -c \(existing) -- \(ShellQuote.quote(remote)) | sha256sum"
            let remotePrefix = String(
                try session.captureScript(prefixScript, display: "sha256 of the first \(existing) bytes of \(remote)").stdoutText.prefix(64))
            if remotePrefix == local {
                offset = existing
                try feed(wholeHash, fromFile: part)
                session.logger.info("resuming \(part) after \(existing) bytes that match \(remote)")
            } else {
                session.logger.warning("\(part) does not match the start of \(remote); downloading it again from the beginning")
            }
        }

        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (offset > 0 ? O_APPEND : O_TRUNC)
        let fd = open(part, flags, 0o600)
        guard fd >= 0 else { throw SSHError(.transfer, "cannot write \(part): \(String(cString: strerror(errno)))") }
        var fdOpen = true
        defer { if fdOpen { close(fd) } }

        // The server hashes the whole file beside the stream (stderr), so verification costs no extra pass.
        let quoted = ShellQuote.quote(remote)
        let encoding = self.encoding(size - offset)
        let reader = (offset > 0 ? "tail -c +\(offset + 1) -- \(quoted)" : "cat -- \(quoted)") + (encoding.map { " | \($0.serverEncoder)" } ?? "")
        let script = "sha256sum -- \(quoted) >&2 & \(reader); status=$?; wait $! || exit 1; exit $status"
        var received = offset
        var wire: UInt64 = 0
        var errors = Data()
        progress(received, size)
        let decoder = try encoding?.makeDecoder()
        let store: (UnsafeRawBufferPointer) throws -> Void = { chunk in
            if let code = Descriptor.writeAll(chunk, to: fd) {
                throw SSHError(.transfer, "cannot write \(part): \(String(cString: strerror(code)))")
            }
            wholeHash.update(chunk)
            received += UInt64(chunk.count)
            progress(received, size)
        }
        let exit: RemoteExit
        do {
            exit = try session.runScript(
                script, display: "cat \(remote)", stdin: nil, timeout: nil,
                stdout: { chunk in
                    wire += UInt64(chunk.count)
                    if let decoder { try decoder.process(chunk, emit: store) } else { try store(chunk) }
                }, stderr: { errors.append(contentsOf: $0) })
            if exit.succeeded { try decoder?.finish(emit: store) }
        } catch let error as SSHError {
            throw SSHError(error.kind, "\(error.message); \(received) of \(size) bytes were kept in \(part); run again with --resume to continue")
        } catch {
            throw SSHError(
                .transfer,
                "download of \(host):\(remote) failed: \(error); \(received) of \(size) bytes were kept in \(part); run again with --resume to continue")
        }
        guard fsync(fd) == 0 else { throw SSHError(.transfer, "cannot write \(part): \(String(cString: strerror(errno)))") }
        close(fd)
        fdOpen = false
        let errorText = String(decoding: errors, as: UTF8.self)
        let hashLine = errorText.split(separator: "\n").first { (line: Substring) in line.count > 64 && line.prefix(64).allSatisfy(\.isHexDigit) }
        let remoteHash = hashLine.map { String($0.prefix(64)) }
        guard exit.succeeded, received == size, let remoteHash else {
            throw SSHError(
                .transfer,
                "download of \(host):\(remote) failed (\(exit), \(received) of \(size) bytes): \(errorText.trimmingCharacters(in: .whitespacesAndNewlines)); \(target) is untouched"
            )
        }
        let localHash = wholeHash.finishHex()
        guard localHash == remoteHash else {
            throw SSHError(
                .verification, "the SHA-256 of the downloaded \(part) (\(localHash)) differs from \(remote) on \(host) (\(remoteHash)); \(target) is untouched")
        }
        chmod(part, mode_t(mode))
        guard rename(part, target) == 0 else { throw SSHError(.transfer, "cannot move \(part) to \(target): \(String(cString: strerror(errno)))") }
        return TransferReport(
            destination: target, bytes: size, resumedFrom: offset, sha256: localHash, seconds: Date().timeIntervalSince(started), wireBytes: wire,
            encoding: encoding?.name)
    }

    // MARK: - Helpers

    private func localRegularFileSize(_ path: String) throws -> UInt64 {
        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: URL(fileURLWithPath: path).resolvingSymlinksInPath().path)
        } catch {
            throw SSHError(.transfer, "cannot read \(path): no such file, or no permission")
        }
        guard attributes[.type] as? FileAttributeType == .typeRegular else { throw SSHError(.transfer, "\(path) is not a regular file") }
        return (attributes[.size] as? NSNumber)?.uint64Value ?? 0
    }

    private func remoteHash(of path: String) throws -> String {
        let output = try session.capture(["sha256sum", "--", path])
        guard output.exit.succeeded else {
            throw SSHError(.transfer, "cannot hash \(path) on \(host): \(output.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return String(output.stdoutText.prefix(64))
    }

    private func finish(script: String, what: String) throws {
        let output = try session.captureScript(script, display: what)
        guard output.exit.succeeded else {
            throw SSHError(.transfer, "cannot \(what) on \(host): \(output.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }

    private func feed(_ hasher: SHA256, fromFile path: String, limit: UInt64? = nil) throws {
        do {
            try hasher.update(contentsOfFile: path, limit: limit)
        } catch {
            throw SSHError(.transfer, "cannot read \(path)")
        }
    }
}
