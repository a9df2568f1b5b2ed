//! Decoding SolarEdge frames into owned, serialisable records (solaredge.md §3–4).
//!
//! Pure functions over one [`Frame`]: [`decode`] never panics, keeps every byte it cannot
//! interpret (as hex) and says why in `anomaly`. The 0x0500 record walker [`parse_devices`] is
//! public so other modules can reuse it on decrypted or partial payloads.
//!
//! # Output schema (one JSON object per frame, see docs/SOLAREDGE.md "Decoded records")
//! `proto` ("solaredge"), `seq`, `from`, `to` (device ids as upper-case hex without leading
//! zeros, bit 0x00800000 removed as semonitor does; server/broadcast addresses with bit 31 set
//! are shown unmasked, e.g. "FFFFFFFE"), `from_raw`, `to_raw` (8 lower-case hex digits, as
//! sent), `function` ("0x0500"), `function_name` (JB `se/commands.py` names without the
//! `PROT_CMD_` / `PROT_` prefix, or "unknown-0x1234"), `crc` ("ok" or "mismatch"), then:
//! - 0x0500 `devices`: one object per device record (§4), and `trailing` (hex) for bytes too
//!   short to be a record header;
//! - other functions: their decoded fields (§3), or `payload` (hex, omitted when empty);
//! - `anomaly` when something could not be fully decoded.
//!
//! Floats are IEEE binary32 widened to f64 (serde_json prints the shortest round-trip form);
//! the "no value" bytes `ff ff 7f ff` become null (solaredge.md §4).

use super::frame::{frame_crc, Frame};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use std::fmt::Write as _;

/// Bit set in some device ids (DSP vs comm-board side), removed by semonitor's `parseId`
/// (`id & 0xff7fffff`, solaredge.md §1).
pub const ID_FLAG: u32 = 0x0080_0000;
/// The "no value" float: bytes `ff ff 7f ff` (−FLT_MAX little-endian, solaredge.md §4).
pub const NO_VALUE: [u8; 4] = [0xff, 0xff, 0x7f, 0xff];
/// Device record header in a 0x0500 payload: devType u16, devId u32, devLen u16 (§4).
pub const RECORD_HEADER: usize = 8;

// ---------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------

