//! PI30 names: commands (pi30_tracer.md §3), QMOD modes (§6), QPIWS warning bits (§6), QFLAG
//! letters (§6) and the enumerated QPIRI/setter values (§3, §5). Unknown values are kept and
//! printed as `unknown-…`.

/// Queries the decoder knows by name (pi30_tracer.md §3); `QPGS` is followed by the unit
/// number, `QVFW` by an optional 2/3/4.
pub const QUERIES: &[&str] = &[
    "QPIGS2", "QPIGS", "QPIRI", "QPIWS", "QFLAG", "QMOD", "QID", "QVFW2", "QVFW3", "QVFW4", "QVFW",
    "QPI", "QDI", "QMCHGCR", "QMUCHGCR", "QMSCHGCR", "QBOOT", "QOPM", "QCST", "QCVT", "Q1", "QBMS",
];

/// A setter (pi30_tracer.md §3): name, what it sets, the argument's unit (for `dd.d`-style
/// numbers) and the names of its enumerated values.
pub struct Setter {
    pub name: &'static str,
    pub meaning: &'static str,
    pub unit: Option<&'static str>,
    pub values: &'static [(&'static str, &'static str)],
}

const fn s(
    name: &'static str,
    meaning: &'static str,
    unit: Option<&'static str>,
    values: &'static [(&'static str, &'static str)],
) -> Setter {
    Setter {
        name,
        meaning,
        unit,
        values,
    }
}

const V: Option<&str> = Some("V");
const A: Option<&str> = Some("A");

/// Every setter of pi30_tracer.md §3. Matched by longest prefix (`POPM` before `POP`).
pub const SETTERS: &[Setter] = &[
    s("PE", "enable flags", None, &[]),
    s("PD", "disable flags", None, &[]),
    s("PF", "reset to defaults", None, &[]),
    s("F50", "output frequency 50 Hz", None, &[]),
    s("F60", "output frequency 60 Hz", None, &[]),
    s(
        "POP",
        "output source priority",
        None,
        &[("00", "utility"), ("01", "solar"), ("02", "sbu")],
    ),
    s(
        "PCP",
        "charger priority",
        None,
        &[
            ("00", "utility"),
            ("01", "solar_first"),
            ("02", "solar_and_utility"),
            ("03", "solar_only"),
        ],
    ),
    s(
        "PGR",
        "grid range",
        None,
        &[("00", "appliance"), ("01", "ups")],
    ),
    s(
        "PBT",
        "battery type",
        None,
        &[("00", "agm"), ("01", "flooded"), ("02", "user")],
    ),
    s("PBCV", "battery re-charge voltage", V, &[]),
    s("PBDV", "battery re-discharge voltage", V, &[]),
    s("PSDV", "battery cut-off voltage", V, &[]),
    s("PCVV", "battery bulk (CV) voltage", V, &[]),
    s("PBFT", "battery float voltage", V, &[]),
    s("MCHGC", "max charging current", A, &[]),
    s("MNCHGC", "max charging current (> 100 A)", A, &[]),
    s("MUCHGC", "max utility charging current", A, &[]),
    s("POPM", "parallel output mode", None, &[]),
    s("PPCP", "parallel charger priority", None, &[]),
    s("PPVOKC", "PV OK condition", None, &[]),
    s("PSPB", "solar power balance", None, &[]),
    s("PCST", "charge stage", None, &[]),
    s("PCVT", "CV stage time", Some("min"), &[]),
    s("DAT", "set clock", None, &[]),
    s("PBATCD", "battery charge/discharge control", None, &[]),
    s("PBATMAXDISC", "max discharge current", A, &[]),
    s("PSAVE", "save settings", None, &[]),
];

/// The setter whose name is the longest prefix of `cmd`.
pub fn setter(cmd: &str) -> Option<&'static Setter> {
    SETTERS
        .iter()
        .filter(|s| cmd.starts_with(s.name))
        .max_by_key(|s| s.name.len())
}

/// QMOD mode letter → (name, godenerg's code) (pi30_tracer.md §6).
pub fn mode(c: &str) -> (String, &'static str) {
    let (name, code) = match c {
        "P" => ("power_on", "PM"),
        "S" => ("standby", "SB"),
        "L" => ("line", "LN"),
        "B" => ("battery", "BT"),
        "F" => ("fault", "FA"),
        "H" => ("power_saving", "PS"),
        "Y" => ("bypass", "00"),
        _ => return (format!("unknown-{c}"), "00"),
    };
    (name.to_string(), code)
}

