//! Parquet export, for pandas, polars, DuckDB and Spark: `positions.parquet` (a row per object per frame,
//! image and pitch coordinates), `events.parquet` and, for a calibrated match, `players.parquet` (the
//! per-player figures of `stats`). Typed columns, zstd-compressed; positions are written a segment at a time
//! as row groups, so a whole match is never held in memory. Written into a new folder renamed into place.

use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Float64Builder, StringBuilder, UInt8Builder, UInt64Builder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::ids::MatchId;
use crate::pipeline::SegmentOutput;
use crate::results::{self, POSITION_COLUMNS, ResultsError};
use crate::stats::StatsReport;
use crate::storage::ObjectStore;

const FILES: [&str; 3] = ["positions.parquet", "events.parquet", "players.parquet"];

/// Rows written per file.
pub struct Written {
    pub positions: u64,
    pub events: u64,
    pub players: Option<u64>,
}

pub async fn export<S: ObjectStore>(store: &S, id: &MatchId, out: &Path) -> anyhow::Result<Written> {
    let (state, _) = crate::analysis::load_state(store, id).await?.ok_or(ResultsError::NotFound(id.clone()))?;
    let tmp = crate::staging::folder(out, &FILES)?;
    let mut positions = writer(&tmp.path().join(FILES[0]), position_schema())?;
    let mut events = writer(&tmp.path().join(FILES[1]), event_schema())?;
    let mut written = Written { positions: 0, events: 0, players: None };
    for index in 0..state.next_segment {
        let output = results::output(store, id, index).await?;
        let (p, e) = (position_batch(&output)?, event_batch(&output)?);
        written.positions += p.num_rows() as u64;
        written.events += e.num_rows() as u64;
        positions.write(&p)?;
        events.write(&e)?;
        // A row group per segment: bounded memory whatever the match's length.
        positions.flush()?;
    }
    positions.close()?;
    events.close()?;
    if state.config.calibration.is_some() {
        let report = results::stats_of(&state)?;
        let mut players = writer(&tmp.path().join(FILES[2]), player_schema())?;
        players.write(&player_batch(&report)?)?;
        players.close()?;
        written.players = Some(report.players.len() as u64);
    }
    crate::staging::put_folder(tmp, out)?;
    Ok(written)
}

fn writer(path: &Path, schema: Arc<Schema>) -> anyhow::Result<ArrowWriter<std::fs::File>> {
    let props = WriterProperties::builder().set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?)).build();
    Ok(ArrowWriter::try_new(std::fs::File::create(path)?, schema, Some(props))?)
}

fn field(name: &str, kind: DataType, nullable: bool) -> Field {
    Field::new(name, kind, nullable)
}

/// The CSV export's columns (`results::POSITION_COLUMNS`), typed.
fn position_schema() -> Arc<Schema> {
    use DataType::*;
    let types = [
        (UInt64, false),
        (Float64, false),
        (UInt64, false),
        (UInt8, true),
        (Utf8, false),
        (Float64, false),
        (Float64, false),
        (Float64, false),
        (Float64, false),
        (Float64, false),
        (Boolean, false),
        (Float64, true),
        (Float64, true),
    ];
    let fields = POSITION_COLUMNS.iter().zip(types).map(|(name, (kind, nullable))| field(name, kind, nullable));
    Arc::new(Schema::new(fields.collect::<Vec<_>>()))
}

fn position_batch(output: &SegmentOutput) -> anyhow::Result<RecordBatch> {
    let (mut frame, mut time, mut track, mut team) =
        (UInt64Builder::new(), Float64Builder::new(), UInt64Builder::new(), UInt8Builder::new());
    let mut role = StringBuilder::new();
    let mut corners: [Float64Builder; 4] = Default::default();
    let (mut confidence, mut has_ball) = (Float64Builder::new(), BooleanBuilder::new());
    let (mut px, mut py) = (Float64Builder::new(), Float64Builder::new());
    for f in &output.frames {
        for o in &f.objects {
            frame.append_value(f.frame);
            time.append_value(f.time);
            track.append_value(o.track_id);
            team.append_option(o.team);
            role.append_value(o.role.name());
            for (b, v) in corners.iter_mut().zip([o.bbox.x1, o.bbox.y1, o.bbox.x2, o.bbox.y2]) {
                b.append_value(v);
            }
            confidence.append_value(o.confidence);
            has_ball.append_value(f.owner == Some(o.track_id));
            px.append_option(o.pitch.map(|p| p[0]));
            py.append_option(o.pitch.map(|p| p[1]));
        }
    }
    let [mut x1, mut y1, mut x2, mut y2] = corners;
    let columns: Vec<ArrayRef> = vec![
        Arc::new(frame.finish()),
        Arc::new(time.finish()),
        Arc::new(track.finish()),
        Arc::new(team.finish()),
        Arc::new(role.finish()),
        Arc::new(x1.finish()),
        Arc::new(y1.finish()),
        Arc::new(x2.finish()),
        Arc::new(y2.finish()),
        Arc::new(confidence.finish()),
        Arc::new(has_ball.finish()),
        Arc::new(px.finish()),
        Arc::new(py.finish()),
    ];
    Ok(RecordBatch::try_new(position_schema(), columns)?)
}

