//! A fixed camera found from its keypoints. The keypoint model learned broadcast views, which show a
//! third of the pitch large; a club camera's wide view shows half of it small and bent by the lens, and
//! the model finds little in it whole. So when the whole frames do not fix the camera, they are also
//! searched in overlapping tiles framed more like a broadcast. The keypoints that stay in one place over
//! the frames are kept (the camera does not move; players do), and the camera, a homography and a wide
//! lens's distortion, is the one most of them agree on; then sharpened on the pitch's lines (`lines`).

use std::collections::BTreeSet;

use super::calibration::LENS_K;
use super::keypoints::{Keypoint, KeypointModel, MIN_INLIERS, TOLERANCE_M};
use super::lines;
use super::score::quantile;
use super::{Calibration, CalibrationFile, Homography, KEYPOINTS, Lens, Pitch, PointPair, residual};
use crate::source::Frame;

/// Tiles of 2/3 and 1/2 of the frame's size, 2 x 2 and 3 x 3 of them, each overlapping its neighbours by
/// half. (On the university clip a 4 x 4 grid added a keypoint or two at twice the cost.) They are a
/// fallback: on a view the model reads whole, its keypoints in tiles are further off (on a synthetic fixed
/// camera, the pitch's image points were placed 0.65 m off at the median with them, 0.19 m without).
const TILED: [u32; 2] = [2, 3];
/// Keypoints found within this share of the frame's diagonal of each other are one place.
const SAME_PLACE: f64 = 0.01;
const RANSAC_ROUNDS: usize = 500;
/// The lens strengths tried while looking for the inliers, in hundredths (refined to one hundredth on
/// them).
const LENS_STEP: usize = 5;

/// The camera the frames of a fixed camera show, and the keypoints that agree on it as a calibration
/// file (which `--calibration FILE` takes back): from the keypoints of the whole frames, or else of the
/// frames whole and in tiles.
pub fn find(
    model: &mut KeypointModel,
    frames: &[&Frame],
    pitch: Pitch,
) -> anyhow::Result<Option<(Calibration, CalibrationFile)>> {
    let Some(size) = frames.first().map(|f| (f.width, f.height)) else { return Ok(None) };
    let mut found = model.find(frames)?;
    if let Some(camera) = calibrate(&places(&found, size), pitch, size) {
        return Ok(Some(sharpened(frames, camera)));
    }
    for (seen, tiled) in found.iter_mut().zip(look(model, frames, &TILED)?) {
        seen.extend(tiled);
    }
    Ok(calibrate(&places(&found, size), pitch, size).map(|camera| sharpened(frames, camera)))
}

/// The camera sharpened on the pitch's lines, where enough of them are seen (and it has no lens), and its
/// file rewritten with each keypoint where the sharpened camera puts it (the file is still the camera
/// used); else as it was.
fn sharpened(frames: &[&Frame], (camera, file): (Calibration, CalibrationFile)) -> (Calibration, CalibrationFile) {
    let at = camera.pitch.keypoints();
    let rewritten = || {
        let keypoints = file.pairs(&camera.pitch).ok()?;
        let (sharp, line_points) = lines::refine(frames, &camera, &keypoints)?;
        let g = sharp.inverse()?;
        let points = file.points.iter().map(|p| {
            let (x, y) = g.apply(at[p.keypoint?])?;
            Some(PointPair { image: [x, y], ..p.clone() })
        });
        let file = CalibrationFile { points: points.collect::<Option<_>>()?, ..file.clone() };
        let camera = file.calibration(camera.pitch).ok()?;
        tracing::info!(line_points, "the fixed camera is sharpened on the pitch's lines");
        Some((camera, file))
    };
    rewritten().unwrap_or((camera, file))
}

/// The keypoints found in each frame's tiles (`across` tiles a side each), in the frame's pixels.
fn look(model: &mut KeypointModel, frames: &[&Frame], across: &[u32]) -> anyhow::Result<Vec<Vec<Keypoint>>> {
    frames
        .iter()
        .map(|frame| {
            let mut found = Vec::new();
            // A tile at a time: a 4K frame's tiles together hold four frames' pixels.
            for (x, y, w, h) in tiles(frame.width, frame.height, across) {
                let tile = frame.crop(x, y, w, h);
                let seen = model.find(&[&tile])?.into_iter().flatten();
                found.extend(seen.map(|k| Keypoint { x: k.x + x as f64, y: k.y + y as f64, ..k }));
            }
            Ok(found)
        })
        .collect()
}

