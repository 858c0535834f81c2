import Prometheus
import RearguardCore

/// Renders `GET /metrics` from one status document through swift-prometheus (STYLE N4 names).
///
/// Every scrape builds a fresh registry from the status, so a check that left the config leaves the output too and
/// the totals are exactly the state file's. Metrics other components registered in `shared` follow them.
enum MetricsRenderer {
    static func render(_ status: StatusDocument, shared: PrometheusCollectorRegistry?) -> [UInt8] {
        let registry = PrometheusCollectorRegistry()
        let checkUp = descriptor(
            "check", "up", "", "1 when the check passes after thresholds, 0 when it fails or is not known yet")
        let checkLatency = descriptor("check", "latency", "seconds", "Latency of the check's latest run")
        for check in status.checks {
            let labels = [("check", check.name)]
            // An unknown check is not up: status never counts an unknown as a pass.
            registry.makeGauge(descriptor: checkUp, labels: labels).set(Double(check.state == .passing ? 1 : 0))
            if let last = check.last {
                registry.makeGauge(descriptor: checkLatency, labels: labels).set(last.latencyMs / 1000)
            }
        }
        let state = descriptor("assessment", "state", "", "1 for the assessment state the node is in, 0 for the others")
        for candidate in Assessment.State.allCases {
            registry.makeGauge(descriptor: state, labels: [("state", candidate.rawValue)])
                .set(Double(candidate == status.state ? 1 : 0))
        }
        registry.makeCounter(descriptor: descriptor(nil, "rollbacks", "total", "Automatic rollbacks done on this node"))
            .increment(by: Int64(max(0, status.rollbacksTotal)))
        registry.makeCounter(descriptor: descriptor(nil, "reboots", "total", "Reboots asked for by Rearguard on this node"))
            .increment(by: Int64(max(0, status.rebootsTotal)))
        registry.makeGauge(descriptor: descriptor("updates", "held", "", "1 while Rearguard holds Zincati's updates"))
            .set(Double(status.updatesHeld ? 1 : 0))
        registry.makeGauge(descriptor: descriptor(
            "updates", "inhibited", "", "1 while Rearguard blocks update reboots (logind inhibitor: probation or failing checks)"))
            .set(Double(status.updatesInhibited != nil ? 1 : 0))
        registry.makeCounter(descriptor: descriptor(
            "finalization", "failures", "total", "Boots in which a staged update was not finalized and the old deployment booted"))
            .increment(by: Int64(max(0, status.finalizationFailuresTotal)))
        let bad = descriptor(nil, "bad_release", "", "1 for each release Rearguard rolled back from or quarantined, by version")
        for release in status.badReleases {
            registry.makeGauge(descriptor: bad, labels: [("version", release.version ?? String(release.checksum.prefix(12)))]).set(Double(1))
        }
        if let fleet = status.fleet {
            registry.makeGauge(descriptor: descriptor("fleet_lock", "held", "", "1 while this node holds a FleetLock reboot slot"))
                .set(Double(fleet.slotHeld == true ? 1 : 0))
            registry.makeGauge(descriptor: descriptor("fleet_lock", "waiting", "", "1 while a reboot waits for the FleetLock slot"))
                .set(Double(fleet.want == "reboot" ? 1 : 0))
            if let error = fleet.lastError {
                registry.makeGauge(
                    descriptor: descriptor("fleet_lock", "error", "", "1 for the kind of the last FleetLock error, while it lasts"),
                    labels: [("kind", error.kind)]
                ).set(Double(1))
            }
        }
        var buffer = registry.emitToBuffer()
        shared?.emit(into: &buffer)
        return buffer
    }

    private static func descriptor(_ subsystem: String?, _ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "rearguard", subsystem: subsystem, metricName: name, unitName: unit, helpText: help)
    }
}
