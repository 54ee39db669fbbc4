//! `tacticeye export --format parquet`: DuckDB reads back the same rows and values as the JSON export.

use std::path::Path;
use std::process::Command;

use tacticeye_tests::{calibrated_synthetic_match, cdf_python, ok, stderr, stdout, tacticeye};

fn read_back(folder: &Path) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("read_parquet.py");
    let out = Command::new(cdf_python()).arg(script).arg(folder).output().expect("the formats venv (`make pytools`)");
    assert!(out.status.success(), "DuckDB could not read {}:\n{}", folder.display(), stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

#[test]
fn a_parquet_export_reads_back_in_duckdb_with_the_json_exports_rows_and_values() {
    let (dir, data, _) = calibrated_synthetic_match(20, 71);
    let json = dir.path().join("m.json");
    ok(tacticeye(&data).args(["export", "m", "--format", "json", "--out"]).arg(&json));
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let objects: Vec<(&serde_json::Value, &serde_json::Value)> = doc["frames"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["objects"].as_array().unwrap().iter().map(move |o| (f, o)))
        .collect();

    let out = dir.path().join("parquet");
    ok(tacticeye(&data).args(["export", "m", "--format", "parquet", "--out"]).arg(&out));
    let read = read_back(&out);
    eprintln!("DuckDB read {read}");
    assert_eq!(read["positions"].as_u64().unwrap(), objects.len() as u64);
    assert_eq!(
        read["on_pitch"].as_u64().unwrap(),
        objects.iter().filter(|(_, o)| !o["pitch"].is_null()).count() as u64
    );
    let track_sum: u64 = objects.iter().map(|(_, o)| o["track_id"].as_u64().unwrap()).sum();
    assert_eq!(read["track_sum"].as_u64().unwrap(), track_sum);
    let with_ball = objects.iter().filter(|(f, o)| f["owner"] == o["track_id"]).count() as u64;
    assert_eq!(read["with_ball"].as_u64().unwrap(), with_ball);
    let (_, first) = objects.iter().min_by_key(|(f, o)| (f["frame"].as_u64(), o["track_id"].as_u64())).unwrap();
    let first_json = [&first["box"][0], &first["box"][1], &first["confidence"]].map(|v| v.as_f64().unwrap());
    assert_eq!(read["first"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect::<Vec<_>>(), first_json);
    assert_eq!(read["types"]["frame"], "UBIGINT");
    assert_eq!(read["types"]["team"], "UTINYINT");
    assert_eq!(read["types"]["has_ball"], "BOOLEAN");
    let events: u64 = read["events"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(events, doc["events"].as_array().unwrap().len() as u64);
    let stats: serde_json::Value =
        serde_json::from_str(&stdout(&ok(tacticeye(&data).args(["stats", "m", "--json"])))).unwrap();
    assert_eq!(read["players"].as_u64().unwrap(), stats["players"].as_array().unwrap().len() as u64);

    // A folder of someone else's is refused untouched.
    let foreign = dir.path().join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("thesis.tex"), "mine").unwrap();
    let refused =
        tacticeye(&data).args(["export", "m", "--format", "parquet", "--out"]).arg(&foreign).output().unwrap();
    assert!(!refused.status.success() && stderr(&refused).contains("thesis.tex"), "{}", stderr(&refused));
    assert_eq!(std::fs::read_dir(&foreign).unwrap().count(), 1);
}
