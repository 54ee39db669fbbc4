//! ONNX models through `ort`, with ONNX Runtime loaded at run time (`ORT_DYLIB_PATH`, set by the Makefile
//! to the `libonnxruntime.so.1.31.1` of the PyPI wheel).
//!
//! Supported layout: the Ultralytics YOLOv8/11 export, input `[N, 3, H, W]` RGB in 0..1 (letterboxed),
//! output `[N, 4 + classes, anchors]` with `cx, cy, w, h` in input pixels and per-class scores; class names
//! from the model metadata `names`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{Context, bail};
use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use ndarray::{Array4, ArrayViewD, Axis};
use ort::environment::Environment;
use ort::session::Session;
use ort::value::{TensorRef, ValueType};

use super::{Class, Detection, Detections, Detector, nms};
use crate::geometry::BBox;
use crate::source::Frame;

const LIBRARY: &str = "libonnxruntime.so.1.31.1";
const LETTERBOX_GREY: u8 = 114;

/// Where ONNX Runtime is looked for: `ORT_DYLIB_PATH`, then beside the executable, then the Makefile's cache.
fn library_path() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH") {
        return Ok(p.into());
    }
    let exe = std::env::current_exe()?;
    let dir = exe.parent().context("executable has no folder")?;
    [dir.join(LIBRARY), dir.join("../../.cache/onnxruntime").join(LIBRARY), dir.join("../../../.cache/onnxruntime").join(LIBRARY)]
        .into_iter()
        .find(|p| p.is_file())
        .with_context(|| format!("ONNX Runtime not found: set ORT_DYLIB_PATH to {LIBRARY} (`make ort` fetches it)"))
}

fn environment() -> anyhow::Result<Environment> {
    static ENV: OnceLock<Result<Environment, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let path = library_path().map_err(|e| e.to_string())?;
        ort::init_from(&path)
            .map_err(|e| format!("cannot load ONNX Runtime from {}: {e}", path.display()))?
            .with_name("tacticeye")
            .build()
            .map_err(|e| e.to_string())
    })
    .clone()
    .map_err(anyhow::Error::msg)
}

pub struct OnnxDetector {
    session: Session,
    width: u32,
    height: u32,
    /// The model's batch size when fixed; a dynamic batch runs `MAX_BATCH` frames at a time.
    batch: usize,
    fixed_batch: bool,
    decoder: Decoder,
    identity: String,
    resizer: Resizer,
}

const MAX_BATCH: usize = 8;

/// Turns one image's `[4 + classes, anchors]` output into detections.
struct Decoder {
    classes: Vec<Option<Class>>,
    confidence: f32,
    iou: f64,
}

impl OnnxDetector {
    pub fn open(path: &Path) -> anyhow::Result<OnnxDetector> {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read model {}", path.display()))?;
        let env = environment()?;
        let threads = std::env::var("TACTICEYE_THREADS").ok().and_then(|t| t.parse().ok()).unwrap_or(2);
        let unusable = |e: String| anyhow::anyhow!("{} is not a usable ONNX model: {e}", path.display());
        let mut builder = Session::builder(&env).map_err(|e| unusable(e.to_string()))?;
        // On the GPU worker (`TACTICEYE_EXECUTION=cuda`, ONNX Runtime built with CUDA); falls back to the
        // CPU, with a warning in the log, where the provider cannot load.
        if std::env::var("TACTICEYE_EXECUTION").is_ok_and(|e| e == "cuda") {
            builder = builder.with_execution_providers([ort::ep::CUDA::default().build()]).map_err(|e| unusable(e.to_string()))?;
        }
        let session = builder
            .with_intra_threads(threads)
            .map_err(|e| unusable(e.to_string()))?
            .commit_from_memory(&bytes)
            .map_err(|e| unusable(e.to_string()))?;
        let input = session.inputs().first().context("model has no input")?;
        let ValueType::Tensor { shape, .. } = input.dtype() else { bail!("model input is not a tensor") };
        if shape.len() != 4 || shape[1] != 3 {
            bail!("model input must be [N, 3, H, W], got {:?}", &shape[..]);
        }
        let side = |d: i64| if d > 0 { d as u32 } else { 640 };
        let (height, width) = (side(shape[2]), side(shape[3]));
        let fixed_batch = shape[0] > 0;
        let batch = if fixed_batch { shape[0] as usize } else { MAX_BATCH };
        let names = session.metadata().ok().and_then(|m| m.custom("names"));
        let names = names.with_context(|| format!("{} has no `names` metadata to map its classes", path.display()))?;
        let classes = parse_names(&names);
        if !classes.iter().any(Option::is_some) {
            bail!("none of the model's classes ({names}) is player, goalkeeper, referee or ball");
        }
        let digest = format!("{:x}", <md5::Md5 as md5::Digest>::digest(&bytes));
        Ok(OnnxDetector {
            session,
            width,
            height,
            batch,
            fixed_batch,
            decoder: Decoder { classes, confidence: 0.25, iou: 0.5 },
            identity: format!("onnx:{digest}"),
            resizer: Resizer::new(),
        })
    }