/// Function codes and names (solaredge.md §3): all 418 `PROT_*` constants of jbuehl/solaredge
/// `se/commands.py`, named without their `PROT_CMD_` / `PROT_` prefix (responses keep `RESP_`;
/// JB's typo `PROD_CMD_BOOTLOADER_SECURE` loses its prefix too), plus 0x003d and 0x0503,
/// which JB does not list. Sorted by code.
static FUNCTIONS: &[(u16, &str)] = &[
    (0x0010, "PARAMS_RESET"),
    (0x0011, "PARAMS_SET_SINGLE"),
    (0x0012, "PARAMS_GET_SINGLE"),
    (0x0013, "PARAMS_GET_INFO"),
    (0x0014, "PARAMS_GET_NAME"),
    (0x0015, "PARAMS_GET_NUM"),
    (0x0016, "PARAMS_GET_ALL"),
    (0x0017, "PARAMS_SET_ALL"),
    (0x0018, "PARAMS_SET_SINGLE_NOSAVE"),
    (0x0019, "PARAMS_SAVE"),
    (0x001a, "PARAMS_POLICY_ENABLE"),
    (0x001b, "PARAMS_POLICY_DISABLE"),
    (0x001c, "PARAMS_POLICY_DISABLE_VOLATILE"),
    (0x001d, "PARAMS_SET_POLICY_PASSWORD"),
    (0x001e, "PARAMS_GET_VOLATILE"),
    (0x001f, "PARAMS_SET_VOLATILE"),
    (0x0020, "UPGRADE_START"),
    (0x0021, "UPGRADE_WRITE"),
    (0x0022, "UPGRADE_FINISH"),
    (0x0023, "UPGRADE_READ_DATA"),
    (0x0024, "UPGRADE_READ_SIZE"),
    (0x0030, "MISC_RESET"),
    (0x0031, "MISC_STOP"),
    (0x0032, "MISC_DUMMY"),
    (0x0033, "MISC_GET_VER"),
    (0x0034, "MISC_GET_TYPE"),
    (0x0035, "MISC_PAYLOAD"),
    (0x0036, "MISC_SET_ID"),
    (0x0037, "MISC_READ_MEMORY"),
    (0x0038, "MISC_PARAMS_PARTIAL_RESET"),
    (0x0039, "MISC_GET_MAX_PACKET_SIZE"),
    // Not in JB: sekit's name for the encrypted wrapper (solaredge.md §5).
    (0x003d, "ENCRYPTED"),
    (0x0040, "PARAMS_SMART_LOAD_PARAMS"),
    (0x0041, "MISC_PARAMS_PARTIAL_RESET2"),
    (0x0042, "PARAMS_IGNORE_PARAMS_LIST"),
    (0x0043, "PARAMS_PARTIAL_RESET_AS_LEVEL"),
    (0x0044, "PARAMS_PARTIAL_RESET_PCB_LEVEL"),
    (0x0080, "RESP_ACK"),
    (0x0081, "RESP_NACK"),
    (0x0090, "RESP_PARAMS_SINGLE"),
    (0x0091, "RESP_PARAMS_INFO"),
    (0x0092, "RESP_PARAMS_NAME"),
    (0x0093, "RESP_PARAMS_NUM"),
    (0x0094, "RESP_PARAMS_ALL"),
    (0x0095, "RESP_PARAMS_INCORRECT_PASSWORD"),
    (0x00a0, "RESP_UPGRADE_DATA"),
    (0x00a1, "RESP_UPGRADE_SIZE"),
    (0x00b0, "RESP_MISC_GET_VER"),
    (0x00b1, "RESP_MISC_GET_TYPE"),
    (0x00b2, "RESP_MISC_PAYLOAD"),
    (0x00b3, "RESP_MISC_READ_MEMORY"),
    (0x00b4, "RESP_MISC_GET_MAX_PACKET_SIZE"),
    (0x0100, "MERCURY_PWM_SET"),
    (0x0101, "MERCURY_PWM_ENABLE"),
    (0x0102, "MERCURY_A2D_SAMPLE"),
    (0x0103, "MERCURY_KA"),
    (0x0104, "MERCURY_SET_VIREF"),
    (0x0105, "MERCURY_SET_VOMAXREF"),
    (0x0106, "MERCURY_SET_VOMINREF"),
    (0x0107, "MERCURY_READ_MEAS"),
    (0x0108, "MERCURY_CLOSED_LOOP_START"),
    (0x0109, "MERCURY_OPEN_LOOP_START"),
    (0x010a, "MERCURY_OPEN_LOOP_SET"),
    (0x010b, "MERCURY_SET_12V_10V"),
    (0x010c, "MERCURY_SET_5V_35V"),
    (0x010d, "MERCURY_SET_VO_RANGE"),
    (0x010e, "MERCURY_START_MPPT"),
    (0x010f, "MERCURY_TX_ENABLE"),
    (0x0110, "MERCURY_TX_TEST"),
    (0x0111, "MERCURY_RX_TEST"),
    (0x0112, "MERCURY_FORCE_TELEM"),
    (0x0113, "MERCURY_READ_SAMPLES_DIRECT"),
    (0x0114, "MERCURY_SET_OTP_BLOCK"),
    (0x0115, "MERCURY_SET_CAL_MODE"),
    (0x0116, "MERCURY_SET_VI_RANGE"),
    (0x0117, "MERCURY_AVG_SAMPLE"),
    (0x0118, "MERCURY_GET_TELEM"),
    (0x0119, "MERCURY_DISABLE_PROTECTION"),
    (0x011a, "MERCURY_BYPASS_MODE"),
    (0x011b, "MERCURY_SET_TEMP_CAL_PIN"),
    (0x011c, "MERCURY_SAVE_VOLATILE"),
    (0x011d, "MERCURY_BBB_MODE"),
    (0x011e, "MERCURY_GET_REG"),
    (0x011f, "MERCURY_SET_RES_CIRC_GPIOS"),
    (0x0120, "MERCURY_GET_SNR"),
    (0x0121, "MERCURY_GET_LOOP_MODE"),
    (0x0122, "MERCURY_SET_REG"),
    (0x0123, "MERCURY_DFT"),
    (0x0124, "MERCURY_SET_COMM_SW"),
    (0x0125, "MERCURY_GET_SPI_SAMPLES"),
    (0x0126, "MERCURY_SET_DT"),
    (0x0127, "MERCURY_GET_DFT_AVG"),
    (0x0128, "MERCURY_CONTROL_TEST"),
    (0x0129, "MERCURY_GET_STATUS_REG"),
    (0x012a, "MERCURY_RESET_STATUS_REG"),
    (0x012b, "MERCURY_SET_DPWM_FREQ"),
    (0x0180, "RESP_MERCURY_SAMPLES"),
    (0x0181, "RESP_MERCURY_MON"),
    (0x0182, "RESP_MERCURY_TELEM"),
    (0x0183, "RESP_MERCURY_MEAS"),
    (0x0184, "RESP_MERCURY_RX_TEST_RES"),
    (0x0185, "RESP_MERCURY_SAMPLES_DIRECT"),
    (0x0186, "RESP_MERCURY_AVG_SAMPLE"),
    (0x0187, "RESP_MERCURY_GET_TELEM"),
    (0x0188, "RESP_MERCURY_CONTROL_TEST"),
    (0x0200, "VENUSMNGR_READ_ISE_MEAS1"),
    (0x0201, "VENUSMNGR_READ_ISE_MEAS2"),
    (0x0202, "VENUSMNGR_READ_SE_MEAS"),
    (0x0203, "VENUSMNGR_START_INVERTER"),
    (0x0204, "VENUSMNGR_ISE_DUTY_CYCLE"),
    (0x0205, "VENUSMNGR_GET_SYS_STATUS"),
    (0x0206, "VENUSMNGR_GET_TELEM"),
    (0x0207, "VENUSMNGR_RX_TEST_INIT"),
    (0x0208, "VENUSMNGR_RX_TEST"),
    (0x0209, "VENUSMNGR_TX_TEST_START"),
    (0x020a, "VENUSMNGR_TX_TEST_STOP"),
    (0x020b, "VENUSMNGR_SET_TX_ENABLE"),
    (0x020c, "VENUSMNGR_ENABLE_ISE_WD"),
    (0x020d, "VENUSMNGR_DISABLE_ISE_WD"),
    (0x020e, "VENUSMNGR_GET_COUNTRY_CODE"),
    (0x020f, "VENUSMNGR_SET_COUNTRY"),
    (0x0210, "VENUSMNGR_PRIVILEGED_MODE"),
    (0x0211, "VENUSMNGR_PRIVILEGED_SET_PARAM"),
    (0x0212, "VENUSMNGR_PRIVILEGED_GET_EVENT"),
    (0x0213, "VENUSMNGR_PRIVILEGED_GET_STATUS"),
    (0x0214, "VENUSMNGR_CURRENT_MODEM_START"),
    (0x0215, "VENUSMNGR_CURRENT_MODEM_SEND"),
    (0x0216, "VENUSMNGR_CURRENT_MODEM_SEND_PAIRING"),
    (0x0217, "VENUSMNGR_CURRENT_MODEM_GET_STATUS"),
    (0x0218, "VENUSMNGR_KA_DATA_SEND"),
    (0x0219, "VENUSMNGR_CURRENT_MODEM_END_PAIRING"),
    (0x021a, "VENUSMNGR_FORCE_GRID_MON"),
    (0x021b, "VENUSMNGR_FORCE_SKIP_GRID_MON"),
    (0x021c, "VENUSMNGR_START_SUPERVISE"),
    (0x021d, "VENUSMNGR_READ_A2D_MEAS"),
    (0x021e, "VENUSMNGR_GET_COUNTRY_DEFAULTS"),
    (0x021f, "VENUSMNGR_SET_PRODUCT_MODEL"),
    (0x0220, "VENUSMNGR_GET_PRODUCT_MODEL"),
    (0x0221, "VENUSMNGR_SET_DYNAMIC_INVPWR_PARAM"),
    (0x0222, "INVERTER_ENTER_BURN_INVPWR_MODE"),
    (0x0223, "VENUSMNGR_MPPT_TRAVEL"),
    (0x0224, "VENUSMNGR_SET_PWR_PARAM"),
    (0x0225, "INVERTER_CURRENT_MODEM_SET_DATA_BIT"),
    (0x0280, "RESP_VENUSMNGR_READ_ISE_MEAS1"),
    (0x0281, "RESP_VENUSMNGR_READ_ISE_MEAS2"),
    (0x0282, "RESP_VENUSMNGR_READ_SE_MEAS"),
    (0x0283, "RESP_VENUSMNGR_GET_SYS_STATUS"),
    (0x0284, "RESP_VENUSMNGR_GET_TELEM"),
    (0x0285, "RESP_VENUSMNGR_RX_TEST"),
    (0x0286, "RESP_VENUSMNGR_GET_COUNTRY_CODE"),
    (0x0287, "RESP_VENUSMNGR_PRIVILEGED_GET_EVENT"),
    (0x0288, "RESP_VENUSMNGR_PRIVILEGED_GET_STATUS"),
    (0x0289, "RESP_VENUSMNGR_CURRENT_MODEM_GET_STATUS"),
    (0x028a, "RESP_VENUSMNGR_READ_A2D_MEAS"),
    (0x028b, "RESP_VENUSMNGR_GET_COUNTRY_DEFAULTS"),
    (0x028c, "RESP_VENUSMNGR_GET_PRODUCT_MODEL"),
    (0x028d, "RESP_VENUSMNGR_SET_DYNAMIC_ISE_PARAM"),
    (0x0300, "POLESTAR_TELEMS_START"),
    (0x0301, "POLESTAR_TELEMS_STOP"),
    (0x0302, "POLESTAR_MASTER_GRANT"),
    (0x0303, "POLESTAR_RTC_SET"),
    (0x0304, "POLESTAR_TEST_RAM"),
    (0x0305, "POLESTAR_TEST_FLASH"),
    (0x0306, "POLESTAR_MAC_ADDR_GET"),
    (0x0307, "POLESTAR_IP_ADDR_GET"),
    (0x0308, "POLESTAR_SLAVE_ID_DETECT_INIT"),
    (0x0309, "POLESTAR_SLAVE_ID_DETECT_GET_ID"),
    (0x030a, "POLESTAR_SLAVE_ID_DETECT_STOP"),
    (0x030b, "POLESTAR_UART_ZB_BRIDGE"),
    (0x030c, "POLESTAR_SEND_PING"),
    (0x030d, "POLESTAR_LCD_TEST_MODE"),
    (0x030e, "POLESTAR_CONFTOOL_START"),
    (0x030f, "POLESTAR_ETHERNET_STAT"),
    (0x0310, "POLESTAR_GET_FIFO_FLASH_INFO"),
    (0x0311, "POLESTAR_RESET_FIFO_FLASH"),
    (0x0312, "POLESTAR_RESET_FLASH"),
    (0x0313, "POLESTAR_RS485_MSTR_SLV_DET_START"),
    (0x0314, "POLESTAR_RS485_MSTR_SLV_DET_STATUS"),
    (0x0315, "POLESTAR_UART_ZB_SET"),
    (0x0316, "POLESTAR_TCP_TEST"),
    (0x0317, "POLESTAR_TIMER_ADVANCE"),
    (0x0318, "POLESTAR_ERASE_FLASH_FIFO_FAST"),
    (0x0319, "POLESTAR_SELF_KA"),
    (0x031a, "POLESTAR_ISE_BRIDGE"),
    (0x031b, "POLESTAR_ERASE_STATISTICS"),
    (0x031c, "POLESTAR_GET_POK_STATUS"),
    (0x031d, "POLESTAR_INVERTER_HW_RESET"),
    (0x031e, "POLESTAR_ZB_PRESENT_STATUS"),
    (0x031f, "POLESTAR_GET_ALL_SUPPORTED_LANGUAGES_INDEXES"),
    (0x0320, "POLESTAR_GET_ALL_SUPPORTED_GSM_MODEMS_INDEXES"),
    (0x0321, "POLESTAR_GET_S_OK_STATUS"),
    (0x0322, "POLESTAR_GET_ENERGY_STATISTICS_STATUS"),
    (0x0323, "POLESTAR_GET_GSM_PRESENT_STATUS"),
    (0x0324, "POLESTAR_SET_STATISTICS_ELEMENT"),
    (0x0325, "POLESTAR_GEMINI_RS485_MSTR_SLV_DET_START"),
    (0x0326, "POLESTAR_GEMINI_RS485_MSTR_SLV_DET_STATUS"),
    (0x0327, "POLESTAR_GET_GEMINI_GFD_STATUS"),
    (0x0328, "POLESTAR_GET_ERROR_LOG"),
    (0x0329, "POLESTAR_BLOCK_SERVER_CONTROL"),
    (0x032a, "POLESTAR_GET_SERVER_CONTROL_STATUS"),
    (0x032b, "POLESTAR_TEST_SD_FLASH"),
    (0x032c, "POLESTAR_GET_WARNING_LOG"),
    (0x032d, "POLESTAR_RESET_MODBUS_DEVICE_DATA"),
    (0x032e, "POLESTAR_TURN_OFF_INTERNAL_SRAM_BATTERY_BACKUP"),
    (0x032f, "POLESTAR_WRITE_LCD"),
    (0x0330, "POLESTAR_READ_LAST_BUTTONS"),
    (0x0331, "POLESTAR_GET_STATISTICS_ELEMENT"),
    (0x0332, "POLESTAR_SEND_POWER_REDUCER_SLAVE_PACKET"),
    (0x0333, "POLESTAR_SEND_POWER_REDUCER_MASTER_PACKET"),
    (0x0334, "POLESTAR_GET_WIFI_PRESENT_STATUS"),
    (0x0335, "POLESTAR_GET_PORT_EXPANDER_GPIO_DATA"),
    (0x0336, "POLESTAR_SET_PORT_EXPANDER_GPIO_DATA"),
    (0x0337, "POLESTAR_READ_LCD"),
    (0x0338, "POLESTAR_SIMULATE_BUTTON_PRESSING"),
    (0x0339, "POLESTAR_INV_ACTIVATE"),
    (0x033a, "POLESTAR_MODBUS_SLAVE_PACKET"),
    (0x033b, "POLESTAR_GET_BUTTON_STATE"),
    (0x033c, "POLESTAR_GET_A2D_VALS"),
    (0x033d, "POLESTAR_GET_OPMODE"),
    (0x033e, "POLESTAR_SET_BACKLIGHT"),
    (0x033f, "POLESTAR_READ_FIFO_PAGE"),
    (0x0340, "POLESTAR_GET_CURRENT_SCREEN_INDEX"),
    (0x0341, "POLESTAR_GET_IDENTITY"),
    (0x0342, "POLESTAR_GET_SUPPORTED_COMMANDS"),
    (0x0343, "POLESTAR_PAIRING_START"),
    (0x0344, "POLESTAR_PAIRING_STATUS"),
    (0x0345, "POLESTAR_PRODUCT_RESET"),
    (0x0346, "POLESTAR_PLC_CMD_EXECUTE"),
    (0x0347, "POLESTAR_GET_STATUS"),
    (0x0348, "POLESTAR_FIRE_SAFETY_LOCK_MASTER"),
    (0x0349, "POLESTAR_FIRE_SAFETY_LOCK_SLAVE"),
    (0x034a, "POLESTAR_FIRE_SAFETY_REPORT"),
    (0x034b, "POLESTAR_UART_BRIDGE_INIT"),
    (0x034c, "POLESTAR_SEND_UART_DATA"),
    (0x034d, "POLESTAR_LED_TEST"),
    (0x034e, "POLESTAR_SEND_FAKE_TELEMS"),
    (0x0380, "RESP_POLESTAR_RTC_SET"),
    (0x0381, "RESP_POLESTAR_MAC_ADDR_GET"),
    (0x0382, "RESP_POLESTAR_IP_ADDR_GET"),
    (0x0383, "RESP_POLESTAR_SEND_PING"),
    (0x0384, "RESP_POLESTAR_ETHERNET_STAT"),
    (0x0385, "RESP_POLESTAR_GET_FIFO_FLASH_INFO"),
    (0x0386, "RESP_POLESTAR_RS485_MSTR_SLV_DET_STATUS"),
    (0x0387, "RESP_POLESTAR_TCP_TEST_RESP"),
    (0x0388, "RESP_POLESTAR_GET_POK_STATUS"),
    (0x0389, "RESP_POLESTAR_INVERTER_HW_RESET"),
    (0x038a, "RESP_POLESTAR_GET_ALL_SUPPORTED_LANGUAGES_INDEXES"),
    (0x038b, "RESP_POLESTAR_GET_ALL_SUPPORTED_GSM_MODEMS_INDEXES"),
    (0x038c, "RESP_POLESTAR_GET_S_OK_STATUS"),
    (0x038d, "RESP_POLESTAR_GET_ENERGY_STATISTICS_STATUS"),
    (0x038e, "RESP_POLESTAR_GET_GSM_PRESENT_STATUS"),
    (0x038f, "RESP_POLESTAR_GEMINI_RS485_MSTR_SLV_DET_STATUS"),
    (0x0390, "RESP_POLESTAR_GET_GEMINI_GFD_STATUS"),
    (0x0391, "RESP_POLESTAR_GET_ERROR_LOG"),
    (0x0392, "RESP_POLESTAR_GET_SERVER_CONTROL_STATUS"),
    (0x0393, "RESP_POLESTAR_GET_WARNING_LOG"),
    (0x0394, "RESP_POLESTAR_READ_LAST_BUTTONS"),
    (0x0395, "RESP_POLESTAR_GET_STATISTICS_ELEMENT"),
    (0x0396, "RESP_POLESTAR_GET_WIFI_PRESENT_STATUS"),
    (0x0397, "RESP_POLESTAR_GET_PORT_EXPANDER_GPIO_DATA"),
    (0x0398, "RESP_POLESTAR_READ_LCD"),
    (0x0399, "RESP_POLESTAR_MODBUS_SLAVE_PACKET"),
    (0x039a, "RESP_POLESTAR_MASTER_GRANT_ACK"),
    (0x039b, "RESP_POLESTAR_GET_IDENTITY"),
    (0x039c, "RESP_POLESTAR_GET_SUPPORTED_COMMANDS"),
    (0x039d, "RESP_POLESTAR_PAIRING_START"),
    (0x039e, "RESP_POLESTAR_PAIRING_STATUS"),
    (0x039f, "RESP_POLESTAR_GET_STATUS"),
    (0x03a0, "RESP_POLESTAR_FIRE_SAFETY_REPORT"),
    (0x03a1, "RESP_POLESTAR_SEND_UART_DATA"),
    (0x0400, "SUNTRACER_READ_FLASH"),
    (0x0401, "SUNTRACER_START"),
    (0x0402, "SUNTRACER_SET_RTC"),
    (0x0403, "SUNTRACER_DEL_FLASH"),
    (0x0404, "SUNTRACER_DEL_FLASH_SECTOR"),
    (0x0480, "RESP_SUNTRACER_TRACE"),
    (0x0481, "RESP_SUNTRACER_FLASH"),
    (0x0500, "SERVER_POST_DATA"),
    (0x0501, "SERVER_GET_GMT"),
    (0x0502, "SERVER_GET_NAME"),
    // Not in JB: sekit's name for the session-key exchange (solaredge.md §5).
    (0x0503, "SERVER_SESSION_KEY"),
    (0x0580, "RESP_SERVER_GMT"),
    (0x0581, "RESP_SERVER_NAME"),
    (0x0680, "RESP_CONFTOOL_PLC_DATA"),
    (0x0800, "JUPMNGR_READ_JUPPWR_MEAS1"),
    (0x0801, "JUPMNGR_READ_JUPPWR_MEAS2"),
    (0x0802, "JUPMNGR_READ_JUPPWR_MEAS3"),
    (0x0803, "JUPMNGR_READ_JUPPWR_MEAS4"),
    (0x0804, "JUPMNGR_READ_JUPPWR_MEAS5"),
    (0x0805, "JUPMNGR_READ_MEAS"),
    (0x0806, "JUPMNGR_GET_SYS_STATUS"),
    (0x0807, "JUPMNGR_GET_TELEM"),
    (0x0808, "JUPMNGR_GET_COUNTRY_CODE"),
    (0x0809, "JUPMNGR_SET_COUNTRY"),
    (0x080a, "JUPMNGR_GET_COUNTRY_DEFAULTS"),
    (0x080b, "JUPMNGR_PRIVILEGED_MODE"),
    (0x080c, "JUPMNGR_PRIVILEGED_SET_PARAM"),
    (0x080d, "JUPMNGR_PRIVILEGED_GET_EVENT"),
    (0x080e, "JUPMNGR_PRIVILEGED_GET_STATUS"),
    (0x080f, "JUPMNGR_SET_PRODUCT_MODEL"),
    (0x0810, "JUPMNGR_GET_PRODUCT_MODEL"),
    (0x0811, "JUPMNGR_DYNAMIC_SET_INVPWR_PARAM"),
    (0x0812, "JUPMNGR_GET_INVPWR_PARAM_TYPE"),
    (0x0813, "JUPMNGR_GET_FANS_STATUS"),
    (0x0880, "RESP_JUPMNGR_READ_JUPPWR_MEAS1"),
    (0x0881, "RESP_JUPMNGR_READ_JUPPWR_MEAS2"),
    (0x0882, "RESP_JUPMNGR_READ_JUPPWR_MEAS3"),
    (0x0883, "RESP_JUPMNGR_READ_JUPPWR_MEAS4"),
    (0x0884, "RESP_JUPMNGR_READ_JUPPWR_MEAS5"),
    (0x0885, "RESP_JUPMNGR_READ_MEAS"),
    (0x0886, "RESP_JUPMNGR_GET_SYS_STATUS"),
    (0x0887, "RESP_JUPMNGR_GET_TELEM"),
    (0x0888, "RESP_JUPMNGR_GET_COUNTRY_CODE"),
    (0x0889, "RESP_JUPMNGR_GET_COUNTRY_DEFAULTS"),
    (0x088a, "RESP_JUPMNGR_PRIVILEGED_GET_EVENT"),
    (0x088b, "RESP_JUPMNGR_PRIVILEGED_GET_STATUS"),
    (0x088c, "RESP_JUPMNGR_GET_PRODUCT_MODEL"),
    (0x088d, "RESP_JUPMNGR_GET_INVPWR_PARAM_TYPE"),
    (0x088e, "RESP_JUPMNGR_GET_FANS_STATUS"),
    (0x0900, "INVERTER_TURN_15V_ON"),
    (0x0901, "INVERTER_TURN_15V_OFF"),
    (0x0902, "INVERTER_ENABLE_RELAYS"),
    (0x0903, "INVERTER_DISABLE_RELAYS"),
    (0x0904, "INVERTER_DYNAMIC_POWER_LIMIT"),
    (0x0905, "INVERTER_IVTRACE_START"),
    (0x0906, "INVERTER_GRID_TRIP_TEST"),
    (0x0907, "INVERTER_SET_LMVGC_PARAMS1"),
    (0x0908, "INVERTER_GET_LMVGC_PARAMS1"),
    (0x0909, "INVERTER_SET_PWR_GAIN_PARAMS"),
    (0x090a, "INVERTER_SET_LMVGC_PARAMS2"),
    (0x090b, "INVERTER_GET_LMVGC_PARAMS2"),
    (0x090c, "INVERTER_SET_LMVGC_PARAMS3"),
    (0x090d, "INVERTER_GET_LMVGC_PARAMS3"),
    (0x090e, "INVERTER_LOCK_IN"),
    (0x090f, "INVERTER_LOCK_OUT"),
    (0x0910, "INVERTER_GET_VDC"),
    (0x0911, "INVERTER_PAIRING_DO_NOTHING"),
    (0x0912, "INVERTER_PAIRING_DO_SAFETY"),
    (0x0980, "RESP_INVERTER_DYNAMIC_POWER_LIMIT"),
    (0x0981, "RESP_INVERTER_GET_LMVGC_PARAMS"),
    (0x0a00, "VEGA_READ_MEAS"),
    (0x0a01, "VEGA_GET_SYS_STATUS"),
    (0x0a02, "VEGA_GET_TELEM"),
    (0x0a03, "VEGA_GET_MAX_VDC_VALUE"),
    (0x0a04, "VEGA_SET_MAX_VDC_VALUE"),
    (0x0a05, "VEGA_RELAY_SET"),
    (0x0a06, "VEGA_SET_OPMODE"),
    (0x0a07, "VEGA_GET_OPMODE"),
    (0x0a08, "VEGA_SET_RANGE"),
    (0x0a80, "RESP_VEGA_READ_MEAS"),
    (0x0a81, "RESP_VEGA_GET_SYS_STATUS"),
    (0x0a82, "RESP_VEGA_GET_TELEM"),
    (0x0a83, "RESP_VEGA_GET_MAX_VDC_VALUE"),
    (0x0b00, "COMBI_PAUSE_MONITORING"),
    (0x0b01, "COMBI_SET_TIME_STAMP"),
    (0x0b02, "COMBI_RCD_CALIBRATION"),
    (0x0b03, "COMBI_GET_TELEM"),
    (0x0b04, "COMBI_FORCE_TELEM"),
    (0x0b05, "COMBI_SWITCHES_CONNECT"),
    (0x0b06, "COMBI_SWITCHES_DISCONNECT"),
    (0x0b07, "COMBI_SWITCHES_CONNECT_ALL"),
    (0x0b08, "COMBI_SWITCHES_DISCONNECT_ALL"),
    (0x0b09, "COMBI_RCD_TEST_EXECUTE"),
    (0x0b0a, "COMBI_RELAYS_TEST_EXECUTE"),
    (0x0b0b, "COMBI_GET_COMBISTRING_PARAM"),
    (0x0b0c, "COMBI_SET_COMBISTRING_PARAM"),
    (0x0b0d, "COMBI_GET_ALL_COMBISTRING_PARAMS"),
    (0x0b0e, "COMBI_GET_ALL_COMBI_PARAMS"),
    (0x0b0f, "COMBI_READ_MEASUREMENTS"),
    (0x0b10, "COMBI_GET_STRING_STATUS"),
    (0x0b11, "COMBI_GET_COMBI_STATUS"),
    (0x0b12, "COMBI_GET_ACTIVE_STRINGS"),
    (0x0b13, "COMBI_FWD_STRING_TELEM"),
    (0x0b14, "COMBI_FWD_COMBI_TELEM"),
    (0x0b15, "COMBI_GET_UNIFIED_STRING_STATUS"),
    (0x0b16, "COMBI_GET_UNIFIED_COMBI_STATUS"),
    (0x0b17, "COMBI_CHECK_INNER_PROTOCOL"),
    (0x0b18, "COMBI_SWITCHES_CONNECT_RELAY"),
    (0x0b19, "COMBI_SWITCHES_DISCONNECT_RELAY"),
    (0x0b1a, "COMBI_GET_GEMINI_STRING_IDS"),
    (0x0b1b, "COMBI_GET_ALL_SWITCHES_STATUS"),
    (0x0b1c, "COMBI_SET_RCD_TEST_PIN"),
    (0x0b1d, "COMBI_RELAYS_TEST_CHECK_CONDS"),
    (0x0b80, "RESP_COMBI_GET_TELEM"),
    (0x0b81, "RESP_COMBI_GET_STRING_STATUS"),
    (0x0b82, "RESP_COMBI_GET_COMBI_STATUS"),
    (0x0b83, "RESP_COMBI_GET_ACTIVE_STRINGS"),
    (0x0b84, "RESP_COMBI_GET_UNIFIED_STRING_STATUS"),
    (0x0b85, "RESP_COMBI_GET_UNIFIED_COMBI_STATUS"),
    (0x0b86, "RESP_COMBI_GET_GEMINI_STRING_IDS"),
    (0x0c00, "INVPWR_GET_ERROR_STATUS"),
    (0x0c01, "INVPWR_GET_STATUS"),
    (0x0c02, "INVPWR_GO"),
    (0x0c03, "INVPWR_HALT"),
    (0x0c04, "INVPWR_CONST_DUTY_CYCLE"),
    (0x0c05, "INVPWR_DUMY_ERROR"),
    (0x0c06, "INVPWR_PAIRING_SET_STATE"),
    (0x0c07, "INVPWR_TEST_IAC_CONTROL"),
    (0x0c80, "RESP_INVPWR_GET_ERROR_STATUS"),
    (0x0c81, "RESP_INVPWR_GET_STATUS"),
    (0x0c82, "RESP_INVPWR_GO"),
    (0x0c83, "RESP_INVPWR_HALT"),
    (0x0c84, "RESP_INVPWR_CONST_DUTY_CYCLE"),
    (0x0c85, "RESP_INVPWR_DUMY_ERROR"),
    (0x1400, "BOOTLOADER_SECURE"),
    (0x1401, "BOOTLOADER_UNSECURE"),
    (0x1500, "ACTIVATOR_ACTIVATE"),
    (0x1501, "ACTIVATOR_GET_ADC_SAMPLES"),
    (0x1502, "ACTIVATOR_SET_VO_RANGE"),
    (0x1503, "ACTIVATOR_GET_AVG_SAMPLES"),
    (0x1504, "ACTIVATOR_TX_TEST"),
    (0x1505, "ACTIVATOR_LCD_TEST"),
    (0x1506, "ACTIVATOR_BUTTONS_TEST"),
    (0x1600, "FANCONTROL_SET_PWM"),
    (0x1601, "FANCONTROL_GET_PWM"),
    (0x1602, "FANCONTROL_GET_ALL_PWM"),
    (0x1603, "FANCONTROL_SHUT_ALL_PWM"),
    (0x1680, "FANCONTROL_RES"),
    (0x1700, "DISPLAY_BOARD_LCD_WRITE"),
    (0x1701, "DISPLAY_BOARD_LED_SET"),
];

