/// Rearguard's version, shown by `--version`, status and the API.
public enum RearguardVersion {
    /// The release this build is (bumped when a release is cut).
    public static let current = "0.5.0-dev"
}
