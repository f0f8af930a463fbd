import ArgumentParser
import TMEOpsCore
import TMEOpsHosts

/// Image build, save, verify and delta push through the Docker Engine API and libarchive.
public enum ImagePlugin: Plugin {
    public static let description = PluginDescription(
        id: "image",
        summary: "Build, save, verify and push images through the Docker Engine API (no docker CLI).",
        examples: [
            PluginExample("tmeops image build", "Build from build.context, tagged IMAGE:YYYYMMDD-HHMMSS and IMAGE:latest."),
            PluginExample(
                "tmeops image push tme-portal-server:latest -e production", "Send only the layers the server lacks, streamed into its Docker engine over SSH."),
            PluginExample("tmeops image verify tme-portal-server:latest", "Check build.require paths exist and build.forbid globs do not."),
        ])

    public static let commands: [any ParsableCommand.Type] = [ImageCommand.self]
}
