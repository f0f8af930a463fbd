import ArgumentParser
import Foundation
import TMEOpsCore
import TMEOpsDocker
import TMEOpsPostgres
import TMEOpsSSH

/// The host layer: the config sections every plugin reads about the app and an environment's servers
/// (`build`, `ssh`, `docker`, `app`, `database`, `health`, `backups`, `protected`), registered
/// once (the binary and the test harness register it before the plugins). It adds no commands.
public enum HostLayer: Plugin {
    public static let description = PluginDescription(
        id: "hosts",
        summary: "The app's build and the servers an environment runs on: SSH, Docker engine, app container, database, health, backups")
    public static let commands: [any ParsableCommand.Type] = []
    public static let configSections: [any ConfigSection.Type] = [
        BuildConfig.self, SSHConfig.self, DockerConfig.self, AppContainerConfig.self, DatabaseConfig.self, HealthConfig.self, BackupsConfig.self,
        ProtectedConfig.self, TransferConfig.self,
    ]
}