/// The name of a function code (solaredge.md §3), `None` for codes no source names.
pub fn function_name(code: u16) -> Option<&'static str> {
    FUNCTIONS
        .binary_search_by_key(&code, |&(c, _)| c)
        .ok()
        .map(|i| FUNCTIONS[i].1)
}

/// The name of a function code, or `unknown-0x1234` for codes no source names.
pub fn function_label(code: u16) -> String {
    function_name(code).map_or_else(|| format!("unknown-0x{code:04x}"), str::to_owned)
}

/// A device id as semonitor prints it: `id & 0xff7fffff` in upper-case hex without leading
/// zeros (JB `se/data.py` `parseId`; solaredge.md §1). Bit 0x00400000 (JB issue #8) is kept.
pub fn device_id(raw: u32) -> String {
    format!("{:X}", raw & !ID_FLAG)
}

/// A frame address: [`device_id`] for devices; addresses with bit 31 set (0xfffffffd server,
/// 0xfffffffe master, 0xffffffff broadcast) are not device ids and are shown unmasked
/// ("FFFFFFFE"). wgrant/pysolaredge tells the two apart the same way (bit 31 clear = device).
pub fn address(raw: u32) -> String {
    if raw & 0x8000_0000 != 0 {
        format!("{raw:X}")
    } else {
        device_id(raw)
    }
}