fn event_schema() -> Arc<Schema> {
    use DataType::*;
    Arc::new(Schema::new(vec![
        field("kind", Utf8, false),
        field("frame", UInt64, false),
        field("time", Float64, false),
        field("team", UInt8, true),
        field("from_track", UInt64, true),
        field("to_track", UInt64, true),
        field("start_frame", UInt64, true),
        field("seconds", Float64, true),
        field("from_x", Float64, true),
        field("from_y", Float64, true),
        field("to_x", Float64, true),
        field("to_y", Float64, true),
    ]))
}

fn event_batch(output: &SegmentOutput) -> anyhow::Result<RecordBatch> {
    let mut kind = StringBuilder::new();
    let (mut frame, mut time, mut team) = (UInt64Builder::new(), Float64Builder::new(), UInt8Builder::new());
    let (mut from, mut to, mut start) = (UInt64Builder::new(), UInt64Builder::new(), UInt64Builder::new());
    let mut places: [Float64Builder; 5] = Default::default();
    for e in &output.events {
        kind.append_value(serde_json::to_value(e.kind)?.as_str().unwrap_or_default());
        frame.append_value(e.frame);
        time.append_value(e.time);
        team.append_option(e.team);
        from.append_option(e.from_track);
        to.append_option(e.to_track);
        start.append_option(e.start_frame);
        let values = [
            e.seconds,
            e.from_pitch.map(|p| p[0]),
            e.from_pitch.map(|p| p[1]),
            e.to_pitch.map(|p| p[0]),
            e.to_pitch.map(|p| p[1]),
        ];
        for (b, v) in places.iter_mut().zip(values) {
            b.append_option(v);
        }
    }
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(kind.finish()),
        Arc::new(frame.finish()),
        Arc::new(time.finish()),
        Arc::new(team.finish()),
        Arc::new(from.finish()),
        Arc::new(to.finish()),
        Arc::new(start.finish()),
    ];
    columns.extend(places.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    Ok(RecordBatch::try_new(event_schema(), columns)?)
}

fn player_schema() -> Arc<Schema> {
    use DataType::*;
    Arc::new(Schema::new(vec![
        field("track_id", UInt64, false),
        field("team", UInt8, true),
        field("role", Utf8, true),
        field("seconds", Float64, false),
        field("distance_m", Float64, false),
        field("top_speed_kmh", Float64, false),
        field("walking_s", Float64, false),
        field("jogging_s", Float64, false),
        field("running_s", Float64, false),
        field("sprinting_s", Float64, false),
        field("sprints", UInt64, false),
    ]))
}

fn player_batch(report: &StatsReport) -> anyhow::Result<RecordBatch> {
    let (mut track, mut team, mut role) = (UInt64Builder::new(), UInt8Builder::new(), StringBuilder::new());
    let mut figures: [Float64Builder; 7] = Default::default();
    let mut sprints = UInt64Builder::new();
    for p in &report.players {
        track.append_value(p.track_id);
        team.append_option(p.team);
        role.append_option(p.role.map(|r| r.name()));
        let values = [p.seconds, p.distance_m, p.top_speed_kmh, p.walking_s, p.jogging_s, p.running_s, p.sprinting_s];
        for (b, v) in figures.iter_mut().zip(values) {
            b.append_value(v);
        }
        sprints.append_value(p.sprints.into());
    }
    let mut columns: Vec<ArrayRef> = vec![Arc::new(track.finish()), Arc::new(team.finish()), Arc::new(role.finish())];
    columns.extend(figures.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    columns.push(Arc::new(sprints.finish()));
    Ok(RecordBatch::try_new(player_schema(), columns)?)
}
