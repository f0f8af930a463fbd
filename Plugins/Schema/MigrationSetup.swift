import ArgumentParser
import Foundation
import TMEOpsCore
import TMEOpsHosts
import TMEOpsPostgres

/// The migrations folder and files of the loaded config, and the runner settings.
public struct MigrationSetup: Sendable {
    public let files: [MigrationFile]
    public let settings: MigrationRunner.Settings
    public let config: MigrationsConfig

    public init(_ config: LoadedConfig) throws {
        let (folderText, folder) = MigrationsConfig.folder(of: config)
        files = try MigrationFile.load(folder: folder, displayFolder: folderText)
        self.config = config.section(MigrationsConfig.self) ?? MigrationsConfig()
        settings = MigrationRunner.Settings(self.config)
    }
}
