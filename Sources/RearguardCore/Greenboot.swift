import FoundationEssentials
import SystemPackage

/// greenboot compatibility: its check scripts become `command` checks.
public enum Greenboot {
    /// Where greenboot keeps its checks; `/etc` wins over `/usr/lib` for a script of the same name.
    public static let defaultRoots = ["/usr/lib/greenboot/check", "/etc/greenboot/check"]
    /// The deadline of one greenboot script (greenboot itself has none, a known complaint).
    public static let scriptTimeout = Duration.seconds(10)

    /// One `command` check per executable file in `required.d` (required) and `wanted.d` (reported only),
    /// named `greenboot-required-NAME` / `greenboot-wanted-NAME`, in name order.
    public static func checks(roots: [String] = defaultRoots) -> [CheckSpec] {
        var specs: [CheckSpec] = []
        for (folder, isRequired) in [("required.d", true), ("wanted.d", false)] {
            var byName: [String: String] = [:]
            for root in roots {
                let dir = FilePath(root).appending(folder).string
                for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where !name.hasPrefix(".") {
                    let path = FilePath(dir).appending(name).string
                    var isDirectory: Bool = false
                    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory,
                        FileManager.default.isExecutableFile(atPath: path)
                    else { continue }
                    byName[name] = path
                }
            }
            for name in byName.keys.sorted() {
                guard let path = byName[name] else { continue }
                let prefix = isRequired ? "greenboot-required-" : "greenboot-wanted-"
                specs.append(CheckSpec(
                    name: prefix + name, target: .command([path]), required: isRequired, timeout: scriptTimeout,
                    interval: .seconds(60), failureThreshold: 1))
            }
        }
        return specs
    }
}
