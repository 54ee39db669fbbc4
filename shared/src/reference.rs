//! Human-labelled events of a real match, read from the formats they are published in, to judge our pass
//! detection where the video is at hand: the Common Data Format's event file and Metrica Sports' sample
//! CSV. Only completed passes are read: a pass we report is one a team-mate received.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, bail};
use chrono::{DateTime, FixedOffset};
use serde::Deserialize;

/// A completed pass of the reference, on its own clock: seconds from its kickoff.
#[derive(Clone, Debug, PartialEq)]
pub struct ReferencePass {
    /// The passing team as the reference names it.
    pub team: String,
    pub start_s: f64,
    /// When the receiver took it, which is when we report a pass.
    pub end_s: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReferenceFormat {
    /// A CDF `event.jsonl` (or the folder holding it) with its `meta.json` beside it, whose first period's
    /// start is the clock's zero.
    Cdf,
    /// Metrica Sports' `RawEventsData.csv`: `Type` PASS rows, `Start Time [s]` and `End Time [s]`.
    Metrica,
}

impl FromStr for ReferenceFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cdf" => Ok(ReferenceFormat::Cdf),
            "metrica" => Ok(ReferenceFormat::Metrica),
            other => Err(format!("unknown reference format {other:?}: cdf or metrica")),
        }
    }
}

/// The completed passes of a reference file, in time order.
pub fn read_passes(path: &Path, format: ReferenceFormat) -> anyhow::Result<Vec<ReferencePass>> {
    let mut passes = match format {
        ReferenceFormat::Cdf => cdf_passes(path),
        ReferenceFormat::Metrica => metrica_passes(path),
    }
    .with_context(|| format!("reading reference events from {}", path.display()))?;
    passes.sort_by(|a, b| a.end_s.total_cmp(&b.end_s));
    Ok(passes)
}

#[derive(Deserialize)]
struct MetricaRow {
    #[serde(rename = "Team")]
    team: String,
    #[serde(rename = "Type")]
    kind: String,
    #[serde(rename = "Start Time [s]")]
    start: f64,
    #[serde(rename = "End Time [s]")]
    end: f64,
}

/// Metrica marks a completed pass `PASS` (a failed one is `BALL LOST`); its times run from kickoff.
fn metrica_passes(path: &Path) -> anyhow::Result<Vec<ReferencePass>> {
    let mut reader = csv::Reader::from_path(path)?;
    let mut passes = Vec::new();
    for (line, row) in reader.deserialize::<MetricaRow>().enumerate() {
        let row = row.with_context(|| format!("row {} is not a Metrica event", line + 2))?;
        if row.kind == "PASS" {
            passes.push(ReferencePass { team: row.team, start_s: row.start, end_s: row.end });
        }
    }
    Ok(passes)
}

#[derive(Deserialize)]
struct CdfLine {
    event: CdfEvent,
}

#[derive(Deserialize)]
struct CdfEvent {
    #[serde(rename = "type")]
    kind: String,
    is_successful: bool,
    time: String,
    receiver_time: Option<String>,
    team_id: Option<String>,
}

#[derive(Deserialize)]
struct CdfMeta {
    #[serde(rename = "match")]
    game: CdfMatch,
}

#[derive(Deserialize)]
struct CdfMatch {
    periods: Vec<CdfPeriod>,
}

#[derive(Deserialize)]
struct CdfPeriod {
    start_time: String,
}

fn instant(text: &str) -> anyhow::Result<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(text).with_context(|| format!("{text:?} is not an RFC 3339 time"))
}