/// A 32-bit value as 8 lower-case hex digits (addresses and ids as sent).
pub fn hex32(raw: u32) -> String {
    format!("{raw:08x}")
}

/// Bytes as lower-case hex without separators.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Unix seconds (UTC) as ISO 8601, e.g. "2015-08-18T11:11:43Z".
pub fn iso_time(ts: u32) -> String {
    let secs = i64::from(ts);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// Proleptic Gregorian (year, month, day) of a day count since 1970-01-01, computed by
/// 400-year eras counted from 0000-03-01 (so the leap day ends each era year).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468; // days from 0000-03-01 to 1970-01-01
    let era = z.div_euclid(146_097); // days per 400 years
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153; // month from March = 0
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m as u32, d as u32)
}

/// Name of a 0x0500 device record type (solaredge.md §4); "unknown" for the others.
pub fn device_type_name(dev_type: u16) -> &'static str {
    match dev_type {
        0x0000 => "optimizer_old",
        0x0080 => "optimizer",
        0x0082 => "optimizer_s440",
        0x0010 => "inverter_1ph",
        0x0011 => "inverter_3ph",
        0x0300 => "event",
        0x0022 => "meter",
        0x0030 => "battery",
        0x0043 => "optimizer_daily",
        _ => "unknown",
    }
}

/// Inverter operating mode (1-ph offset 68, 3-ph offset 108; solaredge.md §4, WG/SL/JB).
pub fn mode_name(mode: u32) -> &'static str {
    match mode {
        1 => "OFF",
        2 => "SLEEPING",
        3 => "STARTING",
        4 => "MPPT",
        5 => "THROTTLED",
        6 => "SHUTTING_DOWN",
        8 => "STANDBY",
        _ => "unknown",
    }
}

/// Meter record type (0x0022 offset 4; JB `datadevices.py` recType labels).
pub fn meter_type_name(rec_type: i8) -> &'static str {
    match rec_type {
        3 => "consumption",
        5 => "grid_import_export",
        7 => "battery",
        8 => "mostly_zero",
        9 => "pv_production",
        _ => "unknown",
    }
}

/// Battery charging status (0x0030 offset 64; JB `datadevices.py`).
pub fn battery_status_name(status: u16) -> &'static str {
    match status {
        3 => "charging",
        4 => "discharging",
        6 => "holding",
        _ => "unknown",
    }
}

/// Parameter value type of a 0x0090 reply (solaredge.md §3; WG `params.py`).
pub fn param_type_name(ty: u16) -> &'static str {
    match ty {
        0 => "uint",
        1 => "float",
        2 => "int32",
        3 => "string",
        _ => "unknown",
    }
}

/// sekit's labels for the parameters holding the inverter's AES key (solaredge.md §5; JB
/// `utilities/sekey.py`). JB has no parameter-name table, so no other id is named.
pub fn param_name(param: u16) -> Option<&'static str> {
    match param {
        0x0239 => Some("inverter_key_1"),
        0x023a => Some("inverter_key_2"),
        0x023b => Some("inverter_key_3"),
        0x023c => Some("inverter_key_4"),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------

/// One decoded value. `Float(None)` is the "no value" sentinel (serialised as null).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    UInt(u64),
    Int(i64),
    Float(Option<f64>),
    Str(String),
    List(Vec<Fields>),
}