/// The tiles of a `width` x `height` frame, `n` x `n` for each `n` of `across`, each `2 / (n + 1)` of the
/// frame: `(x, y, width, height)` each.
fn tiles(width: u32, height: u32, across: &[u32]) -> Vec<(u32, u32, u32, u32)> {
    across
        .iter()
        .flat_map(|&n| {
            let (w, h) = (2 * width / (n + 1), 2 * height / (n + 1));
            (0..n).flat_map(move |i| (0..n).map(move |j| (i * w / 2, j * h / 2, w, h)))
        })
        .collect()
}

/// The places where a keypoint was found on at least half of the frames, each at the median of its
/// findings (a frame's overlapping tiles may each find it): a player standing on a line, or a tile that
/// misreads a mark, moves none of them. A keypoint may have more than
/// one place (a mark some tiles misname); the fit decides.
fn places(found: &[Vec<Keypoint>], (width, height): (u32, u32)) -> Vec<Keypoint> {
    let near = SAME_PLACE * (width as f64).hypot(height as f64);
    let median = |mut v: Vec<f64>| quantile(&mut v, 0.5).expect("seen at least once");
    let mut places = Vec::new();
    for index in 0..KEYPOINTS {
        let mut seen: Vec<(usize, &Keypoint)> = found
            .iter()
            .enumerate()
            .flat_map(|(f, ks)| ks.iter().filter(|k| k.index == index).map(move |k| (f, k)))
            .collect();
        // The surest finding of a place founds it.
        seen.sort_by(|a, b| b.1.confidence.total_cmp(&a.1.confidence));
        let mut groups: Vec<Vec<(usize, &Keypoint)>> = Vec::new();
        for s in seen {
            match groups.iter_mut().find(|g| (g[0].1.x - s.1.x).hypot(g[0].1.y - s.1.y) <= near) {
                Some(group) => group.push(s),
                None => groups.push(vec![s]),
            }
        }
        for group in groups {
            let frames: BTreeSet<usize> = group.iter().map(|s| s.0).collect();
            if 2 * frames.len() >= found.len() {
                places.push(Keypoint {
                    index,
                    x: median(group.iter().map(|s| s.1.x).collect()),
                    y: median(group.iter().map(|s| s.1.y).collect()),
                    confidence: median(group.iter().map(|s| s.1.confidence).collect()),
                });
            }
        }
    }
    places
}

