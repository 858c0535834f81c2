internal import COSTree

extension Sysroot {
    /// Moves one deployment to the front of the boot order and keeps the others in their order (rpm-ostree rollback
    /// semantics), with `ostree_sysroot_write_deployments` under the sysroot lock. Nothing is written when it is
    /// first already. Returns whether the order changed.
    @discardableResult
    public func moveToFront(osname: String, checksum: String, serial: Int) throws(OSTreeError) -> Bool {
        var acquired: gboolean = 0
        do {
            try withGError("ostree_sysroot_try_lock", lib: lib) { lib.ostree_sysroot_try_lock(handle, &acquired, $0) }
        } catch {
            throw OSTreeError(.library, "cannot lock sysroot \(path)", cause: error)
        }
        guard acquired != 0 else {
            throw OSTreeError(.library, "sysroot \(path) is locked by another process (rpm-ostreed or ostree)")
        }
        defer { lib.ostree_sysroot_unlock(handle) }
        try load()
        // ostree_sysroot_get_deployments: (transfer container).
        guard let old = lib.ostree_sysroot_get_deployments(handle), old.pointee.len > 0 else {
            throw OSTreeError(.noDeployments, "sysroot \(path) has no deployments")
        }
        defer { lib.g_ptr_array_unref(old) }
        let entries = (0..<Int(old.pointee.len)).compactMap { old.pointee.pdata[$0].map(OpaquePointer.init) }
        guard let target = entries.first(where: {
            cString(lib.ostree_deployment_get_osname($0)) == osname
                && cString(lib.ostree_deployment_get_csum($0)) == checksum
                && Int(lib.ostree_deployment_get_deployserial($0)) == serial
        }) else {
            throw OSTreeError(.notFound, "deployment \(checksum).\(serial) of \(osname) is not in sysroot \(path)")
        }
        if entries.contains(where: { lib.ostree_deployment_is_staged($0) != 0 }) {
            throw OSTreeError(.badStagedState, "sysroot \(path) has a staged deployment; clear it before reordering")
        }
        guard entries.first != target else { return false }
        // The new array owns a reference to each element (g_object_ref here, g_object_unref by its free func).
        guard let ordered = lib.g_ptr_array_new_with_free_func(lib.g_object_unref) else {
            throw OSTreeError(.library, "cannot allocate the deployment list")
        }
        defer { lib.g_ptr_array_unref(ordered) }
        for deployment in [target] + entries.filter({ $0 != target }) {
            lib.g_ptr_array_add(ordered, lib.g_object_ref(UnsafeMutableRawPointer(deployment)))
        }
        do {
            try withGError("ostree_sysroot_write_deployments", lib: lib) { lib.ostree_sysroot_write_deployments(handle, ordered, nil, $0) }
        } catch {
            throw OSTreeError(.library, "cannot write the new boot order of sysroot \(path)", cause: error)
        }
        try load()
        return true
    }
}
