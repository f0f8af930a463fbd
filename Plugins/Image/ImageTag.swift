import Foundation

/// The runbook's tags: `IMAGE:YYYYMMDD-HHMMSS` for a release, `backup-YYYYMMDD-HHMMSS` for the image
/// production ran before a deploy.
public enum ImageTag {
    public static func timestamp(_ date: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        return formatter.string(from: date)
    }
}
