internal import COSTree

/// A GLib `GError` copied into Swift: the raw facts plus the C function that reported it (STYLE E2).
public struct GLibError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The error domain's name, e.g. `g-io-error-quark`.
    public var domain: String
    /// The domain-specific error code.
    public var code: Int32
    /// GLib's message, as the library wrote it.
    public var message: String
    /// The C function that failed.
    public var function: String

    /// Creates an error from its parts.
    public init(domain: String, code: Int32, message: String, function: String) {
        self.domain = domain
        self.code = code
        self.message = message
        self.function = function
    }

    /// Copies a `GError` and frees it; a NULL error (a C contract slip) still yields an error.
    init(consuming error: UnsafeMutablePointer<GError>?, function: String, lib: rg_ostree_api) {
        guard let error else {
            self.init(domain: "unknown", code: -1, message: "failed without an error", function: function)
            return
        }
        defer { lib.g_error_free(error) }
        let domainName = lib.g_quark_to_string(error.pointee.domain).map { String(cString: $0) } ?? "unknown"
        let text = error.pointee.message.map { String(cString: $0) } ?? ""
        self.init(domain: domainName, code: error.pointee.code, message: text, function: function)
    }

    /// `function: message`.
    public var description: String { "\(function): \(message)" }
}

/// Runs a GLib call that reports failure as `FALSE` plus a `GError` and turns that into a Swift error (STYLE C5).
func withGError(
    _ function: String, lib: rg_ostree_api, _ body: (UnsafeMutablePointer<UnsafeMutablePointer<GError>?>) -> gboolean
) throws(GLibError) {
    var error: UnsafeMutablePointer<GError>?
    if body(&error) == 0 {
        throw GLibError(consuming: error, function: function, lib: lib)
    }
}

/// Takes ownership of a `char *` that must be released with `g_free` (`transfer full`).
func takeGString(_ pointer: UnsafeMutablePointer<CChar>?, lib: rg_ostree_api) -> String? {
    guard let pointer else { return nil }
    defer { lib.g_free(pointer) }
    return String(cString: pointer)
}

/// A C string libostree returns (transfer none); NULL, which its getters never return for a loaded deployment, is "".
func cString(_ pointer: UnsafePointer<CChar>?) -> String {
    pointer.map { String(cString: $0) } ?? ""
}
