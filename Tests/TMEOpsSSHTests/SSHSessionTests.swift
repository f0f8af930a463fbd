import Foundation
import TMEOpsCrypto
import TMEOpsSSH
import TMEOpsTestSupport
import XCTest

/// Connecting to the sandbox's real OpenSSH server: host keys, identities, agent, failures.
final class SSHSessionSandboxTests: XCTestCase {
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = try TemporaryDirectory.make(prefix: "tmeops-ssh")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    func assertSSHError(_ kind: SSHError.Kind, contains parts: [String], file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard let error = error as? SSHError else { return XCTFail("not an SSHError: \(error)", file: file, line: line) }
            XCTAssertEqual(error.kind, kind, error.message, file: file, line: line)
            for part in parts { XCTAssertTrue(error.message.contains(part), "missing '\(part)' in: \(error.message)", file: file, line: line) }
        }
    }

    func recordedFingerprint(_ sandbox: Sandbox) throws -> String {
        let line = try String(contentsOfFile: sandbox["SANDBOX_HOST_KEY"], encoding: .utf8)
        let blob = try XCTUnwrap(Data(base64Encoded: String(line.split(separator: " ")[1])))
        return SHA256.fingerprint(ofKeyBlob: blob)
    }

    func testConnectsVerifiesAndAuthenticates() throws {
        let sandbox = try Sandbox.require()
        let session = try SSHSession(sandbox.sshOptions())
        defer { session.close() }
        XCTAssertEqual(session.hostKeyDescription, "ED25519 \(try recordedFingerprint(sandbox))")
        XCTAssertEqual(session.authentication, "publickey \(sandbox["SANDBOX_SSH_IDENTITY"])")
        XCTAssertEqual(try session.capture(["id", "-un"]).stdoutText, "\(sandbox["SANDBOX_SSH_USER"])\n")
    }

    func testUnknownHostName() throws {
        let sandbox = try Sandbox.require()
        var options = sandbox.sshOptions()
        options.host = "no-such-host.invalid"
        assertSSHError(.resolve, contains: ["cannot resolve host 'no-such-host.invalid'", "ssh.host"]) { _ = try SSHSession(options) }
    }

    func testClosedPort() throws {
        let sandbox = try Sandbox.require()
        var options = sandbox.sshOptions()
        options.port = 2223
        assertSSHError(.connect, contains: ["port 2223 on \(sandbox["SANDBOX_SSH_HOST"]) is closed"]) { _ = try SSHSession(options) }
    }

    func testUnknownHostKeyIsRefusedUnderStrict() throws {
        let sandbox = try Sandbox.require()
        let knownHosts = scratch.appendingPathComponent("known_hosts").path
        try Data().write(to: URL(fileURLWithPath: knownHosts))
        assertSSHError(.unknownHostKey, contains: ["is not in \(knownHosts)", try recordedFingerprint(sandbox), "host_key_policy is strict"]) {
            _ = try SSHSession(sandbox.sshOptions(knownHosts: knownHosts))
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: knownHosts)), Data(), "strict never writes")
    }

    func testAcceptNewRecordsAnUnknownKeyOnce() throws {
        let sandbox = try Sandbox.require()
        let knownHosts = scratch.appendingPathComponent("sub/known_hosts").path
        let first = try SSHSession(sandbox.sshOptions(knownHosts: knownHosts, policy: .acceptNew))
        first.close()
        let recorded = String(try String(contentsOfFile: sandbox["SANDBOX_KNOWN_HOSTS"], encoding: .utf8).split(separator: "\n")[0]) + "\n"
        XCTAssertEqual(try String(contentsOfFile: knownHosts, encoding: .utf8), recorded)
        // Now known: strict accepts it, and nothing more is appended.
        try SSHSession(sandbox.sshOptions(knownHosts: knownHosts)).close()
        try SSHSession(sandbox.sshOptions(knownHosts: knownHosts, policy: .acceptNew)).close()
        XCTAssertEqual(try String(contentsOfFile: knownHosts, encoding: .utf8), recorded)
    }

    func testChangedHostKeyIsRefusedUnderEveryPolicy() throws {
        let sandbox = try Sandbox.require()
        let other = scratch.appendingPathComponent("other_host_key")
        try ProcessRunner.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", other.path])
        let otherKey = try String(contentsOfFile: other.path + ".pub", encoding: .utf8).split(separator: " ")[1]
        let knownHosts = scratch.appendingPathComponent("known_hosts").path
        try Data("# comment\n\(sandbox["SANDBOX_SSH_HOST"]) ssh-ed25519 \(otherKey)\n".utf8).write(to: URL(fileURLWithPath: knownHosts))
        let otherFingerprint = SHA256.fingerprint(ofKeyBlob: try XCTUnwrap(Data(base64Encoded: String(otherKey))))
        for policy in [SSHConnectionOptions.HostKeyPolicy.strict, .acceptNew] {
            assertSSHError(
                .changedHostKey,
                contains: [
                    "HOST KEY CHANGED for \(sandbox["SANDBOX_SSH_HOST"])", "ED25519 \(try recordedFingerprint(sandbox))", otherFingerprint,
                    "\(knownHosts):2", "ssh-keygen -R",
                ]
            ) {
                _ = try SSHSession(sandbox.sshOptions(knownHosts: knownHosts, policy: policy))
            }
        }
    }

    func testWrongKeyIsRejectedWithWhatWasTried() throws {
        let sandbox = try Sandbox.require()
        let stranger = scratch.appendingPathComponent("id_stranger").path
        try ProcessRunner.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", stranger])
        assertSSHError(
            .authentication, contains: ["cannot log in to \(sandbox["SANDBOX_SSH_USER"])@", "publickey", "identity \(stranger) (rejected by the server)"]
        ) {
            _ = try SSHSession(sandbox.sshOptions(identity: stranger))
        }
    }

    func testPassphraseProtectedKey() throws {
        let sandbox = try Sandbox.require()
        let identity = sandbox["SANDBOX_SSH_PASSPHRASE_IDENTITY"]
        assertSSHError(.identity, contains: [identity, "protected by a passphrase", "TMEOPS_SSH_PASSPHRASE"]) {
            _ = try SSHSession(sandbox.sshOptions(identity: identity))
        }
        var wrong = sandbox.sshOptions(identity: identity)
        wrong.passphrase = "not the passphrase"
        assertSSHError(.authentication, contains: ["identity \(identity) (unusable"]) { _ = try SSHSession(wrong) }
        var right = sandbox.sshOptions(identity: identity)
        right.passphrase = try sandbox.secret("ssh_passphrase")
        let session = try SSHSession(right)
        XCTAssertEqual(session.authentication, "publickey \(identity)")
        session.close()
    }

    func testEveryKeyTypePeopleHaveLogsInDirectly() throws {
        let sandbox = try Sandbox.require()
        XCTAssertTrue(LibSSH2.version.compare("1.11", options: .numeric) != .orderedAscending, "libssh2 \(LibSSH2.version): RSA needs 1.11")
        for identity in [sandbox["SANDBOX_SSH_IDENTITY"], sandbox["SANDBOX_SSH_RSA_IDENTITY"]] {
            let session = try SSHSession(sandbox.sshOptions(identity: identity))
            XCTAssertEqual(session.authentication, "publickey \(identity)")
            XCTAssertEqual(try session.capture(["id", "-un"]).stdoutText, "\(sandbox["SANDBOX_SSH_USER"])\n")
            // The strongest cipher both sides have: authenticated encryption, not CTR with a MAC.
            XCTAssertEqual(session.negotiated.cipher, "chacha20-poly1305@openssh.com")
            session.close()
        }
        var ecdsa = sandbox.sshOptions(identity: sandbox["SANDBOX_SSH_PASSPHRASE_IDENTITY"])
        ecdsa.passphrase = try sandbox.secret("ssh_passphrase")
        XCTAssertEqual(try SSHSession(ecdsa).authentication, "publickey \(sandbox["SANDBOX_SSH_PASSPHRASE_IDENTITY"])")
    }

    func testCiphersCanBeChosenAndAnUnknownListIsNamed() throws {
        let sandbox = try Sandbox.require()
        var options = sandbox.sshOptions()
        options.ciphers = ["aes256-gcm@openssh.com"]
        let session = try SSHSession(options)
        XCTAssertEqual(session.negotiated.cipher, "aes256-gcm@openssh.com")
        session.close()
        options.ciphers = ["rot13"]
        assertSSHError(.library, contains: ["none of ssh.ciphers (rot13)", "chacha20-poly1305@openssh.com"]) { _ = try SSHSession(options) }
    }

    func testAnRSAHostKeyIsVerifiedLikeTheOthers() throws {
        let sandbox = try Sandbox.require()
        var options = sandbox.sshOptions()
        options.port = Int(sandbox["SANDBOX_SSH_NOFORWARD_PORT"]) ?? 2222
        let session = try SSHSession(options)
        XCTAssertTrue(session.hostKeyDescription.hasPrefix("RSA SHA256:"), session.hostKeyDescription)
        session.close()
        // Recorded for another key, the RSA key is a changed key and refused.
        let other = scratch.appendingPathComponent("known_hosts")
        try Data(
            "[\(sandbox["SANDBOX_SSH_HOST"])]:\(options.port) \(try String(contentsOfFile: sandbox["SANDBOX_HOST_KEY"], encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " "))\n"
                .utf8
        )
        .write(to: other)
        options.knownHosts = other.path
        // Known only by its ed25519 key, the host offering an RSA one is a changed host, even for accept-new.
        for policy in [SSHConnectionOptions.HostKeyPolicy.strict, .acceptNew] {
            options.hostKeyPolicy = policy
            assertSSHError(.changedHostKey, contains: ["it offered RSA SHA256:", "records ED25519 SHA256:"]) { _ = try SSHSession(options) }
        }
        XCTAssertEqual(try String(contentsOf: other, encoding: .utf8).split(separator: "\n").count, 1, "accept-new recorded nothing")
    }

    func testAgentAuthentication() throws {
        let sandbox = try Sandbox.require()
        let socket = scratch.appendingPathComponent("agent.sock").path
        // In the foreground (-D), so it holds no pipe of ours open and ends with the test.
        let agent = Process()
        agent.executableURL = URL(fileURLWithPath: "/usr/bin/ssh-agent")
        agent.arguments = ["-D", "-a", socket]
        agent.standardOutput = FileHandle.nullDevice
        agent.standardError = FileHandle.nullDevice
        try agent.run()
        defer { agent.terminate() }
        for _ in 0..<50 where !FileManager.default.fileExists(atPath: socket) { usleep(100_000) }
        // One key at a time in the agent: an ed25519 one, then an RSA one (signed with rsa-sha2 by the agent).
        for identity in [sandbox["SANDBOX_SSH_IDENTITY"], sandbox["SANDBOX_SSH_RSA_IDENTITY"]] {
            _ = try ProcessRunner.run("/usr/bin/ssh-add", ["-D"], environment: ["SSH_AUTH_SOCK": socket])
            let added = try ProcessRunner.run("/usr/bin/ssh-add", [identity], environment: ["SSH_AUTH_SOCK": socket])
            XCTAssertEqual(added.status, 0, added.stderr)
            var options = sandbox.sshOptions()
            options.identity = nil
            options.agentSocket = socket
            let session = try SSHSession(options)
            XCTAssertTrue(session.authentication.hasPrefix("agent "), session.authentication)
            XCTAssertTrue(session.authentication.contains(identity.hasSuffix("rsa") ? "tmeops-sandbox-rsa" : "tmeops-sandbox-client"), session.authentication)
            session.close()
        }
    }
}
