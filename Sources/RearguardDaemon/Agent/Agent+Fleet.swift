import RearguardCore

/// The agent's side of FleetLock (Fleet/FleetCoordinator.swift does the talking).
extension Agent {
    /// A rolled-back node keeps the fleet's reboot slot, so the rollout of the bad release stops here until an admin
    /// runs `rearguard release`; asked again at every start, since the server, not the agent, remembers the slot.
    func syncFleet() async {
        guard let fleet = env.fleet, assessment.state == .rolledBack, assessment.memory.updatesHeld else { return }
        await fleet.request(.keep)
    }

    /// Reboots once the fleet's slot is held (the coordinator calls this).
    public func rebootWithSlot(_ reason: String) async {
        await actuator.reboot(reason, on: self)
    }
}
