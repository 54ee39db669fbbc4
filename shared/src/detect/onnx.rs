//! ONNX models through `ort`, with ONNX Runtime loaded at run time (`ORT_DYLIB_PATH`, set by the Makefile
//! to the `libonnxruntime.so.1.31.1` of the PyPI wheel). Two layouts: our own (`centernet`) and the
//! Ultralytics YOLOv8/11 export (`yolo`); the model's metadata says which.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::Context;
use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use ndarray::{Array4, ArrayViewMut3, Axis, Ix3};
use ort::environment::Environment;
use ort::session::Session;
use ort::value::{TensorRef, ValueType};

use super::ballcheck::BallCheck;
use super::centernet::{self, CenterNetDecoder};
use super::yolo::{Placement, YoloDecoder};
use super::{Detections, Detector};
use crate::source::Frame;

const LIBRARY: &str = "libonnxruntime.so.1.31.1";
const LETTERBOX_GREY: f32 = 114.0 / 255.0;
/// Frames per inference call when the model's batch is dynamic.
pub(crate) const MAX_BATCH: usize = 4;

/// Where ONNX Runtime is looked for: `ORT_DYLIB_PATH`, then beside the executable, then the Makefile's cache.
fn library_path() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH") {
        return Ok(p.into());
    }
    let exe = std::env::current_exe()?;
    let dir = exe.parent().context("executable has no folder")?;
    [
        dir.join(LIBRARY),
        dir.join("../../.cache/onnxruntime").join(LIBRARY),
        dir.join("../../../.cache/onnxruntime").join(LIBRARY),
    ]
    .into_iter()
    .find(|p| p.is_file())
    .with_context(|| format!("ONNX Runtime not found: set ORT_DYLIB_PATH to {LIBRARY} (`make ort` fetches it)"))
}

fn environment() -> anyhow::Result<Environment> {
    static ENV: OnceLock<Result<Environment, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let path = library_path().map_err(|e| e.to_string())?;
        if !path.is_file() {
            return Err(format!(
                "ONNX Runtime not found at {} (ORT_DYLIB_PATH; `make ort` fetches it)",
                path.display()
            ));
        }
        ort::init_from(&path)
            .map_err(|e| format!("cannot load ONNX Runtime from {}: {e}", path.display()))?
            .with_name("tacticeye")
            .build()
            .map_err(|e| e.to_string())
    })
    .clone()
    .map_err(anyhow::Error::msg)
}

/// Intra-op threads: `TACTICEYE_THREADS`, else every core this process may use.
fn threads() -> usize {
    std::env::var("TACTICEYE_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
}

/// An ONNX Runtime session over the model at `path`, and the model's identity (`onnx:` and its MD5).
pub(crate) fn session(path: &Path) -> anyhow::Result<(Session, String)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read model {}", path.display()))?;
    let env = environment()?;
    let unusable = |e: &dyn std::fmt::Display| anyhow::anyhow!("{} is not a usable ONNX model: {e}", path.display());
    let mut builder = Session::builder(&env).map_err(|e| unusable(&e))?;
    // On the GPU worker (`TACTICEYE_EXECUTION=cuda`, ONNX Runtime built with CUDA); falls back to the
    // CPU, with a warning in the log, where the provider cannot load.
    if std::env::var("TACTICEYE_EXECUTION").is_ok_and(|e| e == "cuda") {
        builder = builder.with_execution_providers([ort::ep::CUDA::default().build()]).map_err(|e| unusable(&e))?;
    }
    let session = builder
        .with_intra_threads(threads())
        .map_err(|e| unusable(&e))?
        .commit_from_memory(&bytes)
        .map_err(|e| unusable(&e))?;
    Ok((session, format!("onnx:{:x}", <md5::Md5 as md5::Digest>::digest(&bytes))))
}

/// A numeric metadata value; `get` looks a key up. The error names the key.
pub(crate) fn metadata_number(get: impl Fn(&str) -> Option<String>, key: &str) -> Result<f64, String> {
    let v = get(key).ok_or_else(|| format!("metadata `{key}` is missing"))?;
    v.trim().parse().map_err(|_| format!("metadata `{key}` is not a number: {v:?}"))
}