impl Value {
    /// Any number as f64 (`None` for null, strings and lists).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::UInt(u) => Some(u as f64),
            Value::Int(i) => Some(i as f64),
            Value::Float(f) => f,
            _ => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::UInt(u) => Some(u),
            Value::Int(i) => u64::try_from(i).ok(),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::UInt(u) => i64::try_from(u).ok(),
            Value::Int(i) => Some(i),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Fields]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// The "no value" sentinel.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Float(None))
    }
}

/// Named values in output order; serialised as a JSON object.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fields(pub Vec<(&'static str, Value)>);

impl Fields {
    /// The first value of that name.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    pub fn push(&mut self, name: &'static str, value: Value) {
        self.0.push((name, value));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Value)> {
        self.0.iter().map(|(n, v)| (*n, v))
    }

    fn uint(&mut self, name: &'static str, v: impl Into<u64>) {
        self.push(name, Value::UInt(v.into()));
    }

    fn int(&mut self, name: &'static str, v: impl Into<i64>) {
        self.push(name, Value::Int(v.into()));
    }

    fn float(&mut self, name: &'static str, v: Option<f64>) {
        self.push(name, Value::Float(v));
    }

    fn str(&mut self, name: &'static str, v: impl Into<String>) {
        self.push(name, Value::Str(v.into()));
    }
}

impl Serialize for Fields {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// A binary32 at the start of `b` widened to f64; the "no value" bytes give `None`.
fn f32_value(b: [u8; 4]) -> Option<f64> {
    (b != NO_VALUE).then(|| f64::from(f32::from_le_bytes(b)))
}

// ---------------------------------------------------------------------------------------
// Device records (solaredge.md §4)
// ---------------------------------------------------------------------------------------

/// How a body field is read.
#[derive(Clone, Copy)]
enum K {
    U32,
    I32,
    U16,
    I8,
    F32,
    /// u32 mode, followed by `mode_name`.
    Mode,
    /// i8 meter record type, followed by `rec_type_name`.
    MeterType,
    /// u16 battery status, followed by `status_name`.
    BatteryStatus,
    /// n bytes as hex.
    Hex(usize),
    /// n bytes of NUL-padded ASCII.
    Ascii(usize),
    /// u32 device id (masked, [`device_id`]), followed by the raw id under the given name.
    Id(&'static str),
    /// u32 shown as 8 hex digits (an id-like value, unmasked).
    Hex32,
}

impl K {
    fn size(self) -> usize {
        match self {
            K::U32 | K::I32 | K::F32 | K::Mode | K::Id(_) | K::Hex32 => 4,
            K::U16 | K::BatteryStatus => 2,
            K::I8 | K::MeterType => 1,
            K::Hex(n) | K::Ascii(n) => n,
        }
    }
}

type Layout = &'static [(usize, K, &'static str)];

/// 0x0010 single-phase inverter (solaredge.md §4 table; WG `telemetry.py`, SL
/// `SEDataInverter1`, JB `dataparams.py`). Offset 72 is JB's `Pmax` and WG/SL's isolation
/// (ground-fault) resistance: both names are emitted.
const INVERTER_1PH: Layout = &[
    (4, K::U32, "uptime"),
    (8, K::U32, "interval"),
    (12, K::F32, "temp"),
    (16, K::F32, "e_day"),
    (20, K::F32, "e_interval"),
    (24, K::F32, "v_ac"),
    (28, K::F32, "i_ac"),
    (32, K::F32, "freq"),
    (36, K::F32, "e_day_dc"),
    (40, K::F32, "e_interval_dc"),
    (44, K::F32, "v_dc"),
    (48, K::F32, "i_dc"),
    (52, K::F32, "e_total"),
    (56, K::F32, "i_rcd"),
    (60, K::F32, "unk_60"),
    (64, K::F32, "cos_phi"),
    (68, K::Mode, "mode"),
    (72, K::F32, "pmax_semonitor"),
    (72, K::F32, "isolation_resistance"),
    (76, K::F32, "power_limit"),
    (80, K::F32, "i_out_dc"),
    (84, K::F32, "unk_84"),
    (88, K::F32, "unk_88"),
    (92, K::F32, "p_ac"),
    (96, K::F32, "p_apparent"),
    (100, K::F32, "p_reactive"),
    (104, K::F32, "unk_104"),
    (108, K::F32, "unk_108"),
    (112, K::F32, "unk_112"),
    (116, K::U32, "e_total_int"),
    (120, K::U32, "unk_120"),
];
/// Body lengths seen for 0x0010 (JB #8: 104, JB #4: 124, SL: 124/174/180/186, WG: ≥104).
const INVERTER_1PH_LENS: &[u16] = &[104, 120, 124, 174, 180, 186];

/// 0x0011 three-phase inverter, se-logger's `SEDataInverter3` 200-byte layout (which fits the
/// real JB #11 record); JB/DT's 128-byte `inv3PhInFmt` agrees on the names up to offset 124
/// except where noted in docs/SOLAREDGE.md. Offset 112 is JB's `GndFrR` (sic): both names.
const INVERTER_3PH: Layout = &[
    (4, K::U32, "uptime"),
    (8, K::U32, "interval"),
    (12, K::F32, "temp"),
    (16, K::F32, "e_day"),
    (20, K::F32, "e_interval"),
    (24, K::F32, "v_ac1"),
    (28, K::F32, "v_ac2"),
    (32, K::F32, "v_ac3"),
    (36, K::F32, "i_ac1"),
    (40, K::F32, "i_ac2"),
    (44, K::F32, "i_ac3"),
    (48, K::F32, "freq1"),
    (52, K::F32, "freq2"),
    (56, K::F32, "freq3"),
    (60, K::F32, "e_day_dc"),
    (64, K::F32, "e_interval_dc"),
    (68, K::F32, "v_dc"),
    (72, K::F32, "i_dc"),
    (76, K::F32, "e_total"),
    (80, K::F32, "i_rcd"),
    (84, K::F32, "unk_84"),
    (88, K::F32, "unk_88"),
    (92, K::F32, "unk_92"),
    (96, K::F32, "cos_phi1"),
    (100, K::F32, "cos_phi2"),
    (104, K::F32, "cos_phi3"),
    (108, K::Mode, "mode"),
    (112, K::F32, "gndfrr_semonitor"),
    (112, K::F32, "isolation_resistance"),
    (116, K::F32, "power_limit"),
    (120, K::F32, "i_out_dc1"),
    (124, K::F32, "i_out_dc2"),
    (128, K::F32, "i_out_dc3"),
    (132, K::F32, "v_l1_l2"),
    (136, K::F32, "v_l2_l3"),
    (140, K::F32, "v_l3_l1"),
    (144, K::F32, "p_ac1"),
    (148, K::F32, "p_ac2"),
    (152, K::F32, "p_ac3"),
    (156, K::F32, "p_apparent1"),
    (160, K::F32, "p_apparent2"),
    (164, K::F32, "p_apparent3"),
    (168, K::F32, "p_reactive1"),
    (172, K::F32, "p_reactive2"),
    (176, K::F32, "p_reactive3"),
    (180, K::F32, "unk_180"),
    (184, K::F32, "unk_184"),
    (188, K::F32, "unk_188"),
    (192, K::U32, "e_total_int"),
    (196, K::U32, "unk_196"),
];
/// Body lengths seen for 0x0011 (SL: 200/264/266, JB #11: 258).
const INVERTER_3PH_LENS: &[u16] = &[200, 258, 264, 266];

/// 0x0000 optimizer, old format, 36 bytes (JB `optInFmt` "<LLLLfffff").
const OPTIMIZER_OLD: Layout = &[
    (4, K::Id("inverter_raw"), "inverter"),
    (8, K::Hex32, "unk_8"),
    (12, K::U32, "uptime"),
    (16, K::F32, "v_mod"),
    (20, K::F32, "v_opt"),
    (24, K::F32, "i_mod"),
    (28, K::F32, "e_day"),
    (32, K::F32, "temp"),
];

/// 0x0300 event, 28 bytes (JB `eventInFmt` "<LLLlLLL"); interpretation added after.
const EVENT: Layout = &[
    (4, K::U32, "event_type"),
    (8, K::U32, "event1"),
    (12, K::I32, "event2"),
    (16, K::U32, "event3"),
    (20, K::U32, "event4"),
    (24, K::U32, "event5"),
];

/// 0x0022 meter, 58 bytes (JB `datadevices.py` `ParseDevice_0x0022`). Each lifetime total is
/// followed by 4 bytes (JB: u16 always 0, then a flag, `00 80` = not reported) kept as hex.
const METER: Layout = &[
    (4, K::MeterType, "rec_type"),
    (5, K::I8, "only_interval_data"),
    (6, K::U32, "total_e_to_grid"),
    (10, K::Hex(4), "total_e_to_grid_flag"),
    (14, K::U32, "total_e_from_grid"),
    (18, K::Hex(4), "total_e_from_grid_flag"),
    (22, K::U32, "total_22"),
    (26, K::Hex(4), "total_22_flag"),
    (30, K::U32, "total_30"),
    (34, K::Hex(4), "total_30_flag"),
    (38, K::U32, "interval"),
    (42, K::U32, "e_to_x"),
    (46, K::U32, "e_from_x"),
    (50, K::F32, "p_to_x"),
    (54, K::F32, "p_from_x"),
];

/// 0x0030 battery, 86 bytes (JB `datadevices.py` `ParseDevice_0x0030`).
const BATTERY: Layout = &[
    (4, K::Ascii(12), "battery_id"),
    (16, K::F32, "v_dc"),
    (20, K::F32, "i_dc"),
    (24, K::F32, "capacity_nom"),
    (28, K::F32, "capacity_actual"),
    (32, K::F32, "charge"),
    (36, K::U32, "total_e_in"),
    (40, K::F32, "unk_40"),
    (44, K::U32, "total_e_out"),
    (48, K::F32, "unk_48"),
    (52, K::Hex(4), "unk_52"),
    (56, K::Hex(4), "unk_56"),
    (60, K::F32, "temp"),
    (64, K::BatteryStatus, "status"),
    (66, K::F32, "unk_66"),
    (70, K::F32, "unk_70"),
    (74, K::U32, "interval"),
    (78, K::U32, "e_in"),
    (82, K::U32, "e_out"),
];

