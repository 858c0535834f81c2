import FoundationEssentials

/// The effective configuration written back as TOML, with every default filled in.
extension Settings {
    /// TOML text that, read back by the loader, gives these same settings.
    public func renderTOML() -> String {
        var out: [String] = []
        func q(_ s: String) -> String {
            var e = s.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"")
            e = e.replacing("\n", with: "\\n").replacing("\t", with: "\\t")
            return "\"\(e)\""
        }
        func d(_ duration: Duration) -> String { q(ConfigDuration.render(duration)) }
        func list(_ items: [String]) -> String { "[" + items.map(q).joined(separator: ", ") + "]" }
        out += ["[host]", "sysroot = \(q(host.sysroot))", "cmdline = \(q(host.cmdline))", "boot_id = \(q(host.bootId))",
                "state_dir = \(q(host.stateDir))", "host_run = \(q(host.hostRun))",
                "zincati_config_dir = \(q(host.zincatiConfigDir))", "bus = \(q(host.bus))", ""]
        out += ["[assessment]", "mode = \(q(assessment.mode.rawValue))", "soak = \(d(assessment.soak))",
                "max_reboots_per_day = \(assessment.maxRebootsPerDay)", "inhibit_while_failing = \(assessment.inhibitWhileFailing)", ""]
        out += ["[rollback]", "driver = \(q(rollback.driver.rawValue))", "transaction_timeout = \(d(rollback.transactionTimeout))", ""]
        out += ["[api]", "socket = \(q(api.socket))"]
        if let group = api.group { out.append("group = \(q(group))") }
        out += ["", "[daemon]"]
        if let watchdog = daemon.watchdog { out.append("watchdog = \(d(watchdog))") }
        out += ["", "[greenboot]", "enabled = \(greenboot.enabled)"]
        out += ["", "[fleet]"]
        if let strategy = fleet.strategy { out.append("strategy = \(q(strategy.rawValue))") }
        if let url = fleet.baseURL { out.append("base_url = \(q(url))") }
        if let group = fleet.group { out.append("group = \(q(group))") }
        out.append("retry_max = \(d(fleet.retryMax))")
        out.append("zincati_config_dirs = \(list(fleet.zincatiConfigDirs))")
        if let listen = metrics.listen { out += ["", "[metrics]", "listen = \(q(listen.description))"] }
        for c in checks {
            out += ["", "[[check]]", "name = \(q(c.name))", "kind = \(q(c.kind.rawValue))", "required = \(c.required)",
                    "timeout = \(d(c.timeout))", "interval = \(d(c.interval))", "start_period = \(d(c.startPeriod))",
                    "failure_threshold = \(c.failureThreshold)", "success_threshold = \(c.successThreshold)"]
            if let u = c.restartUnit { out.append("restart_unit = \(q(u))") }
            switch c.target {
            case .dns(let t):
                out += ["server = \(q(t.server.description))", "query = \(q(t.query))", "type = \(q(t.type))",
                        "expect_rcode = \(q(t.expectRcode))"]
                if let a = t.expectAnswers { out.append("expect_answers = \(list(a))") }
            case .ntp(let t):
                out += ["server = \(q(t.server.description))", "max_stratum = \(t.maxStratum)"]
                if let o = t.maxOffset { out.append("max_offset = \(d(o))") }
            case .dhcp(let t):
                out += ["interface = \(q(t.interface))", "mode = \(q(t.mode.rawValue))"]
                if let s = t.expectServer { out.append("expect_server = \(q(s))") }
            case .tcp(let a):
                out.append("address = \(q(a.description))")
            case .http(let t):
                out.append("url = \(q(t.url))")
                if let s = t.expectStatus { out.append("expect_status = \(s)") }
                if let b = t.expectBody { out.append("expect_body = \(q(b))") }
            case .unit(let name):
                out.append("unit = \(q(name))")
            case .command(let argv):
                out.append("command = \(list(argv))")
            }
        }
        return out.joined(separator: "\n") + "\n"
    }
}
