#ifndef REARGUARD_CSYSTEMD_SHIM_H
#define REARGUARD_CSYSTEMD_SHIM_H
// Swift calls only non-variadic sd-* functions (STYLE C2): sd_bus_message_new_method_call,
// sd_bus_message_append_basic, sd_bus_call, sd_bus_message_read_basic, sd_journal_sendv_with_location,
// sd_notify, sd_id128_from_string, sd_id128_get_machine_app_specific. SD_BUS_ERROR_NULL is all zeroes, which is what Swift's sd_bus_error() gives.
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-id128.h>
#include <systemd/sd-journal.h>
#endif