/// 0x0043 daily optimizer list (WG): header words after the timestamp.
const OPTIMIZER_DAILY: Layout = &[
    (4, K::U16, "unk_4"),
    (6, K::U16, "unk_6"),
    (8, K::U16, "unk_8"),
    (10, K::U16, "unk_10"),
];

/// Reads fields of one record body, remembering how far it got.
struct Rd<'a> {
    b: &'a [u8],
    out: Fields,
    /// End of the furthest field decoded (bytes after it are kept raw).
    end: usize,
}

impl<'a> Rd<'a> {
    fn new(b: &'a [u8]) -> Self {
        Rd {
            b,
            out: Fields::default(),
            end: 0,
        }
    }

    fn get(&mut self, off: usize, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(off..off.checked_add(n)?)?;
        self.end = self.end.max(off + n);
        Some(s)
    }

    fn arr<const N: usize>(&mut self, off: usize) -> Option<[u8; N]> {
        self.get(off, N).and_then(|s| s.try_into().ok())
    }

    fn u32(&mut self, off: usize) -> Option<u32> {
        self.arr(off).map(u32::from_le_bytes)
    }

    fn u16(&mut self, off: usize) -> Option<u16> {
        self.arr(off).map(u16::from_le_bytes)
    }

    /// Reads every field of `layout` that lies wholly inside the body.
    fn layout(&mut self, layout: Layout) {
        for &(off, kind, name) in layout {
            if self.b.len() < off + kind.size() {
                continue;
            }
            let mut o = Fields::default();
            match kind {
                K::U32 => o.uint(name, self.u32(off).unwrap_or(0)),
                K::I32 => o.int(name, self.arr(off).map_or(0, i32::from_le_bytes)),
                K::U16 => o.uint(name, self.u16(off).unwrap_or(0)),
                K::I8 => o.int(name, self.arr(off).map_or(0, i8::from_le_bytes)),
                K::F32 => o.float(name, self.arr(off).and_then(f32_value)),
                K::Mode => {
                    let m = self.u32(off).unwrap_or(0);
                    o.uint(name, m);
                    o.str("mode_name", mode_name(m));
                }
                K::MeterType => {
                    let t = self.arr(off).map_or(0, i8::from_le_bytes);
                    o.int(name, t);
                    o.str("rec_type_name", meter_type_name(t));
                }
                K::BatteryStatus => {
                    let s = self.u16(off).unwrap_or(0);
                    o.uint(name, s);
                    o.str("status_name", battery_status_name(s));
                }
                K::Hex(n) => o.str(name, hex(self.get(off, n).unwrap_or_default())),
                K::Ascii(n) => o.str(name, ascii(self.get(off, n).unwrap_or_default())),
                K::Id(raw_name) => {
                    let id = self.u32(off).unwrap_or(0);
                    o.str(name, device_id(id));
                    o.str(raw_name, hex32(id));
                }
                K::Hex32 => o.str(name, hex32(self.u32(off).unwrap_or(0))),
            }
            self.out.0.append(&mut o.0);
        }
    }
}

/// NUL-padded text: up to the first NUL; bytes outside printable ASCII as `\xNN`.
fn ascii(b: &[u8]) -> String {
    let b = b.split(|&c| c == 0).next().unwrap_or_default();
    let mut s = String::with_capacity(b.len());
    for &c in b {
        if (0x20..0x7f).contains(&c) && c != b'\\' {
            s.push(char::from(c));
        } else {
            let _ = write!(s, "\\x{c:02x}");
        }
    }
    s
}

/// One device record of a 0x0500 payload (solaredge.md §4): the header, the body bytes
/// present, and what was decoded from them. Serialised as one JSON object: `type` ("0x0010"),
/// `type_name`, `id`, `id_raw`, `len` (declared), `ts`, `time`, the named values, `raw` (hex
/// of undecoded trailing body bytes) and `anomaly`.
#[derive(Clone, Debug, PartialEq)]
pub struct Device {
    pub dev_type: u16,
    pub id_raw: u32,
    /// devLen as declared in the record header.
    pub len: u16,
    /// The body bytes present (shorter than `len` when the payload ends early).
    pub body: Vec<u8>,
    /// Body offset 0 (unix seconds UTC), when the body has 4 bytes.
    pub ts: Option<u32>,
    pub values: Fields,
    /// Body bytes after the last decoded field.
    pub raw: Vec<u8>,
    pub anomaly: Option<String>,
}

impl Device {
    pub fn type_name(&self) -> &'static str {
        device_type_name(self.dev_type)
    }

    /// The id as semonitor prints it ([`device_id`]).
    pub fn id(&self) -> String {
        device_id(self.id_raw)
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }

    /// A value as f64 (`None` when absent or null).
    pub fn f64(&self, name: &str) -> Option<f64> {
        self.get(name).and_then(Value::as_f64)
    }
}

impl Serialize for Device {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type", &format!("0x{:04x}", self.dev_type))?;
        m.serialize_entry("type_name", self.type_name())?;
        m.serialize_entry("id", &self.id())?;
        m.serialize_entry("id_raw", &hex32(self.id_raw))?;
        m.serialize_entry("len", &self.len)?;
        if let Some(ts) = self.ts {
            m.serialize_entry("ts", &ts)?;
            m.serialize_entry("time", &iso_time(ts))?;
        }
        for (k, v) in &self.values.0 {
            m.serialize_entry(k, v)?;
        }
        if !self.raw.is_empty() {
            m.serialize_entry("raw", &hex(&self.raw))?;
        }
        if let Some(a) = &self.anomaly {
            m.serialize_entry("anomaly", a)?;
        }
        m.end()
    }
}

/// Expected-length check: a note when `len` is none of `known`.
fn check_len(notes: &mut Vec<String>, dev_type: u16, len: u16, known: &[u16]) {
    if !known.contains(&len) {
        let list: Vec<String> = known.iter().map(u16::to_string).collect();
        notes.push(format!(
            "unexpected length {len} for {} (known: {}); decoded the fields that fit",
            device_type_name(dev_type),
            list.join(", ")
        ));
    }
}

/// 0x0080 packed optimizer fields (bytes 4..13; also the first 13 bytes of 0x0082):
/// uptime u16; LE word W at 6: Vmod = (W & 0x3ff)/8 V, Vopt = ((W >> 10) & 0x3ff)/8 V,
/// Imod = ((W >> 20) & 0xfff)/160 A; Eday u16/4 Wh; Temp i8·2 °C (solaredge.md §4, bit-exact
/// with JB `parseNewOptData`, WG and SL). Imod is n/160, the correctly rounded value of JB's
/// 0.00625·n.
fn packed_optimizer(rd: &mut Rd<'_>) {
    if let Some(up) = rd.u16(4) {
        rd.out.uint("uptime", up);
    }
    if let Some(w) = rd.u32(6) {
        rd.out.float("v_mod", Some(f64::from(w & 0x3ff) / 8.0));
        rd.out
            .float("v_opt", Some(f64::from((w >> 10) & 0x3ff) / 8.0));
        rd.out
            .float("i_mod", Some(f64::from((w >> 20) & 0xfff) / 160.0));
    }
    if let Some(e) = rd.u16(10) {
        rd.out.float("e_day", Some(f64::from(e) / 4.0));
    }
    if let Some([t]) = rd.arr::<1>(12) {
        rd.out
            .float("temp", Some(f64::from(i8::from_le_bytes([t])) * 2.0));
    }
}

/// Decodes one device record body (solaredge.md §4). `body` may be shorter than `len`.
pub fn decode_record(dev_type: u16, id_raw: u32, len: u16, body: &[u8]) -> Device {
    let mut rd = Rd::new(body);
    let mut notes = Vec::new();
    if body.len() < usize::from(len) {
        notes.push(format!(
            "record truncated: {len} bytes declared, {} present",
            body.len()
        ));
    }
    let ts = rd.u32(0);
    if ts.is_none() && !body.is_empty() {
        notes.push(format!("{} bytes, too short for a timestamp", body.len()));
    }
    match dev_type {
        0x0010 => {
            rd.layout(INVERTER_1PH);
            check_len(&mut notes, dev_type, len, INVERTER_1PH_LENS);
        }
        0x0011 => {
            rd.layout(INVERTER_3PH);
            check_len(&mut notes, dev_type, len, INVERTER_3PH_LENS);
        }
        0x0000 => {
            rd.layout(OPTIMIZER_OLD);
            check_len(&mut notes, dev_type, len, &[36]);
        }
        0x0080 => {
            packed_optimizer(&mut rd);
            check_len(&mut notes, dev_type, len, &[13]);
        }
        0x0082 => {
            packed_optimizer(&mut rd);
            if len < 13 {
                notes.push(format!("length {len} < 13 for optimizer_s440"));
            }
        }
        0x0300 => {
            rd.layout(EVENT);
            event_times(&mut rd.out);
            check_len(&mut notes, dev_type, len, &[28]);
        }
        0x0022 => {
            rd.layout(METER);
            check_len(&mut notes, dev_type, len, &[58]);
        }
        0x0030 => {
            rd.layout(BATTERY);
            check_len(&mut notes, dev_type, len, &[86]);
        }
        0x0043 => {
            rd.layout(OPTIMIZER_DAILY);
            optimizer_daily(&mut rd, &mut notes, len);
        }
        _ => {}
    }
    let raw = body.get(rd.end..).unwrap_or_default().to_vec();
    Device {
        dev_type,
        id_raw,
        len,
        body: body.to_vec(),
        ts,
        values: rd.out,
        raw,
        anomaly: (!notes.is_empty()).then(|| notes.join("; ")),
    }
}