/// One of our own models' numeric settings, once its `tacticeye_format` is checked to be `format`.
pub(crate) fn own_metadata(session: &Session, format: &str, keys: &[&str]) -> Result<Vec<f64>, String> {
    let meta = session.metadata().map_err(|e| e.to_string())?;
    if meta.custom("tacticeye_format").as_deref() != Some(format) {
        return Err(format!("its metadata `tacticeye_format` is not {format}"));
    }
    keys.iter().map(|key| metadata_number(|k| meta.custom(k), key)).collect()
}

/// Scales `frame` into `dst` (one `[3, H, W]` slice of a batch, RGB in 0..1) at `placement`, the rest
/// left as filled.
pub(crate) fn fill(resizer: &mut Resizer, frame: &Frame, at: Placement, dst: ArrayViewMut3<f32>) -> anyhow::Result<()> {
    let (h, w) = (dst.shape()[1], dst.shape()[2]);
    let rw = ((frame.width as f64 * at.scale).round() as u32).clamp(1, w as u32 - at.px as u32);
    let rh = ((frame.height as f64 * at.scale).round() as u32).clamp(1, h as u32 - at.py as u32);
    let src = ImageRef::new(frame.width, frame.height, &frame.rgb, PixelType::U8x3)?;
    let mut resized = Image::new(rw, rh, PixelType::U8x3);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
    resizer.resize(&src, &mut resized, &options)?;
    let plane = h * w;
    let dst = dst.into_slice().context("input tensor is not contiguous")?;
    let (px, py) = (at.px as usize, at.py as usize);
    for (y, row) in resized.buffer().chunks_exact(rw as usize * 3).enumerate() {
        let start = (y + py) * w + px;
        for (x, rgb) in row.chunks_exact(3).enumerate() {
            for c in 0..3 {
                dst[c * plane + start + x] = rgb[c] as f32 / 255.0;
            }
        }
    }
    Ok(())
}

enum Layout {
    CenterNet(CenterNetDecoder),
    /// A fixed `width` x `height` letterbox.
    Yolo {
        decoder: YoloDecoder,
        width: u32,
        height: u32,
    },
}

pub struct OnnxDetector {
    session: Session,
    layout: Layout,
    /// The model's batch size when fixed; a dynamic batch runs `MAX_BATCH` frames at a time.
    batch: usize,
    fixed_batch: bool,
    identity: String,
    resizer: Resizer,
    ball_check: Option<BallCheck>,
}

impl OnnxDetector {
    pub fn open(path: &Path) -> anyhow::Result<OnnxDetector> {
        let (session, identity) = session(path)?;
        let unusable =
            |e: &dyn std::fmt::Display| anyhow::anyhow!("{} is not a usable ONNX model: {e}", path.display());
        let input = session.inputs().first().ok_or_else(|| unusable(&"it has no input"))?;
        let ValueType::Tensor { shape, .. } = input.dtype() else { return Err(unusable(&"its input is not a tensor")) };
        if shape.len() != 4 || shape[1] != 3 {
            return Err(unusable(&format!("its input must be [N, 3, H, W], got {:?}", &shape[..])));
        }
        let fixed_batch = shape[0] > 0;
        let batch = if fixed_batch { shape[0] as usize } else { MAX_BATCH };
        let side = |d: i64| if d > 0 { d as u32 } else { 640 };
        let (height, width) = (side(shape[2]), side(shape[3]));
        let layout = Self::layout(&session, width, height).map_err(|e| unusable(&e))?;
        Ok(OnnxDetector { session, layout, batch, fixed_batch, identity, resizer: Resizer::new(), ball_check: None })
    }

    /// Our layout's ball candidates, looked at again by `check` (see `ballcheck`): the decoder hands it as
    /// many candidates as it wants, from the score it wants.
    pub fn with_ball_check(mut self, check: BallCheck) -> anyhow::Result<OnnxDetector> {
        let Layout::CenterNet(decoder) = &mut self.layout else {
            anyhow::bail!("the ball check works on our own detector's candidates, not a YOLO model's")
        };
        decoder.ball_threshold = check.candidate_threshold;
        decoder.max_balls = check.candidates;
        self.identity = format!("{}+ball:{}", self.identity, check.identity);
        self.ball_check = Some(check);
        Ok(self)
    }

