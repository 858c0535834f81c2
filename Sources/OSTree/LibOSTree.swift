internal import COSTree

/// libostree, opened on first use rather than linked: `rearguard status`, `--help` and the other commands that never
/// read a sysroot start without it and its closure. The agent and `deployments` open it once, on the first `Sysroot`.
enum LibOSTree {
    /// The soname the build's headers belong to.
    static let soname = "libostree-1.so.1"

    /// The functions, or why they cannot be had.
    static let loaded: Result<rg_ostree_api, OSTreeError> = {
        var problem: UnsafePointer<CChar>?
        var missing: Int32 = 0
        guard let api = rg_ostree_open(soname, &problem, &missing) else {
            let text = problem.map { String(cString: $0) } ?? "unknown error"
            return .failure(OSTreeError(.library, missing != 0 ? "\(soname) lacks \(text)" : "cannot load \(soname): \(text) (install libostree)"))
        }
        return .success(api.pointee)
    }()

    /// The functions; throws when libostree cannot be loaded.
    static func api() throws(OSTreeError) -> rg_ostree_api { try loaded.get() }
}