/// A CDF export is a folder: `event.jsonl` beside `meta.json`, whose periods say when play began.
fn cdf_passes(path: &Path) -> anyhow::Result<Vec<ReferencePass>> {
    let events: PathBuf = if path.is_dir() { path.join("event.jsonl") } else { path.to_path_buf() };
    let meta_path = events.with_file_name("meta.json");
    let meta: CdfMeta = serde_json::from_slice(
        &std::fs::read(&meta_path)
            .with_context(|| format!("CDF events need their meta.json: {}", meta_path.display()))?,
    )
    .with_context(|| format!("{} is not CDF meta data", meta_path.display()))?;
    let Some(first) = meta.game.periods.first() else { bail!("{} names no period", meta_path.display()) };
    let kickoff = instant(&first.start_time)?;
    let seconds = |text: &str| -> anyhow::Result<f64> {
        Ok((instant(text)? - kickoff).num_microseconds().context("a time centuries from kickoff")? as f64 / 1e6)
    };
    let text = std::fs::read_to_string(&events).with_context(|| format!("reading {}", events.display()))?;
    let mut passes = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let CdfLine { event } =
            serde_json::from_str(line).with_context(|| format!("line {} is not a CDF event", n + 1))?;
        if event.kind != "pass" || !event.is_successful {
            continue;
        }
        let start_s = seconds(&event.time)?;
        let end_s = match &event.receiver_time {
            Some(t) => seconds(t)?,
            None => start_s,
        };
        let team = event.team_id.with_context(|| format!("line {}: a pass without a team", n + 1))?;
        passes.push(ReferencePass { team, start_s, end_s });
    }
    Ok(passes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrica_csv_gives_its_completed_passes_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.csv");
        std::fs::write(
            &path,
            "Team,Type,Subtype,Period,Start Frame,Start Time [s],End Frame,End Time [s],From,To,Start X,Start Y,End X,End Y\n\
             Away,SET PIECE,KICK OFF,1,1,0.04,0,0,Player19,,NaN,NaN,NaN,NaN\n\
             Away,PASS,,1,3,0.12,17,0.68,Player21,Player15,0.55,0.43,0.58,0.21\n\
             Away,BALL LOST,INTERCEPTION,1,346,13.84,380,15.2,Player17,,0.51,0.97,0.27,0.75\n\
             Home,PASS,HEAD,1,498,19.92,536,21.44,Player2,Player9,0.36,0.67,0.53,0.59\n",
        )
        .unwrap();
        let passes = read_passes(&path, ReferenceFormat::Metrica).unwrap();
        assert_eq!(
            passes,
            vec![
                ReferencePass { team: "Away".into(), start_s: 0.12, end_s: 0.68 },
                ReferencePass { team: "Home".into(), start_s: 19.92, end_s: 21.44 },
            ]
        );
    }

    #[test]
    fn a_file_that_is_not_metrica_is_refused_with_the_row_that_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.csv");
        std::fs::write(&path, "Team,Type,Start Time [s],End Time [s]\nHome,PASS,soon,later\n").unwrap();
        let err = format!("{:#}", read_passes(&path, ReferenceFormat::Metrica).unwrap_err());
        assert!(err.contains("row 2"), "{err}");
    }

    #[test]
    fn cdf_passes_are_timed_from_the_first_period_and_end_when_received() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("meta.json"),
            r#"{"match": {"periods": [{"period": "first_half", "start_time": "2024-05-01T15:30:00.000+02:00"}]}}"#,
        )
        .unwrap();
        let line = |kind: &str, ok: bool, time: &str, received: &str| {
            format!(
                r#"{{"event": {{"type": "{kind}", "is_successful": {ok}, "time": "{time}", "receiver_time": {received}, "team_id": "home"}}}}"#
            )
        };
        std::fs::write(
            dir.path().join("event.jsonl"),
            [
                line("pass", true, "2024-05-01T13:30:12.500Z", r#""2024-05-01T13:30:13.250Z""#),
                line("pass", false, "2024-05-01T13:30:20Z", "null"),
                line("shot", true, "2024-05-01T13:30:30Z", "null"),
            ]
            .join("\n"),
        )
        .unwrap();
        let passes = read_passes(dir.path(), ReferenceFormat::Cdf).unwrap();
        assert_eq!(passes, vec![ReferencePass { team: "home".into(), start_s: 12.5, end_s: 13.25 }]);
        std::fs::remove_file(dir.path().join("meta.json")).unwrap();
        let err = format!("{:#}", read_passes(dir.path(), ReferenceFormat::Cdf).unwrap_err());
        assert!(err.contains("meta.json"), "{err}");
    }
}