/// The camera most places agree on, lens included, and the keypoints that agree; `None` when fewer than
/// `MIN_INLIERS` do.
fn calibrate(places: &[Keypoint], pitch: Pitch, (width, height): (u32, u32)) -> Option<(Calibration, CalibrationFile)> {
    let at = pitch.keypoints();
    let fits = LENS_K.step_by(LENS_STEP).filter_map(|k| {
        let lens = Lens { k: k as f64 / 100.0, width, height };
        let pairs: Vec<_> = places.iter().map(|p| (lens.undistort((p.x, p.y)), at[p.index])).collect();
        let (homography, inliers) = Homography::ransac(&pairs, TOLERANCE_M, RANSAC_ROUNDS)?;
        // Each keypoint once, at its place that fits best.
        let mut agree: Vec<(f64, &Keypoint)> = places
            .iter()
            .zip(&pairs)
            .zip(&inliers)
            .filter(|(_, inlier)| **inlier)
            .map(|((p, &(from, to)), _)| (residual(&homography, from, to), p))
            .collect();
        agree.sort_by(|a, b| a.1.index.cmp(&b.1.index).then(a.0.total_cmp(&b.0)));
        agree.dedup_by_key(|a| a.1.index);
        let error: f64 = agree.iter().map(|a| a.0).sum();
        Some((agree.len(), error, lens.k, agree))
    });
    // Most keypoints, then least error, then the mildest lens.
    let best = |a: &(usize, f64, f64, _), b: &(usize, f64, f64, _)| {
        a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)).then(b.2.abs().total_cmp(&a.2.abs()))
    };
    let (count, _, _, agree) = fits.max_by(best)?;
    if count < MIN_INLIERS {
        return None;
    }
    // Refitted on the keypoints that agree, the lens to a hundredth (kept only where it earns its place),
    // as `--calibration FILE` fits them: the file written is the camera used. Five keypoints that agree
    // only through a lens fix no camera (the lens takes the fifth).
    let points = agree.iter().map(|(_, p)| PointPair { image: [p.x, p.y], pitch: None, keypoint: Some(p.index) });
    let file = CalibrationFile { image_size: Some([width, height]), points: points.collect() };
    Some((file.calibration(pitch).ok()?, file))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pitch::lines::tests::{SEEN, apart, found_near, painted};

    #[test]
    fn tiles_cover_the_frame_at_three_sizes_and_stay_inside_it() {
        let t = tiles(1281, 721, &[1, 2, 3]);
        assert_eq!(t.len(), 1 + 4 + 9);
        assert_eq!(t[0], (0, 0, 1281, 721));
        assert!(t.iter().all(|&(x, y, w, h)| x + w <= 1281 && y + h <= 721), "{t:?}");
        let last = t.last().unwrap();
        assert!(last.0 + last.2 >= 1279 && last.1 + last.3 >= 719, "the last tile reaches the corner: {last:?}");
    }

    #[test]
    fn a_keypoint_seen_on_half_the_frames_keeps_its_median_place_and_a_misread_one_is_dropped() {
        let at = |index, x| Keypoint { index, x, y: 100.0, confidence: 0.9 };
        let found = vec![
            vec![at(0, 10.0), at(1, 50.0), at(2, 70.0)],
            vec![at(0, 11.0), at(1, 52.0)],
            vec![at(0, 90.0), at(1, 51.0)],
            vec![at(0, 12.0), at(3, 5.0)],
        ];
        let kept = places(&found, (1280, 720));
        assert_eq!(kept.iter().map(|k| (k.index, k.x)).collect::<Vec<_>>(), [(0, 11.0), (1, 51.0)]);
        assert!(places(&[], (1280, 720)).is_empty());
    }

    #[test]
    fn a_wide_lens_camera_is_found_from_its_keypoints_despite_misnamed_places() {
        let pitch = Pitch::default();
        let seen = |kp: usize| {
            let [x, y] = super::super::calibration::seen_through(-0.25, &[kp]).points[0].image;
            Keypoint { index: kp, x, y, confidence: 0.8 }
        };
        let mut found: Vec<Keypoint> = [0, 1, 4, 5, 9, 12, 13, 16, 30].into_iter().map(seen).collect();
        // Two marks named as others: a second place for keypoint 4, and keypoint 3 where 12 is.
        found.push(Keypoint { index: 4, ..seen(10) });
        found.push(Keypoint { index: 3, ..seen(12) });
        let (c, file) = calibrate(&found, pitch, (3072, 1728)).expect("a camera");
        assert_eq!(file.points.len(), 9);
        assert_eq!(file.calibration(pitch).unwrap(), c, "the keypoints that agree give the camera back");
        let got = c.lens.expect("the lens is fitted").k;
        assert!((got + 0.25).abs() <= 0.011, "k = {got}");
        let ground = super::super::Ground { pitch, homography: c.homography, lens: c.lens };
        for kp in [0, 5, 12, 16] {
            let p = seen(kp);
            let want = pitch.keypoints()[kp];
            let got = ground.locate((p.x, p.y)).unwrap();
            assert!((got[0] - want.0).hypot(got[1] - want.1) < 0.2, "{kp}: {got:?}");
        }
        // Four keypoints fix nothing.
        assert!(calibrate(&found[..4], pitch, (3072, 1728)).is_none());
    }

    #[test]
    fn a_camera_sharpened_on_the_lines_is_the_one_its_file_gives_back_and_a_lens_camera_is_left_as_found() {
        let pitch = Pitch::default();
        let truth = Calibration { pitch, homography: SEEN, lens: None };
        let size = (1280, 720);
        let frames = [painted(&truth, size, &[(640.0, 400.0)]), painted(&truth, size, &[(300.0, 650.0)])];
        let frames: Vec<&Frame> = frames.iter().collect();
        // Two pixels off, not four: four at the far corners are 1.7 m, more than a file may miss by.
        let g = SEEN.inverse().unwrap();
        let points = found_near(&truth, &[9, 13, 14, 15, 16, 17, 30, 31]).into_iter().map(|((x, y), at)| {
            let (tx, ty) = g.apply(at).unwrap();
            let k = pitch.keypoints().iter().position(|&p| p == at);
            PointPair { image: [(x + tx) / 2.0, (y + ty) / 2.0], pitch: None, keypoint: k }
        });
        let file = CalibrationFile { image_size: None, points: points.collect() };
        let found = file.calibration(pitch).unwrap();
        let (camera, written) = sharpened(&frames, (found, file.clone()));
        let (sharp, start) = (apart(&SEEN, &camera.homography, size), apart(&SEEN, &found.homography, size));
        assert!(sharp.0 < 0.08 && sharp.0 < start.0 / 2.0, "{sharp:?} from {start:?}");
        let back = written.calibration(pitch).unwrap();
        assert!(apart(&camera.homography, &back.homography, size).1 < 1e-6, "the file written is the camera used");
        let lens = Calibration { lens: Some(Lens { k: -0.2, width: 1280, height: 720 }), ..found };
        assert_eq!(sharpened(&frames, (lens, file.clone())), (lens, file));
    }
}
