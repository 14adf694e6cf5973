//! The fleet's random numbers: SplitMix64, seeded. A seed must give the same sessions (`simulate
//! --seed`) and the same benchmark data on every platform and with every version of this program, so
//! the generator is these few lines rather than one of `rand`'s, whose seeded streams may change from
//! one `rand` release to the next. (`rand` still picks a seed when none is given.)

/// SplitMix64: small, fast, and the same stream on every platform and version.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform in [lo, hi] (integers); `lo` without drawing when `hi <= lo`.
    pub fn int(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(1e-12);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// An independent stream.
    pub fn fork(&mut self) -> Rng {
        Rng(self.next_u64() ^ 0xD1B5_4A32_D192_ED03)
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    /// The published SplitMix64 stream for seed 0: the generator is the reference one.
    #[test]
    fn seed_zero_gives_the_reference_stream() {
        let mut rng = Rng::new(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(rng.next_u64(), 0x06C4_5D18_8009_454F);
    }

    #[test]
    fn draws_stay_in_their_bounds() {
        let mut rng = Rng::new(7);
        for _ in 0..10_000 {
            assert!((3..=5).contains(&rng.int(3, 5)));
            let x = rng.range(-2.0, 2.0);
            assert!((-2.0..2.0).contains(&x), "{x}");
        }
        assert_eq!(rng.int(4, 4), 4);
        assert!(!rng.chance(0.0) && rng.chance(1.0));
    }
}
