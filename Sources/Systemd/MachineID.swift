import CSystemd
import DBus

/// The machine id as applications see it (sd-id128).
public enum MachineID {
    /// libsystemd's app-specific machine id for `appID` (`sd_id128_get_machine_app_specific`), as 32 lowercase hex
    /// digits: the id Zincati sends to a FleetLock server for its application id. Read from this process's
    /// `/etc/machine-id`, so a container must see the host's file there.
    public static func appSpecific(_ appID: String) throws(BusError) -> String {
        var app = sd_id128_t()
        try check(appID.withCString { sd_id128_from_string($0, &app) }, "sd_id128_from_string", "bad application id \(appID)")
        var id = sd_id128_t()
        try check(sd_id128_get_machine_app_specific(app, &id), "sd_id128_get_machine_app_specific", "cannot read the machine id")
        return withUnsafeBytes(of: id.bytes) { bytes in
            bytes.map { b in
                let s = String(b, radix: 16)
                return b < 16 ? "0" + s : s
            }.joined()
        }
    }
}
