internal import COSTree
import FoundationEssentials
import SystemPackage

/// An OSTree sysroot opened at a path (owns an `OstreeSysroot *`; not thread-safe, keep it on one actor).
public final class Sysroot {
    /// The sysroot's path as given.
    public let path: String
    let handle: OpaquePointer
    /// libostree's functions (opened on the first sysroot).
    let lib: rg_ostree_api
    private var repo: OpaquePointer?
    private var isLoaded = false

    /// Opens the sysroot at `path` (`ostree_sysroot_new`); it must hold an `ostree/deploy` folder.
    public init(path: String) throws(OSTreeError) {
        var isDirectory: Bool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw OSTreeError(.notFound, "sysroot \(path) does not exist")
        }
        guard isDirectory else {
            throw OSTreeError(.notASysroot, "sysroot \(path) is not a directory")
        }
        let deployDir = FilePath(path).appending("ostree/deploy").string
        guard FileManager.default.fileExists(atPath: deployDir, isDirectory: &isDirectory), isDirectory else {
            throw OSTreeError(.notASysroot, "\(path) is not an OSTree sysroot (no ostree/deploy)")
        }
        let lib = try LibOSTree.api()
        // g_file_new_for_path: (transfer full); ostree_sysroot_new takes its own reference.
        let file = lib.g_file_new_for_path(path)
        defer { lib.g_object_unref(UnsafeMutableRawPointer(file)) }
        // ostree_sysroot_new: (transfer full)
        guard let sysroot = lib.ostree_sysroot_new(file) else {
            throw OSTreeError(.library, "cannot open sysroot \(path)")
        }
        self.path = path
        self.handle = sysroot
        self.lib = lib
    }

    deinit {
        if let repo { lib.g_object_unref(UnsafeMutableRawPointer(repo)) }
        lib.g_object_unref(UnsafeMutableRawPointer(handle))
    }

    /// Reads the boot loader entries and deployments (`ostree_sysroot_load`); call again to re-read.
    public func load() throws(OSTreeError) {
        do {
            try withGError("ostree_sysroot_load", lib: lib) { lib.ostree_sysroot_load(handle, nil, $0) }
        } catch {
            throw OSTreeError(.library, "cannot load sysroot \(path)", cause: error)
        }
        isLoaded = true
    }

    /// The deployments in boot order (`ostree_sysroot_get_deployments`): staged first when libostree knows it.
    public func deployments() throws(OSTreeError) -> [Deployment] {
        if !isLoaded { try load() }
        // ostree_sysroot_get_deployments: (transfer container), elements owned by the sysroot.
        guard let array = lib.ostree_sysroot_get_deployments(handle) else { return [] }
        defer { lib.g_ptr_array_unref(array) }
        var result: [Deployment] = []
        for i in 0..<Int(array.pointee.len) {
            guard let raw = array.pointee.pdata[i] else { continue }
            result.append(try describe(OpaquePointer(raw)))
        }
        return result
    }

    /// The booted deployment when libostree itself knows it (`ostree_sysroot_get_booted_deployment`):
    /// only when this sysroot is the running root of an OSTree boot.
    public func libostreeBootedDeployment() throws(OSTreeError) -> Deployment? {
        if !isLoaded { try load() }
        // ostree_sysroot_get_booted_deployment: (transfer none), owned by the sysroot.
        guard let booted = lib.ostree_sysroot_get_booted_deployment(handle) else { return nil }
        return try describe(booted)
    }

    /// The folder of a deployment under this sysroot: `ostree/deploy/OSNAME/deploy/CHECKSUM.SERIAL`.
    public func deploymentDirectory(osname: String, checksum: String, serial: Int) -> String {
        FilePath(path).appending("ostree/deploy/\(osname)/deploy/\(checksum).\(serial)").string
    }

    /// Copies the facts of one `OstreeDeployment` into a value.
    private func describe(_ deployment: OpaquePointer) throws(OSTreeError) -> Deployment {
        // The getters return (transfer none) strings owned by the deployment.
        let checksum = cString(lib.ostree_deployment_get_csum(deployment))
        let (version, timestamp) = commitFacts(checksum)
        // ostree_deployment_get_origin: (transfer none), may be NULL.
        let origin = lib.ostree_deployment_get_origin(deployment).flatMap(originReference)
        let unlocked = cString(lib.ostree_deployment_unlocked_state_to_string(lib.ostree_deployment_get_unlocked(deployment)))
        return Deployment(
            index: Int(lib.ostree_deployment_get_index(deployment)),
            osname: cString(lib.ostree_deployment_get_osname(deployment)),
            checksum: checksum,
            serial: Int(lib.ostree_deployment_get_deployserial(deployment)),
            bootChecksum: cString(lib.ostree_deployment_get_bootcsum(deployment)),
            version: version,
            timestamp: timestamp,
            origin: origin,
            isPinned: lib.ostree_deployment_is_pinned(deployment) != 0,
            isStaged: lib.ostree_deployment_is_staged(deployment) != 0,
            isFinalizationLocked: false,
            unlocked: Deployment.Unlocked(rawValue: unlocked) ?? .none)
    }

    /// The commit's `version` metadata and timestamp; nil for both when the commit is not in the repo.
    func commitFacts(_ checksum: String) -> (String?, Date?) {
        guard let repo = openRepo() else { return (nil, nil) }
        var commit: OpaquePointer?
        var error: UnsafeMutablePointer<GError>?
        // ostree_repo_load_variant: out_variant (transfer full).
        guard lib.ostree_repo_load_variant(repo, OSTREE_OBJECT_TYPE_COMMIT, checksum, &commit, &error) != 0,
              let commit
        else {
            if let error { lib.g_error_free(error) }
            return (nil, nil)
        }
        defer { lib.g_variant_unref(commit) }
        let timestamp = Date(timeIntervalSince1970: TimeInterval(lib.ostree_commit_get_timestamp(commit)))
        // g_variant_get_child_value: (transfer full); child 0 of a commit is its a{sv} metadata.
        let metadata = lib.g_variant_get_child_value(commit, 0)
        defer { if let metadata { lib.g_variant_unref(metadata) } }
        return (metadata.flatMap { GVariantDict(lib: lib).string($0, "version") }, timestamp)
    }

    /// The sysroot's repository (`ostree_sysroot_get_repo`), opened once.
    private func openRepo() -> OpaquePointer? {
        if let repo { return repo }
        var opened: OpaquePointer?
        var error: UnsafeMutablePointer<GError>?
        // ostree_sysroot_get_repo: out_repo (transfer full), kept until deinit.
        guard lib.ostree_sysroot_get_repo(handle, &opened, nil, &error) != 0 else {
            if let error { lib.g_error_free(error) }
            return nil
        }
        repo = opened
        return opened
    }

    /// `[origin] refspec`, else `container-image-reference`, from an origin key file.
    func originReference(_ keyFile: OpaquePointer) -> String? {
        for key in ["refspec", "container-image-reference"] {
            // g_key_file_get_string: (transfer full); NULL when absent.
            if let value = takeGString(lib.g_key_file_get_string(keyFile, "origin", key, nil), lib: lib) {
                return value
            }
        }
        return nil
    }
}

