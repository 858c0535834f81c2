import FoundationEssentials

/// What Zincati's own drop-ins say about the fleet, read as Zincati reads them (the layering Rearguard's own config
/// uses, `ConfigLoader.fragmentFiles`): `*.toml` in each folder, a later folder's file of the same name replacing an
/// earlier one, then all names in lexical order, later keys winning. Unreadable files are skipped (Zincati itself
/// would refuse to start on them, which the admin sees there).
public enum ZincatiConfig {
    /// The keys Rearguard follows.
    public struct Fleet: Sendable, Equatable {
        /// `updates.strategy` (`immediate`, `periodic`, `fleet_lock`).
        public var strategy: String?
        /// `updates.fleet_lock.base_url`.
        public var baseURL: String?
        /// `identity.group`.
        public var group: String?

        public init(strategy: String? = nil, baseURL: String? = nil, group: String? = nil) {
            self.strategy = strategy
            self.baseURL = baseURL
            self.group = group
        }
    }

    /// Zincati's application id: the app-specific machine id for it is the node id a FleetLock server sees.
    public static let appID = "de35106b6ec24688b63afddaa156679b"

    /// Reads the fleet keys from `directories`.
    public static func read(directories: [String]) -> Fleet {
        var fleet = Fleet()
        for path in (try? ConfigLoader.fragmentFiles(in: directories)) ?? [] {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8), let table = try? TOMLTable(parsing: text) else { continue }
            if let updates = table["updates"]?.table {
                if let strategy = updates["strategy"]?.string { fleet.strategy = strategy }
                if let url = updates["fleet_lock"]?.table?["base_url"]?.string { fleet.baseURL = url }
            }
            if let group = table["identity"]?.table?["group"]?.string { fleet.group = group }
        }
        return fleet
    }
}