    /// Letterboxes `frame` into `dst` (one `[3, H, W]` slice of the batch); returns the scale and padding.
    fn letterbox(&mut self, frame: &Frame, mut dst: ndarray::ArrayViewMut3<f32>) -> anyhow::Result<(f64, f64, f64)> {
        let scale = (self.width as f64 / frame.width as f64).min(self.height as f64 / frame.height as f64);
        let rw = ((frame.width as f64 * scale).round() as u32).clamp(1, self.width);
        let rh = ((frame.height as f64 * scale).round() as u32).clamp(1, self.height);
        let src = ImageRef::new(frame.width, frame.height, &frame.rgb, PixelType::U8x3)?;
        let mut resized = Image::new(rw, rh, PixelType::U8x3);
        let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
        self.resizer.resize(&src, &mut resized, &options)?;
        let (px, py) = ((self.width - rw) / 2, (self.height - rh) / 2);
        dst.fill(LETTERBOX_GREY as f32 / 255.0);
        let buf = resized.buffer();
        for y in 0..rh as usize {
            for x in 0..rw as usize {
                let i = (y * rw as usize + x) * 3;
                for c in 0..3 {
                    dst[[c, y + py as usize, x + px as usize]] = buf[i + c] as f32 / 255.0;
                }
            }
        }
        Ok((scale, px as f64, py as f64))
    }
}

impl Decoder {
    fn decode(&self, out: ArrayViewD<f32>, frame: &Frame, (scale, px, py): (f64, f64, f64)) -> Detections {
        let (channels, anchors) = (out.shape()[0], out.shape()[1]);
        let mut dets = Vec::new();
        for a in 0..anchors {
            let (mut best, mut score) = (0, f32::MIN);
            for c in 4..channels {
                if out[[c, a]] > score {
                    (best, score) = (c - 4, out[[c, a]]);
                }
            }
            let Some(Some(class)) = self.classes.get(best) else { continue };
            if score < self.confidence {
                continue;
            }
            let (cx, cy, w, h) = (out[[0, a]] as f64, out[[1, a]] as f64, out[[2, a]] as f64, out[[3, a]] as f64);
            let bbox = BBox::from_center((cx - px) / scale, (cy - py) / scale, w / scale, h / scale);
            dets.push(Detection { bbox: bbox.clip(frame.width, frame.height), confidence: score as f64, class: *class });
        }
        nms(dets, self.iou)
    }
}

impl Detector for OnnxDetector {
    fn identity(&self) -> String {
        self.identity.clone()
    }

    fn detect(&mut self, frames: &[Frame]) -> anyhow::Result<Vec<Detections>> {
        let mut all = Vec::with_capacity(frames.len());
        for chunk in frames.chunks(self.batch) {
            // A fixed-batch model gets its exact batch, padded with grey frames.
            let n = if self.fixed_batch { self.batch } else { chunk.len() };
            let mut input = Array4::<f32>::from_elem((n, 3, self.height as usize, self.width as usize), LETTERBOX_GREY as f32 / 255.0);
            let mut letterboxes = Vec::with_capacity(chunk.len());
            for (i, frame) in chunk.iter().enumerate() {
                letterboxes.push(self.letterbox(frame, input.index_axis_mut(Axis(0), i))?);
            }
            let outputs = self.session.run(ort::inputs![TensorRef::from_array_view(&input)?])?;
            let out = outputs[0].try_extract_array::<f32>()?;
            let classes = self.decoder.classes.len();
            if out.ndim() != 3 || out.shape()[1] != 4 + classes {
                bail!("model output must be [N, 4 + {classes} classes, anchors], got {:?}", out.shape());
            }
            for (i, frame) in chunk.iter().enumerate() {
                all.push(self.decoder.decode(out.index_axis(Axis(0), i), frame, letterboxes[i]));
            }
        }
        Ok(all)
    }
}

/// Parses Ultralytics' `names` metadata, a Python dict literal such as `{0: 'ball', 1: 'goalkeeper'}`
/// (JSON objects and lists of names are accepted too). Classes we do not know map to `None`.
pub fn parse_names(names: &str) -> Vec<Option<Class>> {
    if let Ok(list) = serde_json::from_str::<Vec<String>>(names) {
        return list.iter().map(|n| Class::from_name(n)).collect();
    }
    let mut indexed: Vec<(usize, Option<Class>)> = names
        .trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .split(',')
        .filter_map(|pair| {
            let (k, v) = pair.split_once(':')?;
            let k = k.trim().trim_matches(|c| c == '"' || c == '\'').parse().ok()?;
            Some((k, Class::from_name(v.trim().trim_matches(|c| c == '"' || c == '\''))))
        })
        .collect();
    indexed.sort_by_key(|(k, _)| *k);
    let n = indexed.last().map_or(0, |(k, _)| k + 1);
    let mut classes = vec![None; n];
    for (k, c) in indexed {
        classes[k] = c;
    }
    classes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ultralytics_names_metadata_maps_to_our_classes() {
        let classes = parse_names("{0: 'ball', 1: 'goalkeeper', 2: 'player', 3: 'referee'}");
        assert_eq!(classes, vec![Some(Class::Ball), Some(Class::Goalkeeper), Some(Class::Player), Some(Class::Referee)]);
        assert_eq!(parse_names(r#"{"1": "person", "0": "car"}"#), vec![None, Some(Class::Player)]);
        assert_eq!(parse_names(r#"["player","ball"]"#), vec![Some(Class::Player), Some(Class::Ball)]);
    }
}