/// Reads values out of an `a{sv}` GVariant without GLib's variadic lookup helpers.
struct GVariantDict {
    let lib: rg_ostree_api

    /// The string under `key`, or nil when absent or not a string.
    func string(_ dict: OpaquePointer, _ key: String) -> String? {
        guard let value = lookup(dict, key, type: "s") else { return nil }
        defer { lib.g_variant_unref(value) }
        // g_variant_get_string: (transfer none) into the variant.
        return lib.g_variant_get_string(value, nil).map { String(cString: $0) }
    }

    /// The boolean under `key`, or nil when absent or not a boolean.
    func bool(_ dict: OpaquePointer, _ key: String) -> Bool? {
        guard let value = lookup(dict, key, type: "b") else { return nil }
        defer { lib.g_variant_unref(value) }
        return lib.g_variant_get_boolean(value) != 0
    }

    /// The value under `key` when it has the GVariant type string `type`; (transfer full).
    func lookup(_ dict: OpaquePointer, _ key: String, type: String) -> OpaquePointer? {
        // g_variant_lookup_value: (transfer full); NULL type matches any value type.
        guard let value = lib.g_variant_lookup_value(dict, key, nil) else { return nil }
        guard cString(lib.g_variant_get_type_string(value)) == type else {
            lib.g_variant_unref(value)
            return nil
        }
        return value
    }
}