    /// Which layout the model has, from its metadata, and whether its output fits it.
    fn layout(session: &Session, width: u32, height: u32) -> anyhow::Result<Layout> {
        let metadata = session.metadata()?;
        let shapes = session
            .outputs()
            .iter()
            .map(|output| match output.dtype() {
                ValueType::Tensor { shape, .. } => Ok(shape.iter().map(|&d| d.max(1) as usize).collect()),
                _ => anyhow::bail!("its output {} is not a tensor", output.name()),
            })
            .collect::<anyhow::Result<Vec<Vec<usize>>>>()?;
        let shape = shapes.first().context("it has no output")?;
        if metadata.custom("tacticeye_format").as_deref() == Some(centernet::FORMAT) {
            let decoder = CenterNetDecoder::from_metadata(|k| metadata.custom(k))?;
            let ball =
                shapes.get(1).context("it has one output, and our layout's output must be two: people and ball")?;
            decoder.check_shapes(shape, ball)?;
            Ok(Layout::CenterNet(decoder))
        } else {
            let names = metadata.custom("names").context(
                "it has neither our `tacticeye_format` nor Ultralytics' `names` metadata to map its classes",
            )?;
            let decoder = YoloDecoder::from_names(&names)?;
            decoder.check_shape(shape)?;
            Ok(Layout::Yolo { decoder, width, height })
        }
    }

    /// The input tensor's height and width for frames of this size, and where such a frame sits in it.
    fn geometry(&self, frame: &Frame) -> ((u32, u32), Placement) {
        match &self.layout {
            Layout::CenterNet(d) => {
                let (scale, w, h) = d.input_size(frame.width, frame.height);
                ((h, w), Placement { scale, px: 0.0, py: 0.0 })
            }
            Layout::Yolo { width, height, .. } => {
                let scale = (*width as f64 / frame.width as f64).min(*height as f64 / frame.height as f64);
                let rw = ((frame.width as f64 * scale).round() as u32).clamp(1, *width);
                let rh = ((frame.height as f64 * scale).round() as u32).clamp(1, *height);
                ((*height, *width), Placement { scale, px: ((width - rw) / 2) as f64, py: ((height - rh) / 2) as f64 })
            }
        }
    }

    fn run_chunk(&mut self, chunk: &[Frame], all: &mut Vec<Detections>) -> anyhow::Result<()> {
        // A fixed-batch model gets its exact batch, padded with blank frames.
        let n = if self.fixed_batch { self.batch } else { chunk.len() };
        // Every frame of a chunk has one size, so one geometry.
        let ((h, w), at) = self.geometry(&chunk[0]);
        let background = if matches!(self.layout, Layout::Yolo { .. }) { LETTERBOX_GREY } else { 0.0 };
        let mut input = Array4::<f32>::from_elem((n, 3, h as usize, w as usize), background);
        for (i, frame) in chunk.iter().enumerate() {
            fill(&mut self.resizer, frame, at, input.index_axis_mut(Axis(0), i))?;
        }
        let outputs = self.session.run(ort::inputs![TensorRef::from_array_view(&input)?])?;
        let out = outputs[0].try_extract_array::<f32>()?;
        match &self.layout {
            Layout::CenterNet(decoder) => {
                let ball = outputs[1].try_extract_array::<f32>()?;
                decoder.check_shapes(out.shape(), ball.shape())?;
                for (i, frame) in chunk.iter().enumerate() {
                    let maps = out.index_axis(Axis(0), i).into_dimensionality::<Ix3>()?;
                    let ball = ball.index_axis(Axis(0), i).into_dimensionality::<Ix3>()?;
                    all.push(decoder.decode(maps, ball, frame, at.scale));
                }
            }
            Layout::Yolo { decoder, .. } => {
                decoder.check_shape(out.shape())?;
                for (i, frame) in chunk.iter().enumerate() {
                    all.push(decoder.decode(out.index_axis(Axis(0), i), frame, at));
                }
            }
        }
        Ok(())
    }
}

impl Detector for OnnxDetector {
    fn identity(&self) -> String {
        self.identity.clone()
    }

    fn detect(&mut self, frames: &[Frame]) -> anyhow::Result<Vec<Detections>> {
        let mut all = Vec::with_capacity(frames.len());
        let mut start = 0;
        while start < frames.len() {
            // A chunk holds frames of one size (one input tensor shape), at most a batch.
            let size = (frames[start].width, frames[start].height);
            let len = frames[start..].iter().take(self.batch).take_while(|f| (f.width, f.height) == size).count();
            self.run_chunk(&frames[start..start + len], &mut all)?;
            start += len;
        }
        if let Some(check) = &mut self.ball_check {
            check.rescore(frames, &mut all)?;
        }
        Ok(all)
    }
}