/// Event meaning (JB `parseEventData`, solaredge.md §4): event1 = start; type 0: event2 = end;
/// other types: event2 = tz offset (s, signed), event3 = end.
fn event_times(out: &mut Fields) {
    let get = |n| out.get(n).and_then(Value::as_i64);
    let (Some(ty), Some(e1)) = (get("event_type"), get("event1")) else {
        return;
    };
    let (e2, e3) = (get("event2"), get("event3"));
    let start = iso_time(e1 as u32);
    out.str("start", start);
    if ty == 0 {
        if let Some(e2) = e2 {
            out.str("end", iso_time(e2 as u32));
        }
    } else {
        if let Some(e2) = e2 {
            out.int("tz_offset_s", e2);
        }
        if let Some(e3) = e3 {
            out.str("end", iso_time(e3 as u32));
        }
    }
}

/// 0x0043 entries after the 12-byte header: (u32 optimizer id, u8) pairs (WG guess,
/// solaredge.md §4).
fn optimizer_daily(rd: &mut Rd<'_>, notes: &mut Vec<String>, len: u16) {
    if len < 12 {
        notes.push(format!("length {len} < 12 for optimizer_daily"));
        return;
    }
    if rd.b.len() < 12 {
        return; // truncated inside the header (already noted)
    }
    let mut list = Vec::new();
    let mut off = 12;
    while let (Some(id), Some([v])) = (rd.u32(off), rd.arr::<1>(off + 4)) {
        let mut e = Fields::default();
        e.str("id", device_id(id));
        e.str("id_raw", hex32(id));
        e.uint("value", v);
        list.push(e);
        off += 5;
    }
    // A partial last entry is not decoded: it stays in `raw`.
    rd.end = off;
    if usize::from(len) > 12 && !(usize::from(len) - 12).is_multiple_of(5) {
        notes.push(format!(
            "length {len}: {} bytes after the header are not whole 5-byte entries",
            usize::from(len) - 12
        ));
    }
    rd.out.push("entries", Value::List(list));
}

/// Walks the device records of a 0x0500 payload (`devType u16 | devId u32 | devLen u16 |
/// body`, solaredge.md §4) and decodes each. Returns the records and, when the payload does
/// not end exactly after the last record, why (a truncated last record is still returned with
/// the bytes present; fewer than 8 trailing bytes are reported and not returned).
pub fn parse_devices(payload: &[u8]) -> (Vec<Device>, Option<String>) {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < payload.len() {
        let rest = &payload[pos..];
        if rest.len() < RECORD_HEADER {
            return (
                out,
                Some(format!(
                    "{} trailing bytes at offset {pos}, too short for a record header",
                    rest.len()
                )),
            );
        }
        let dev_type = u16::from_le_bytes([rest[0], rest[1]]);
        let id = u32::from_le_bytes([rest[2], rest[3], rest[4], rest[5]]);
        let len = u16::from_le_bytes([rest[6], rest[7]]);
        let avail = rest.len() - RECORD_HEADER;
        let take = usize::from(len).min(avail);
        out.push(decode_record(
            dev_type,
            id,
            len,
            &rest[RECORD_HEADER..RECORD_HEADER + take],
        ));
        if take < usize::from(len) {
            return (
                out,
                Some(format!(
                    "record at offset {pos} (type 0x{dev_type:04x}) declares {len} bytes, \
                     {avail} present"
                )),
            );
        }
        pos += RECORD_HEADER + take;
    }
    (out, None)
}

// ---------------------------------------------------------------------------------------
// Frames
// ---------------------------------------------------------------------------------------

/// One decoded frame (schema in the module documentation). Serialises as one JSON object
/// starting with `"proto":"solaredge"`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Decoded {
    /// Always "solaredge".
    pub proto: &'static str,
    pub seq: u16,
    /// Source address ([`address`]).
    pub from: String,
    pub to: String,
    /// Addresses as sent, 8 lower-case hex digits.
    pub from_raw: String,
    pub to_raw: String,
    /// "0x0500".
    pub function: String,
    /// [`function_label`].
    pub function_name: String,
    /// "ok", or "mismatch" when the frame's CRC is not that of its fields.
    pub crc: &'static str,
    /// 0x0500 only: the device records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub devices: Option<Vec<Device>>,
    /// The function's decoded fields (or `payload` hex).
    #[serde(flatten)]
    pub body: Fields,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anomaly: Option<String>,
    #[serde(skip)]
    pub function_code: u16,
    #[serde(skip)]
    pub from_addr: u32,
    #[serde(skip)]
    pub to_addr: u32,
}

/// How many device anomalies are quoted in the frame's `anomaly`.
const QUOTED: usize = 3;

/// Decodes one frame (solaredge.md §3–4). Pure; never panics.
pub fn decode(frame: &Frame<'_>) -> Decoded {
    let p = frame.payload;
    let mut body = Fields::default();
    let mut notes = Vec::new();
    let ok = frame_crc(frame.seq, frame.from, frame.to, frame.function, p) == frame.crc;
    if !ok {
        notes.push(format!("CRC 0x{:04x} does not match the frame", frame.crc));
    }
    let mut devices = None;
    match frame.function {
        0x0500 => {
            let (devs, walk) = parse_devices(p);
            let used: usize = devs.iter().map(|d| RECORD_HEADER + d.body.len()).sum();
            if let Some(t) = p.get(used..).filter(|t| !t.is_empty()) {
                body.str("trailing", hex(t));
            }
            let bad: Vec<String> = devs
                .iter()
                .enumerate()
                .filter_map(|(i, d)| {
                    d.anomaly
                        .as_ref()
                        .map(|a| format!("record {i} ({} {}): {a}", d.type_name(), d.id()))
                })
                .collect();
            notes.extend(walk);
            if bad.len() > QUOTED {
                let more = bad.len() - QUOTED;
                notes.extend(bad.into_iter().take(QUOTED));
                notes.push(format!("{more} more records with anomalies"));
            } else {
                notes.extend(bad);
            }
            devices = Some(devs);
        }
        0x0080 | 0x0081 | 0x0501 => {
            if !p.is_empty() {
                notes.push(format!(
                    "{} bytes where an empty payload is expected",
                    p.len()
                ));
                body.str("payload", hex(p));
            }
        }
        0x0012 => params_get(p, &mut body, &mut notes),
        0x0011 => {
            if fixed(p, 6, &mut body, &mut notes) {
                let param = u16::from_le_bytes([p[0], p[1]]);
                param_fields(&mut body, param);
                body.uint("value", u32::from_le_bytes([p[2], p[3], p[4], p[5]]));
                tail(p, 6, &mut body);
            }
        }
        0x0090 => param_values(p, &mut body, &mut notes),
        0x0580 => {
            if fixed(p, 8, &mut body, &mut notes) {
                let t = u32::from_le_bytes([p[0], p[1], p[2], p[3]]);
                body.uint("utc", t);
                body.str("time", iso_time(t));
                body.int("tz_offset_s", i32::from_le_bytes([p[4], p[5], p[6], p[7]]));
                tail(p, 8, &mut body);
            }
        }
        0x038d => {
            if fixed(p, 20, &mut body, &mut notes) {
                let f = |o: usize| f32_value([p[o], p[o + 1], p[o + 2], p[o + 3]]);
                body.float("e_day", f(0));
                body.float("e_month", f(4));
                body.float("e_year", f(8));
                body.float("e_total", f(12));
                let t = u32::from_le_bytes([p[16], p[17], p[18], p[19]]);
                body.uint("stats_ts", t);
                body.str("stats_time", iso_time(t));
                tail(p, 20, &mut body);
            }
        }
        0x00b0 => {
            if fixed(p, 4, &mut body, &mut notes) {
                let a = u16::from_le_bytes([p[0], p[1]]);
                let b = u16::from_le_bytes([p[2], p[3]]);
                body.str("version", format!("{a:04}.{b:04}"));
                tail(p, 4, &mut body);
            }
        }
        0x0382 => {
            if fixed(p, 16, &mut body, &mut notes) {
                for (i, name) in ["ip", "netmask", "gateway", "dns"].into_iter().enumerate() {
                    let o = 4 * i;
                    let v = u32::from_le_bytes([p[o], p[o + 1], p[o + 2], p[o + 3]]);
                    body.str(name, std::net::Ipv4Addr::from(v).to_string());
                }
                tail(p, 16, &mut body);
            }
        }
        _ => {
            if !p.is_empty() {
                body.str("payload", hex(p));
            }
        }
    }
    Decoded {
        proto: "solaredge",
        seq: frame.seq,
        from: address(frame.from),
        to: address(frame.to),
        from_raw: hex32(frame.from),
        to_raw: hex32(frame.to),
        function: format!("0x{:04x}", frame.function),
        function_name: function_label(frame.function),
        crc: if ok { "ok" } else { "mismatch" },
        devices,
        body,
        anomaly: (!notes.is_empty()).then(|| notes.join("; ")),
        function_code: frame.function,
        from_addr: frame.from,
        to_addr: frame.to,
    }
}

/// A fixed-size payload of `need` bytes: false (with `payload` hex and a note) when shorter;
/// a note when longer (the caller keeps the excess with [`tail`]).
fn fixed(p: &[u8], need: usize, body: &mut Fields, notes: &mut Vec<String>) -> bool {
    if p.len() < need {
        notes.push(format!("payload has {} bytes, {need} expected", p.len()));
        if !p.is_empty() {
            body.str("payload", hex(p));
        }
        return false;
    }
    if p.len() > need {
        notes.push(format!(
            "payload has {} bytes, {need} expected; the rest kept as raw",
            p.len()
        ));
    }
    true
}

