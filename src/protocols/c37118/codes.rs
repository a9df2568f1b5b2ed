//! C37.118 codes and their names (c37118.md §1–§4; IEEE C37.118.2-2011 Tables 2–15). Every
//! code is kept as sent; a value without a name gets "reserved" (or "unknown" for a frame
//! type), never an error.

use serde::Serialize;

/// Frame type: bits 6–4 of the second SYNC byte (c37118.md §1, [STD T.2]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameType(pub u8);

impl FrameType {
    pub const DATA: FrameType = FrameType(0);
    pub const HEADER: FrameType = FrameType(1);
    pub const CFG1: FrameType = FrameType(2);
    pub const CFG2: FrameType = FrameType(3);
    pub const COMMAND: FrameType = FrameType(4);
    pub const CFG3: FrameType = FrameType(5);

    /// The type bits of a SYNC word (both bytes).
    pub fn of_sync(sync: u16) -> FrameType {
        FrameType(((sync >> 4) & 7) as u8)
    }

    /// Types 0–5 are defined; 6 and 7 are reserved.
    pub fn is_defined(self) -> bool {
        self.0 <= 5
    }

    /// The decoded record's `frame` value: "data", "header", "cfg1", "cfg2", "cmd", "cfg3";
    /// "unknown" for the reserved types 6 and 7.
    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "data",
            1 => "header",
            2 => "cfg1",
            3 => "cfg2",
            4 => "cmd",
            5 => "cfg3",
            _ => "unknown",
        }
    }

    /// The frame label of the splitter and of the oracle files (c37118.md §8): as
    /// [`FrameType::name`], except "hdr" for header frames.
    pub fn label(self) -> &'static str {
        match self.0 {
            1 => "hdr",
            _ => self.name(),
        }
    }
}

/// CMD of a command frame (c37118.md §1 command table, [STD T.15]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CmdCode(pub u16);

impl CmdCode {
    /// `turn_off_data` (1), `turn_on_data` (2), `send_hdr` (3), `send_cfg1` (4), `send_cfg2`
    /// (5), `send_cfg3` (6), `extended_frame` (8), `user_designated` (0x0100–0x0FFF),
    /// `reserved` (anything else).
    pub fn name(self) -> &'static str {
        match self.0 {
            1 => "turn_off_data",
            2 => "turn_on_data",
            3 => "send_hdr",
            4 => "send_cfg1",
            5 => "send_cfg2",
            6 => "send_cfg3",
            8 => "extended_frame",
            0x0100..=0x0fff => "user_designated",
            _ => "reserved",
        }
    }
}

/// PHUNIT byte 0 (c37118.md §3, [STD T.9]): "V" (0), "I" (1), "reserved".
pub fn phasor_unit_type(word: u32) -> &'static str {
    match word >> 24 {
        0 => "V",
        1 => "I",
        _ => "reserved",
    }
}

/// ANUNIT byte 0 (c37118.md §3, [STD T.9]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AnalogUnit(pub u8);

impl AnalogUnit {
    /// "pow" (0, point-on-wave), "rms" (1), "peak" (2), "user" (65–255), "reserved".
    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "pow",
            1 => "rms",
            2 => "peak",
            65..=255 => "user",
            _ => "reserved",
        }
    }
}

/// FNOM bit 0 (c37118.md §3): 50 Hz when set, else 60 Hz.
pub fn fnom_hz(raw: u16) -> u16 {
    if raw & 1 != 0 {
        50
    } else {
        60
    }
}

/// DATA_RATE as frames per second (c37118.md §3): N > 0: N; N < 0: 1/−N; 0: none.
pub fn frames_per_second(n: i16) -> Option<f64> {
    match n {
        0 => None,
        n if n > 0 => Some(f64::from(n)),
        n => Some(1.0 / -f64::from(n)),
    }
}

/// STAT bits 15–14 (c37118.md §4 STAT table): "ok" (00), "pmu_error" (01), "test_mode" (10,
/// also absent-data filler), "pmu_error_invalid" (11).
pub fn data_error(stat: u16) -> &'static str {
    match stat >> 14 {
        0 => "ok",
        1 => "pmu_error",
        2 => "test_mode",
        _ => "pmu_error_invalid",
    }
}

/// STAT bits 3–0 (c37118.md §4 STAT table): "manual", "magnitude_low", "magnitude_high",
/// "phase_angle_diff", "frequency_high_low", "df_dt_high", "reserved" (6), "digital",
/// "user" (8–15).
pub fn trigger_reason(n: u8) -> &'static str {
    match n {
        0 => "manual",
        1 => "magnitude_low",
        2 => "magnitude_high",
        3 => "phase_angle_diff",
        4 => "frequency_high_low",
        5 => "df_dt_high",
        7 => "digital",
        8..=15 => "user",
        _ => "reserved",
    }
}

/// The time-quality byte decomposed (c37118.md §2, [STD T.3/T.4]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimeQuality {
    /// Bit 7 (reserved; kept).
    pub reserved: bool,
    /// Bit 6: "add" (0) or "delete" (1).
    pub leap_direction: &'static str,
    /// Bit 5: a leap second occurred (set for 24 h).
    pub leap_occurred: bool,
    /// Bit 4: a leap second is pending.
    pub leap_pending: bool,
    /// Bits 3–0.
    pub msg_tq: u8,
    /// `locked` (0), `within` (1–0xB, see `max_error_s`), `fault` (0xF), `reserved`.
    pub clock: &'static str,
    /// MSG_TQ 1–0xB: the time is within 10^(k−10) s.
    pub max_error_s: Option<f64>,
}

pub fn time_quality(tq: u8) -> TimeQuality {
    let k = tq & 0x0f;
    TimeQuality {
        reserved: tq & 0x80 != 0,
        leap_direction: if tq & 0x40 != 0 { "delete" } else { "add" },
        leap_occurred: tq & 0x20 != 0,
        leap_pending: tq & 0x10 != 0,
        msg_tq: k,
        clock: match k {
            0 => "locked",
            1..=0x0b => "within",
            0x0f => "fault",
            _ => "reserved",
        },
        max_error_s: (1..=0x0b)
            .contains(&k)
            .then(|| 10f64.powi(i32::from(k) - 10)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_names() {
        let names: Vec<&str> = [1, 2, 3, 4, 5, 6, 7, 8, 0x100, 0xfff, 0x1000]
            .map(|c| CmdCode(c).name())
            .to_vec();
        assert_eq!(
            names,
            [
                "turn_off_data",
                "turn_on_data",
                "send_hdr",
                "send_cfg1",
                "send_cfg2",
                "send_cfg3",
                "reserved",
                "extended_frame",
                "user_designated",
                "user_designated",
                "reserved"
            ]
        );
    }

    #[test]
    fn frame_type_names_and_labels() {
        let names: Vec<&str> = (0..8).map(|t| FrameType(t).name()).collect();
        assert_eq!(
            names,
            ["data", "header", "cfg1", "cfg2", "cmd", "cfg3", "unknown", "unknown"]
        );
        assert_eq!(FrameType::HEADER.label(), "hdr");
        assert_eq!(FrameType::of_sync(0xAA52), FrameType::CFG3);
        assert!(!FrameType(6).is_defined());
    }
}
