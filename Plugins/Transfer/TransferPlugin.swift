import ArgumentParser
import TMEOpsCore
import TMEOpsHosts

/// SSH sessions, remote commands and verified file transfer over libssh2.
public enum TransferPlugin: Plugin {
    public static let description = PluginDescription(
        id: "transfer",
        summary: "SSH sessions, remote commands and verified file transfer (libssh2).",
        examples: [
            PluginExample("tmeops ssh check -e production", "Connect, verify the host key, and report the user, OS, Docker version and free disk."),
            PluginExample("tmeops ssh exec -e production -- df -h /", "Run one command on the host; its exit status becomes tmeops's."),
            PluginExample(
                "tmeops transfer put release.tar /home/tme-user/release.tar -e production --resume",
                "Upload, resuming a .part file, renamed only once the SHA-256 matches."),
        ])

    public static let commands: [any ParsableCommand.Type] = [SSHCommand.self, TransferCommand.self]
}