/// Bytes after a fixed layout, as `raw` hex.
fn tail(p: &[u8], from: usize, body: &mut Fields) {
    if let Some(t) = p.get(from..).filter(|t| !t.is_empty()) {
        body.str("raw", hex(t));
    }
}

fn param_fields(out: &mut Fields, param: u16) {
    out.uint("param", param);
    out.str("param_hex", format!("0x{param:04x}"));
    if let Some(n) = param_name(param) {
        out.str("param_name", n);
    }
}

/// 0x0012: `<H` parameter id (JB `parseParam`); several ids are listed in `params` (WG
/// `decode_parameter_ids`).
fn params_get(p: &[u8], body: &mut Fields, notes: &mut Vec<String>) {
    let ids: Vec<u16> = p
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    match ids.len() {
        0 => {}
        1 => param_fields(body, ids[0]),
        _ => {
            let list = ids
                .iter()
                .map(|&id| {
                    let mut f = Fields::default();
                    param_fields(&mut f, id);
                    f
                })
                .collect();
            body.push("params", Value::List(list));
        }
    }
    if p.is_empty() || !p.len().is_multiple_of(2) {
        notes.push(format!(
            "payload has {} bytes, a whole number of 2-byte parameter ids expected",
            p.len()
        ));
        if !p.len().is_multiple_of(2) {
            tail(p, p.len() - 1, body);
        }
    }
}

/// 0x0090: `<LH` value, type (0 uint, 1 float, 2 int32, 3 string, the text following
/// NUL-terminated; solaredge.md §3, WG `decode_parameters`). One value is flattened into
/// `value`/`type`/`type_name`; several go to `values`.
fn param_values(p: &[u8], body: &mut Fields, notes: &mut Vec<String>) {
    let mut vals = Vec::new();
    let mut i = 0;
    while i < p.len() {
        let r = &p[i..];
        if r.len() < 6 {
            notes.push(format!("{} bytes after the last value, 6 needed", r.len()));
            break;
        }
        let word = [r[0], r[1], r[2], r[3]];
        let ty = u16::from_le_bytes([r[4], r[5]]);
        let mut f = Fields::default();
        match ty {
            0 => f.uint("value", u32::from_le_bytes(word)),
            1 => f.float("value", f32_value(word)),
            2 => f.int("value", i32::from_le_bytes(word)),
            3 => {
                let text = &r[6..];
                let end = text.iter().position(|&c| c == 0);
                if end.is_none() {
                    notes.push("string value without a NUL terminator".into());
                }
                let s = &text[..end.unwrap_or(text.len())];
                f.str("value", String::from_utf8_lossy(s));
                f.uint("value_int", u32::from_le_bytes(word));
                i += end.map_or(text.len(), |e| e + 1);
            }
            _ => {
                notes.push(format!("unknown parameter type {ty}"));
                break;
            }
        }
        f.uint("value_type", ty);
        f.str("value_type_name", param_type_name(ty));
        vals.push(f);
        i += 6;
    }
    if vals.len() == 1 {
        body.0.append(&mut vals[0].0);
    } else if !vals.is_empty() {
        body.push("values", Value::List(vals));
    }
    if p.is_empty() {
        notes.push("empty payload, a value and its type expected".into());
    }
    tail(p, i.min(p.len()), body);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_table_is_jb_plus_two() {
        // 418 JB `PROT_*` constants + 0x003d + 0x0503, sorted and unique (binary search).
        assert_eq!(FUNCTIONS.len(), 420);
        assert!(FUNCTIONS.windows(2).all(|w| w[0].0 < w[1].0));
        for (code, name) in [
            (0x0010, "PARAMS_RESET"),
            (0x0012, "PARAMS_GET_SINGLE"),
            (0x0080, "RESP_ACK"),
            (0x0090, "RESP_PARAMS_SINGLE"),
            (0x0302, "POLESTAR_MASTER_GRANT"),
            (0x033d, "POLESTAR_GET_OPMODE"),
            (0x038d, "RESP_POLESTAR_GET_ENERGY_STATISTICS_STATUS"),
            (0x039a, "RESP_POLESTAR_MASTER_GRANT_ACK"),
            (0x0500, "SERVER_POST_DATA"),
            (0x0580, "RESP_SERVER_GMT"),
            (0x1400, "BOOTLOADER_SECURE"),
            (0x1701, "DISPLAY_BOARD_LED_SET"),
            (0x003d, "ENCRYPTED"),
            (0x0503, "SERVER_SESSION_KEY"),
        ] {
            assert_eq!(function_name(code), Some(name), "0x{code:04x}");
        }
        assert_eq!(function_name(0x0045), None);
        assert_eq!(function_label(0x0041), "MISC_PARAMS_PARTIAL_RESET2");
        assert_eq!(function_label(0x1234), "unknown-0x1234");
        assert_eq!(function_label(0xffff), "unknown-0xffff");
    }

    #[test]
    fn ids_and_addresses() {
        assert_eq!(device_id(0x7f99_0ff7), "7F190FF7");
        assert_eq!(device_id(0x7e9a_06db), "7E1A06DB");
        assert_eq!(device_id(0x7f40_4a16), "7F404A16"); // 0x00400000 kept (JB #8)
        assert_eq!(device_id(0x0000_0abc), "ABC");
        assert_eq!(device_id(0xffff_fffe), "FF7FFFFE"); // semonitor's mask, unconditional
        assert_eq!(address(0xffff_fffe), "FFFFFFFE");
        assert_eq!(address(0x7e9a_06db), "7E1A06DB");
        assert_eq!(hex32(0x0000_0abc), "00000abc");
    }

    #[test]
    fn iso_times() {
        // Expected values checked with Python datetime (UTC).
        assert_eq!(iso_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_time(1_439_896_303), "2015-08-18T11:11:43Z"); // solaredge.md §4
        assert_eq!(iso_time(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso_time(951_868_799), "2000-02-29T23:59:59Z");
        assert_eq!(iso_time(951_955_199), "2000-03-01T23:59:59Z");
        assert_eq!(iso_time(1_709_164_800), "2024-02-29T00:00:00Z");
        assert_eq!(iso_time(4_102_444_800), "2100-01-01T00:00:00Z");
        assert_eq!(iso_time(u32::MAX), "2106-02-07T06:28:15Z");
    }

    #[test]
    fn packed_optimizer_bit_fields() {
        // W = 0xffffffff: every field at its maximum; temp byte 0x80 = −128·2 °C.
        let mut body = vec![
            0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x80,
        ];
        let d = decode_record(0x0080, 1, 13, &body);
        assert_eq!(d.f64("v_mod"), Some(127.875));
        assert_eq!(d.f64("v_opt"), Some(127.875));
        assert_eq!(d.f64("i_mod"), Some(25.59375));
        assert_eq!(d.f64("e_day"), Some(16383.75));
        assert_eq!(d.f64("temp"), Some(-256.0));
        assert_eq!(d.get("uptime"), Some(&Value::UInt(65535)));
        // Each field alone: Vmod bit 0, Vopt bit 10, Imod bit 20.
        body[4..].copy_from_slice(&[0, 0, 0x01, 0x04, 0x10, 0x00, 0, 0, 0]);
        let d = decode_record(0x0080, 1, 13, &body);
        assert_eq!(
            [d.f64("v_mod"), d.f64("v_opt"), d.f64("i_mod")],
            [Some(0.125), Some(0.125), Some(0.00625)]
        );
    }

    #[test]
    fn sentinel_and_short_records() {
        assert_eq!(f32_value(NO_VALUE), None);
        assert_eq!(f32_value([0, 0, 0xc8, 0x42]), Some(100.0));
        // An unknown type: ts + raw.
        let d = decode_record(0x0017, 0x7f10_4920, 6, &[1, 0, 0, 0, 0xaa, 0xbb]);
        assert_eq!(
            (d.ts, d.raw.as_slice(), d.anomaly.as_deref()),
            (Some(1), &[0xaa, 0xbb][..], None)
        );
        // Too short for a timestamp.
        let d = decode_record(0x0010, 1, 3, &[1, 2, 3]);
        assert_eq!(d.ts, None);
        assert_eq!(d.raw, vec![1, 2, 3]);
        assert!(d.anomaly.is_some());
        // Event type 1: tz offset and end time; type 0: end time in event2.
        let mut ev = Vec::new();
        for w in [100u32, 1, 200, (-3600i32) as u32, 300, 0, 0] {
            ev.extend(w.to_le_bytes());
        }
        let d = decode_record(0x0300, 1, 28, &ev);
        assert_eq!(d.get("tz_offset_s"), Some(&Value::Int(-3600)));
        assert_eq!(
            d.get("end").and_then(Value::as_str),
            Some("1970-01-01T00:05:00Z")
        );
        ev[4] = 0;
        let d = decode_record(0x0300, 1, 28, &ev);
        assert_eq!(d.get("tz_offset_s"), None);
        assert_eq!(
            d.get("end").and_then(Value::as_str),
            Some("2106-02-07T05:28:16Z")
        );
        // Daily optimizer list: two entries and a partial third kept raw.
        let mut dl = vec![0u8; 12];
        dl.extend([0x0d, 0x10, 0x0f, 0x20, 7, 0xda, 0x74, 0xa3, 0x20, 9, 1, 2]);
        let d = decode_record(0x0043, 1, 24, &dl);
        let list = d.get("entries").and_then(Value::as_list).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[1].get("id").and_then(Value::as_str), Some("202374DA"));
        assert_eq!(d.raw, vec![1, 2]);
        assert!(d.anomaly.is_some());
        // Battery id text.
        assert_eq!(ascii(b"AB\\C\x01\0\0zz"), "AB\\x5cC\\x01");
    }
}