/// QPIWS bit names, b1 first (pi30_tracer.md §6). b31–b38 repeat b27–b30 for PV2 and PV3.
pub const WARNINGS: [&str; 38] = [
    "reserved_b1",
    "inverter_fault",
    "bus_over",
    "bus_under",
    "bus_soft_fail",
    "line_fail",
    "opv_short",
    "inverter_voltage_too_low",
    "inverter_voltage_too_high",
    "over_temperature",
    "fan_locked",
    "battery_voltage_high",
    "battery_low_alarm",
    "reserved_b14",
    "battery_under_shutdown",
    "reserved_b16",
    "overload",
    "eeprom_fault",
    "inverter_over_current",
    "inverter_soft_fail",
    "self_test_fail",
    "op_dc_voltage_over",
    "battery_open",
    "current_sensor_fail",
    "battery_short",
    "power_limit",
    "pv_voltage_high",
    "mppt_overload_fault",
    "mppt_overload_warning",
    "battery_too_low_to_charge",
    "pv2_voltage_high",
    "pv2_mppt_overload_fault",
    "pv2_mppt_overload_warning",
    "pv2_battery_too_low_to_charge",
    "pv3_voltage_high",
    "pv3_mppt_overload_fault",
    "pv3_mppt_overload_warning",
    "pv3_battery_too_low_to_charge",
];

/// Bits (1-based) that are faults, not warnings, when b1 is set (pi30_tracer.md §6).
pub const FAULT_WHEN_B1: [usize; 4] = [10, 11, 12, 17];

/// QFLAG letter → name (pi30_tracer.md §6); unknown letters `unknown-<c>`.
pub fn flag(c: char) -> String {
    let n = match c {
        'a' => "buzzer",
        'b' => "overload_bypass",
        'j' => "power_saving",
        'k' => "lcd_escape_to_default",
        'u' => "overload_restart",
        'v' => "over_temperature_restart",
        'x' => "backlight",
        'y' => "alarm_on_primary_source_interrupt",
        'z' => "fault_code_record",
        'l' => "data_log_popup",
        _ => return format!("unknown-{c}"),
    };
    n.to_string()
}

/// QPIRI enumerations (pi30_tracer.md §5): field index → value names.
pub fn rating_enum(field: usize, v: &str) -> Option<String> {
    let names: &[(&str, &str)] = match field {
        12 => &[
            ("0", "agm"),
            ("1", "flooded"),
            ("2", "user"),
            ("3", "pylontech"),
            ("4", "shinheung"),
            ("5", "weco"),
            ("6", "soltaro"),
            ("7", "tbd"),
            ("8", "lib_protocol"),
            ("9", "third_party_li"),
        ],
        15 => &[("0", "appliance"), ("1", "ups")],
        16 => &[("0", "utility_first"), ("1", "solar_first"), ("2", "sbu")],
        17 => &[
            ("0", "utility_first"),
            ("1", "solar_first"),
            ("2", "solar_and_utility"),
            ("3", "solar_only"),
        ],
        19 => &[
            ("00", "grid_tie"),
            ("01", "off_grid"),
            ("10", "hybrid"),
            ("11", "off_grid_2_trackers"),
            ("20", "off_grid_3_trackers"),
        ],
        20 => &[("0", "transformerless"), ("1", "transformer")],
        21 => &[
            ("0", "single"),
            ("1", "parallel"),
            ("2", "phase_1_of_3"),
            ("3", "phase_2_of_3"),
            ("4", "phase_3_of_3"),
            ("5", "phase_1_of_2"),
            ("6", "phase_2_of_2"),
        ],
        23 => &[("0", "any_unit_has_pv"), ("1", "all_units_have_pv")],
        24 => &[("0", "max_charge_current"), ("1", "charge_plus_load_power")],
        26 => &[("0", "automatic"), ("1", "on_line"), ("2", "eco")],
        _ => return None,
    };
    Some(
        names
            .iter()
            .find(|(k, _)| *k == v)
            .map(|(_, n)| n.to_string())
            .unwrap_or_else(|| format!("unknown-{v}")),
    )
}
