//! The ground-truth detector: reads a synthetic clip's truth and degrades it like a real detector would.
//!
//! Noise is drawn from a generator seeded by (seed, frame index) alone, so a frame detects the same way
//! whether the analysis ran straight through or resumed: exact resume depends on it.

use std::path::Path;
use std::str::FromStr;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

use super::{Class, Detection, Detections, Detector};
use crate::geometry::BBox;
use crate::source::Frame;
use crate::truth::Truth;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Noise {
    /// Chance to miss a fully visible person; hidden ones are missed more.
    pub miss: f64,
    pub ball_miss: f64,
    /// Standard deviation of each box edge, as a share of the box size.
    pub jitter: f64,
    /// Expected false person boxes per frame.
    pub false_positives: f64,
    /// Chance to report a person with the wrong role.
    pub role_error: f64,
    pub seed: u64,
}

impl Noise {
    pub fn none() -> Noise {
        Noise { miss: 0.0, ball_miss: 0.0, jitter: 0.0, false_positives: 0.0, role_error: 0.0, seed: 0 }
    }
}

impl Default for Noise {
    /// Roughly what a decent real detector does on broadcast footage.
    fn default() -> Noise {
        Noise { miss: 0.05, ball_miss: 0.15, jitter: 0.04, false_positives: 0.3, role_error: 0.03, seed: 1 }
    }
}

impl FromStr for Noise {
    type Err = String;

    /// `none`, `default`, or `key=value` pairs over the defaults, e.g. `miss=0.1,jitter=0.05`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => return Ok(Noise::none()),
            "default" | "" => return Ok(Noise::default()),
            _ => {}
        }
        let mut noise = Noise::default();
        for pair in s.split(',') {
            let (key, value) = pair.split_once('=').ok_or_else(|| format!("expected key=value, got {pair:?}"))?;
            let parse = |v: &str| v.parse::<f64>().map_err(|e| format!("{key}: {e}"));
            match key.trim() {
                "miss" => noise.miss = parse(value)?,
                "ball-miss" => noise.ball_miss = parse(value)?,
                "jitter" => noise.jitter = parse(value)?,
                "false-positives" => noise.false_positives = parse(value)?,
                "role-error" => noise.role_error = parse(value)?,
                "seed" => noise.seed = value.parse().map_err(|e| format!("seed: {e}"))?,
                other => return Err(format!("unknown noise key {other:?}")),
            }
        }
        Ok(noise)
    }
}

pub struct TruthDetector {
    truth: Truth,
    noise: Noise,
    identity: String,
}

impl TruthDetector {
    pub fn open(path: &Path, noise: Noise) -> anyhow::Result<TruthDetector> {
        let bytes = std::fs::read(path).map_err(|e| {
            anyhow::anyhow!(
                "cannot read truth file {} ({e}); --detector truth needs the clip's truth, see --truth",
                path.display()
            )
        })?;
        let truth: Truth = serde_json::from_slice(&bytes)
            .map_err(|e| anyhow::anyhow!("{} is not a TacticEYE truth file: {e}", path.display()))?;
        let digest = format!("{:x}", <md5::Md5 as md5::Digest>::digest(&bytes));
        let identity = format!("truth:{digest}:{}", serde_json::to_string(&noise)?);
        Ok(TruthDetector { truth, noise, identity })
    }

    fn frame_detections(&self, frame: &Frame) -> anyhow::Result<Detections> {
        let truth = self.truth.frame(frame.index).ok_or_else(|| {
            anyhow::anyhow!("the truth file has no frame {}: it belongs to another clip", frame.index)
        })?;
        if (frame.width, frame.height) != (self.truth.width, self.truth.height) {
            anyhow::bail!(
                "the truth file is for {}x{} video, the clip is {}x{}",
                self.truth.width,
                self.truth.height,
                frame.width,
                frame.height
            );
        }
        let n = &self.noise;
        let mut rng = ChaCha8Rng::seed_from_u64(n.seed ^ frame.index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let unit = Normal::new(0.0, 1.0).expect("unit normal");
        let jitter = |b: BBox, rng: &mut ChaCha8Rng| {
            let (w, h) = (b.width(), b.height());
            let mut e = || n.jitter * unit.sample(rng);
            BBox { x1: b.x1 + e() * w, y1: b.y1 + e() * h, x2: b.x2 + e() * w, y2: b.y2 + e() * h }
        };
        let mut out = Vec::with_capacity(truth.people.len() + 2);
        for p in &truth.people {
            let hidden = 1.0 - p.visible;
            let p_miss = (n.miss + hidden * hidden).min(1.0);
            if rng.random::<f64>() < p_miss {
                continue;
            }
            let class = if rng.random::<f64>() < n.role_error {
                [Class::Player, Class::Goalkeeper, Class::Referee][rng.random_range(0..3)]
            } else {
                p.role
            };
            let confidence = (0.95 - 0.5 * hidden - 0.3 * rng.random::<f64>()).clamp(0.05, 0.99);
            out.push(Detection { bbox: jitter(p.bbox, &mut rng).clip(frame.width, frame.height), confidence, class });
        }
        if let Some(ball) = &truth.ball
            && rng.random::<f64>() >= n.ball_miss + (1.0 - ball.visible)
        {
            let (cx, cy) = ball.bbox.center();
            let s = ball.bbox.width().max(2.0);
            let bbox = BBox::from_center(
                cx + n.jitter * s * unit.sample(&mut rng),
                cy + n.jitter * s * unit.sample(&mut rng),
                s,
                s,
            );
            out.push(Detection { bbox, confidence: 0.5 + 0.45 * rng.random::<f64>(), class: Class::Ball });
        }
        // False people are small, low-confidence boxes anywhere: the tracker must not turn them into players.
        let mut k = n.false_positives;
        while k > 0.0 && rng.random::<f64>() < k.min(1.0) {
            k -= 1.0;
            let h = frame.height as f64 * (0.04 + 0.06 * rng.random::<f64>());
            let cx = frame.width as f64 * rng.random::<f64>();
            let cy = frame.height as f64 * (0.2 + 0.8 * rng.random::<f64>());
            let bbox = BBox::from_center(cx, cy, h * 0.4, h).clip(frame.width, frame.height);
            out.push(Detection { bbox, confidence: 0.1 + 0.4 * rng.random::<f64>(), class: Class::Player });
        }
        Ok(out)
    }
}

impl Detector for TruthDetector {
    fn identity(&self) -> String {
        self.identity.clone()
    }

    fn detect(&mut self, frames: &[Frame]) -> anyhow::Result<Vec<Detections>> {
        frames.iter().map(|f| self.frame_detections(f)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_parses_key_value_pairs_over_the_defaults() {
        let n: Noise = "miss=0.2,seed=9".parse().unwrap();
        assert_eq!(n.miss, 0.2);
        assert_eq!(n.seed, 9);
        assert_eq!(n.jitter, Noise::default().jitter);
        assert!("bogus=1".parse::<Noise>().is_err());
        assert_eq!("none".parse::<Noise>().unwrap(), Noise::none());
    }
}
