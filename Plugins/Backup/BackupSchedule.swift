import ArgumentParser
import Foundation
import TMEOpsCore
import TMEOpsHosts
import TMEOpsSSH

/// `backup schedule`: the job script and a systemd user timer (or a crontab line where there is no
/// systemd user manager) on the host, rendered from Templates/backup/.
public enum BackupSchedule {
    /// "Sun 03:00", "daily 03:00" or "03:00" as systemd OnCalendar and a cron line's first five fields.
    public static func parse(_ text: String) throws -> (onCalendar: String, cron: String) {
        let days = ["mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 0]
        let parts = text.lowercased().split(separator: " ").map(String.init)
        guard (1...2).contains(parts.count), let time = parts.last else {
            throw TMEOpsError.usage("--at \(text): expected \"Sun 03:00\", \"daily 03:00\" or \"03:00\"")
        }
        let clock = time.split(separator: ":").compactMap { Int($0) }
        guard clock.count == 2, (0..<24).contains(clock[0]), (0..<60).contains(clock[1]) else {
            throw TMEOpsError.usage("--at \(text): \(time) is not a time of day (HH:MM)")
        }
        let day = parts.count == 2 ? parts[0] : "daily"
        let hhmm = String(format: "%02d:%02d", clock[0], clock[1])
        if day == "daily" { return ("*-*-* \(hhmm):00", "\(clock[1]) \(clock[0]) * * *") }
        guard let number = days[String(day.prefix(3))] else { throw TMEOpsError.usage("--at \(text): \(day) is not a day (Mon..Sun, or daily)") }
        let name = day.prefix(1).uppercased() + day.dropFirst().prefix(2)
        return ("\(name) *-*-* \(hhmm):00", "\(clock[1]) \(clock[0]) * * \(number)")
    }

    public struct Files: Sendable {
        public var name: String
        public var scriptPath: String
        public var script: String
        public var service: String
        public var timer: String
        public var cronLine: String
    }

    public static func render(_ environment: EnvironmentConfig, config: LoadedConfig, at: String, context: CommandContext) throws -> Files {
        let backups = try environment.require(BackupsConfig.self, for: "scheduled backups")
        let (database, container, user, name) = try BackupService.containerLocation(environment)
        let (onCalendar, cron) = try parse(at)
        let socket = environment.section(DockerConfig.self)?.socket ?? DockerConfig.defaultSocket
        let unit = "tmeops-backup-\(config.app)-\(environment.name)"
        let scriptPath = ".tmeops/\(config.app)/backup-\(environment.name).sh"
        let templates = try Templates.locate(environment: context.environment)
        let q = ShellQuote.quote
        let script = try templates.render(
            "backup/tmeops-backup.sh",
            [
                "app": config.app, "environment": environment.name, "environment_quoted": q(environment.name), "container": q(container), "db_user": q(user),
                "db_name": q(name),
                "db_port": String(database.port), "dir": q(backups.dir), "keep_last": String(backups.keepLast), "keep_daily": String(backups.keepDaily),
                "keep_weekly": String(backups.keepWeekly), "keep_monthly": String(backups.keepMonthly), "docker_host": q("unix://\(socket)"),
                "tmeops_version": TMEOpsVersion.version,
            ])
        let values = ["app": config.app, "environment": environment.name, "script": "%h/\(scriptPath)", "at": at, "on_calendar": onCalendar]
        return Files(
            name: unit, scriptPath: scriptPath, script: script, service: try templates.render("backup/tmeops-backup.service", values),
            timer: try templates.render("backup/tmeops-backup.timer", values), cronLine: "\(cron) \"$HOME\"/\(q(scriptPath)) # \(unit)")
    }

    /// Every crontab line but this schedule's own: the line must *end* with `# <unit>`, so removing
    /// `prod`'s schedule never touches `prod-eu`'s (a substring match would).
    static let otherLines = #"awk -v t=" # $1" '{ n = length($0) - length(t); if (n < 0 || substr($0, n + 1) != t) print }'"#

    /// Installs (or with `remove`, removes) the schedule; returns how ("systemd user timer" or "crontab").
    public static func apply(_ files: Files, session: SSHSession, remove: Bool) throws -> String {
        let systemd = try session.capture(["sh", "-c", "command -v systemctl >/dev/null && systemctl --user show-environment >/dev/null 2>&1"]).exit.succeeded
        let cron = try session.capture(["sh", "-c", "command -v crontab >/dev/null"]).exit.succeeded
        guard systemd || cron else {
            throw TMEOpsError(
                "\(session.options.host) has neither a systemd user manager nor crontab; install cron (apt-get install cron) or enable lingering (loginctl enable-linger)"
            )
        }
        let units = ".config/systemd/user"
        if remove {
            if systemd {
                _ = try session.script(
                    #"systemctl --user disable --now "$1.timer" >/dev/null 2>&1; rm -f -- "$2/$1.timer" "$2/$1.service"; systemctl --user daemon-reload"#,
                    [files.name, units], what: "removing the timer")
            }
            if cron {
                _ = try session.script(##"(crontab -l 2>/dev/null | \##(otherLines)) | crontab -"##, [files.name], what: "removing the crontab line")
            }
            _ = try session.script(#"rm -f -- "$1""#, [files.scriptPath], what: "removing the job script")
            return systemd ? "systemd user timer" : "crontab"
        }
        _ = try session.script(
            #"mkdir -p -m 700 -- "$(dirname -- "$1")" && umask 077 && cat > "$1.part" && chmod 700 "$1.part" && mv -f -- "$1.part" "$1""#, [files.scriptPath],
            stdin: Data(files.script.utf8), what: "installing the job script")
        if systemd {
            _ = try session.script(
                #"mkdir -p -- "$2" && cat > "$2/$1.service""#, [files.name, units], stdin: Data(files.service.utf8), what: "installing the service")
            _ = try session.script(#"cat > "$2/$1.timer""#, [files.name, units], stdin: Data(files.timer.utf8), what: "installing the timer")
            _ = try session.script(#"systemctl --user daemon-reload && systemctl --user enable --now "$1.timer""#, [files.name], what: "enabling the timer")
            return "systemd user timer"
        }
        _ = try session.script(
            ##"(crontab -l 2>/dev/null | \##(otherLines); printf '%s\n' "$2") | crontab -"##, [files.name, files.cronLine], what: "installing the crontab line")
        return "crontab"
    }
}

/// `tmeops backup schedule -e ENV`.
public struct BackupScheduleCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "schedule",
        abstract: "Install a systemd timer (or cron entry) on the host that takes backups with the same layout and retention.",
        discussion: """
            The job script (Templates/backup/tmeops-backup.sh) runs pg_dump in the database container with \
            the host's docker CLI, writes <id>.dump and <id>.json like `backup create` (source: scheduled \
            job; no row counts), applies keep_last/daily/weekly/monthly, and logs to \
            <backups.dir>/scheduled.log, which `backup list` shows. A systemd user timer is used when the \
            host has a user manager, else a crontab line.

            Examples:
              tmeops backup schedule -e production --at "Sun 03:00" --dry-run
              tmeops backup schedule -e production --at "daily 02:30"
              tmeops backup schedule -e production --remove
            """)

    @OptionGroup public var globals: GlobalOptions

    @Option(help: "When: \"Sun 03:00\", \"daily 02:30\" or \"02:30\".")
    public var at: String = "Sun 03:00"

    @Flag(help: "Remove the schedule and its job script.")
    public var remove = false

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let (config, environment) = try context.loadEnvironment()
        let files = try BackupSchedule.render(environment, config: config, at: at, context: context)
        let out = context.output
        if context.dryRun {
            out.line("# ~/\(files.scriptPath)")
            out.sink.write(files.script)
            out.line("\n# ~/.config/systemd/user/\(files.name).service (where the host has a systemd user manager)")
            out.sink.write(files.service)
            out.line("\n# ~/.config/systemd/user/\(files.name).timer")
            out.sink.write(files.timer)
            out.line("\n# or this crontab line")
            out.line(files.cronLine)
            return
        }
        let remove = self.remove
        let how = try await runBlocking("backup schedule") { () -> String in
            let session = try RemoteHost.connect(environment, .database, context: context)
            defer { session.close() }
            return try BackupSchedule.apply(files, session: session, remove: remove)
        }
        out.line(
            remove
                ? "\(out.green("✓")) removed the scheduled backup (\(how)) of \(environment.name)"
                : "\(out.green("✓")) scheduled backups of \(environment.name) at \(at) (\(how)); the job is ~/\(files.scriptPath)")
    }
}
