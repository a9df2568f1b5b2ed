//! jbuehl's semonitor layouts, copied as facts from `se/dataparams.py` and
//! `se/datadevices.py` (solaredge.md §4, §7): the fixed inverter formats and the table-driven
//! meter and battery definitions.

#[derive(Clone, Copy)]
pub(super) enum Num {
    U32,
    F32,
}

/// A fixed layout: the bytes JB unpacks (its `struct` format length) and the printed fields
/// (name, body offset, type).
pub(super) struct Layout {
    pub(super) len: usize,
    pub(super) fields: &'static [(&'static str, usize, Num)],
}

/// 0x0010, JB `invInFmt` `<LLLffffffLLfLffLfffffLLffL` (104 bytes) with `invIdx`/`invItems`.
pub(super) const INV_1PH: &Layout = &Layout {
    len: 104,
    fields: &[
        ("Uptime", 4, Num::U32),
        ("Interval", 8, Num::U32),
        ("Temp", 12, Num::F32),
        ("Eday", 16, Num::F32),
        ("Eac", 20, Num::F32),
        ("Vac", 24, Num::F32),
        ("Iac", 28, Num::F32),
        ("Freq", 32, Num::F32),
        ("Vdc", 44, Num::F32),
        ("Etot", 52, Num::F32),
        ("Pmax", 72, Num::F32),
        ("Pac", 92, Num::F32),
    ],
};

/// 0x0011, JB/DT `inv3PhInFmt` `<LLLffffffffffffLLfLffLLLfffLfffL` (128 bytes), `inv3PhItems`.
pub(super) const INV_3PH: &Layout = &Layout {
    len: 128,
    fields: &[
        ("Uptime", 4, Num::U32),
        ("Interval", 8, Num::U32),
        ("Temp", 12, Num::F32),
        ("Eday", 16, Num::F32),
        ("Eac", 20, Num::F32),
        ("Vac1", 24, Num::F32),
        ("Vac2", 28, Num::F32),
        ("Vac3", 32, Num::F32),
        ("Iac1", 36, Num::F32),
        ("Iac2", 40, Num::F32),
        ("Iac3", 44, Num::F32),
        ("Freq1", 48, Num::F32),
        ("Freq2", 52, Num::F32),
        ("Freq3", 56, Num::F32),
        ("EdayDC", 60, Num::U32),
        ("Edc", 64, Num::U32),
        ("Vdc", 68, Num::F32),
        ("Idc", 72, Num::U32),
        ("Etot", 76, Num::F32),
        ("Irdc", 80, Num::F32),
        ("data21", 84, Num::U32),
        ("data22", 88, Num::U32),
        ("data23", 92, Num::U32),
        ("CosPhi1", 96, Num::F32),
        ("CosPhi2", 100, Num::F32),
        ("CosPhi3", 104, Num::F32),
        ("mode", 108, Num::U32),
        ("GndFrR", 112, Num::F32),
        ("data29", 116, Num::F32),
        ("IoutDC", 120, Num::F32),
        ("data31", 124, Num::U32),
    ],
};

/// Field kinds of JB's `ParseDevice._defn` (`L`, `H`, `b`, `f`, `hex`, `12s`; `dateTime` is an
/// `L` that also sets `Date` and `Time`).
#[derive(Clone, Copy)]
pub(super) enum Field {
    DateTime,
    U32,
    U16,
    I8,
    F32,
    Hex,
    Str,
}

pub(super) struct Table {
    /// `_devType`: the top-level key and the `devType` value.
    pub(super) name: &'static str,
    /// (name, length, kind) in body order.
    pub(super) fields: &'static [(&'static str, usize, Field)],
}

/// 0x0022, JB `ParseDevice_0x0022._defn` (58 bytes).
pub(super) const METER: &Table = &Table {
    name: "meters_0x0022",
    fields: &[
        ("dateTime", 4, Field::DateTime),
        ("recType", 1, Field::I8),
        ("onlyIntervalData", 1, Field::I8),
        ("TotalE2Grid", 4, Field::U32),
        ("AlwaysZero_off10_int2", 2, Field::U16),
        ("Flag_off12_hex", 2, Field::Hex),
        ("TotalEfromGrid", 4, Field::U32),
        ("AlwaysZero_off18_int2", 2, Field::U16),
        ("Flag_off20_hex", 2, Field::Hex),
        ("Totaloff22_int4", 4, Field::U32),
        ("AlwaysZero_off26_int2", 2, Field::U16),
        ("Flag_off28_hex", 2, Field::Hex),
        ("Totaloff30_int4", 4, Field::U32),
        ("AlwaysZero_off34_int2", 2, Field::U16),
        ("Flag_off36_hex", 2, Field::Hex),
        ("Interval", 4, Field::U32),
        ("E2X", 4, Field::U32),
        ("EfromX", 4, Field::U32),
        ("P2X", 4, Field::F32),
        ("PfromX", 4, Field::F32),
    ],
};

/// 0x0030, JB `ParseDevice_0x0030._defn` (86 bytes).
pub(super) const BATTERY: &Table = &Table {
    name: "batteries_0x0030",
    fields: &[
        ("dateTime", 4, Field::DateTime),
        ("batteryId", 12, Field::Str),
        ("Vdc", 4, Field::F32),
        ("Idc", 4, Field::F32),
        ("BattCapacityNom", 4, Field::F32),
        ("BattCapacityActual", 4, Field::F32),
        ("BattCharge", 4, Field::F32),
        ("TotalEnergyIn", 4, Field::U32),
        ("AlwaysZero_40_float", 4, Field::F32),
        ("TotalEnergyOut", 4, Field::U32),
        ("AlwaysZero_48_float", 4, Field::F32),
        ("HexConst_52", 4, Field::Hex),
        ("HexConst_56", 4, Field::Hex),
        ("Temp", 4, Field::F32),
        ("BattChargingStatus", 2, Field::U16),
        ("AlwaysZero_66_float", 4, Field::F32),
        ("AlwaysZero_70_float", 4, Field::F32),
        ("Interval", 4, Field::U32),
        ("EIn", 4, Field::U32),
        ("EOut", 4, Field::U32),
    ],
};

/// The "no value" float, −FLT_MAX little-endian (solaredge.md §4).
pub(super) const SENTINEL: &[u8] = &[0xff, 0xff, 0x7f, 0xff];
