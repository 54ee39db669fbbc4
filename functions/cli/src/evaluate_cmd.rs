//! `tacticeye evaluate`: an analysed synthetic match against its truth, or a real match's passes against
//! the events people labelled on it (CDF or Metrica Sports' format).

use std::path::PathBuf;

use anyhow::Context;

use tacticeye::eval::{self, ReferenceScore};
use tacticeye::ids::MatchId;
use tacticeye::reference::{self, ReferenceFormat};
use tacticeye::results;
use tacticeye::storage::LocalStore;
use tacticeye::truth::Truth;

#[derive(Clone, Copy)]
enum Offset {
    Auto,
    Seconds(f64),
}

impl std::str::FromStr for Offset {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Offset::Auto),
            _ => s.parse().map(Offset::Seconds).map_err(|_| format!("{s:?} is neither seconds nor `auto`")),
        }
    }
}

#[derive(clap::Args)]
pub struct EvaluateArgs {
    match_id: MatchId,
    /// The synthetic clip's truth file.
    #[arg(long, required_unless_present = "events", conflicts_with = "events")]
    truth: Option<PathBuf>,
    /// Labelled events of the real match: a CDF export's folder (or its event.jsonl) or a Metrica CSV.
    #[arg(long, requires = "format")]
    events: Option<PathBuf>,
    /// `cdf` or `metrica`.
    #[arg(long)]
    format: Option<ReferenceFormat>,
    /// What the events' clock read at the video's first frame, in seconds from their kickoff, or `auto`:
    /// the offset at which the most of their receptions and ours line up.
    #[arg(long, default_value = "0", allow_negative_numbers = true)]
    offset: Offset,
    /// Seconds between their reception and ours still taken as the same pass.
    #[arg(long, default_value_t = 0.5)]
    tolerance: f64,
    #[arg(long)]
    json: bool,
}

pub async fn evaluate(store: &LocalStore, args: EvaluateArgs) -> anyhow::Result<()> {
    let (state, outputs) = results::committed_state(store, &args.match_id).await?;
    if let (Some(events), Some(format)) = (&args.events, args.format) {
        let passes = reference::read_passes(events, format)?;
        let offset = match args.offset {
            Offset::Seconds(s) => s,
            Offset::Auto => eval::best_offset(&passes, &outputs, args.tolerance)
                .context("--offset auto needs passes in both the events and the analysis")?,
        };
        let score = eval::score_passes(&passes, &outputs, offset, args.tolerance);
        if args.json {
            println!("{}", serde_json::to_string_pretty(&score)?);
        } else {
            print_reference(&score);
        }
        return Ok(());
    }
    let truth = Truth::load(args.truth.as_deref().expect("clap requires --truth or --events"))?;
    let mut report = eval::evaluate(&truth, &outputs, (truth.fps / 2.0).round() as u64);
    if state.config.calibration.is_some() {
        report.physical = Some(tacticeye::stats::score::score(&truth, &outputs, &state.stats));
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(())
}

fn print_reference(score: &ReferenceScore) {
    let p = &score.passes;
    println!("offset               {:.2} s: their clock at our first frame", score.offset_s);
    println!("reference span       {:.2} s to {:.2} s of its clock", score.span_s[0], score.span_s[1]);
    println!("teams                ours 0 = {:?}, ours 1 = {:?}", score.teams[0], score.teams[1]);
    println!(
        "passes               precision {:.3}  recall {:.3}  ({} found, {} labelled, {} matched)",
        p.precision, p.recall, p.found, p.truth, p.matched
    );
    if let Some(dt) = score.median_time_error_s {
        println!("reception time       median {dt:.2} s from the label");
    }
}

fn print_report(report: &eval::Report) {
    println!("frames evaluated     {}", report.frames);
    println!("people recall        {:.3}  precision {:.3}", report.people_recall, report.people_precision);
    println!("team accuracy        {:.3}", report.team_accuracy);
    let c = &report.switch_causes;
    println!(
        "id switches          {} ({:.2} per player-minute; {} people, {} tracks): {} after a gap, {} crossed, {} new ids",
        report.id_switches,
        report.id_switches_per_player_minute,
        report.truth_people,
        report.tracks,
        c.after_gap,
        c.crossed,
        c.new_id
    );
    let line = |name: &str, s: &eval::EventScore| {
        println!(
            "{name:<20} precision {:.3}  recall {:.3}  ({} found, {} true, {} matched)",
            s.precision, s.recall, s.found, s.truth, s.matched
        );
        if let Some(m) = s.missed.as_ref().filter(|_| s.matched < s.truth) {
            println!(
                "{:<20} missed: {} brief (lost again within 0.4 s), {} with someone nearer the ball, {} given straight back, {} other",
                "", m.brief, m.someone_nearer, m.given_back, m.other
            );
        }
    };
    line("passes", &report.passes);
    line("turnovers", &report.turnovers);
    println!("ball within 10 px    {:.3}", report.ball_within_10px);
    match (report.position_error_m, report.position_error_p90_m) {
        (Some(median), Some(p90)) => println!(
            "pitch positions      {:.3} of matched people placed; error median {median:.2} m, 90th percentile {p90:.2} m",
            report.placed
        ),
        _ => println!("pitch positions      none (analyse with --calibration)"),
    }
    if let Some(p) = &report.physical {
        let or_none = |v: Option<f64>, unit: &str| v.map_or("-".into(), |v| format!("{v:.2}{unit}"));
        println!(
            "distance covered     {} players: error median {}, largest {}; {:.2} within 3 %; bias {}",
            p.players,
            or_none(p.distance_error_pct, " %"),
            or_none(p.distance_error_max_pct, " %"),
            p.distance_within_3pct,
            or_none(p.distance_bias_pct, " %"),
        );
        println!(
            "top speed            error median {}, largest {}; {:.2} within 1 km/h; bias {}",
            or_none(p.top_speed_error_kmh, " km/h"),
            or_none(p.top_speed_error_max_kmh, " km/h"),
            p.top_speed_within_1kmh,
            or_none(p.top_speed_bias_kmh, " km/h"),
        );
        // Who is outside the targets, so a figure can be followed to a player and his track.
        for c in p.compared.iter().filter(|c| !c.within_targets()) {
            let (d, v) = (c.distance_error_pct(), c.top_speed_error_kmh());
            println!(
                "{:<20} player {} (track {}, {:.0} s): {:.1} m read {:.1} ({d:+.1} %), top {:.1} km/h read {:.1} ({v:+.2})",
                "", c.truth_id, c.track, c.seconds, c.truth_m, c.measured_m, c.truth_top_kmh, c.measured_top_kmh
            );
        }
    }
}
