//! The deterministic draw: hashes that turn (rule seed, service/operation, how many times the
//! rule matched it) into the pseudo-random numbers behind probabilities and latency jitter, so
//! the same seed and per-operation request sequence give the same decisions however independent
//! calls interleave.

use crate::aws::classify::RequestInfo;

/// Identifies a `service:Operation` pair without allocating (FNV-1a).
pub(crate) type EventKey = u64;

pub(crate) fn event_key(service: &str, operation: &str) -> EventKey {
    let mut h = Fnv::new();
    for b in service.bytes() {
        h.write(b.to_ascii_lowercase());
    }
    h.write(b':');
    for b in operation.bytes() {
        h.write(b);
    }
    h.finish()
}

pub(crate) fn info_key(info: &RequestInfo) -> EventKey {
    event_key(
        info.service_name().unwrap_or(""),
        info.operation_name().unwrap_or(""),
    )
}

struct Fnv(u64);
impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn write(&mut self, b: u8) {
        self.0 ^= b as u64;
        self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) fn fnv_str(s: &str) -> u64 {
    let mut h = Fnv::new();
    s.bytes().for_each(|b| h.write(b));
    h.finish()
}

/// SplitMix64: a fast, well-mixed function from a 64-bit input to a 64-bit output.
pub(crate) fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The draw of the `nth` match of `op_key` for a rule seeded with `seed`.
pub(crate) fn draw(seed: u64, op_key: EventKey, nth: u64) -> u64 {
    splitmix64(seed ^ splitmix64(op_key ^ nth.wrapping_mul(0xA24B_AED4_963E_E407)))
}

/// A draw as a uniform number in `[0, 1)`.
pub(crate) fn unit(draw: u64) -> f64 {
    (draw >> 11) as f64 / (1u64 << 53) as f64
}
