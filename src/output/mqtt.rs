//! MQTT publication of se2state's devices (placeholder, filled in below).
use super::state::Publish;

pub struct Mqtt;

impl Mqtt {
    pub fn connect(_url: &str, _ha: bool) -> Result<Mqtt, String> {
        Err("MQTT is not built yet".into())
    }
}

impl Publish for Mqtt {
    fn publish(&mut self, _changed: Vec<((String, String), String)>) {}
    fn finish(&mut self) -> Result<(), String> {
        Ok(())
    }
}
