//! Every scenario, loopback and in memory, runs end to end (very briefly:
//! the figures of a debug build mean nothing) and renders.

use std::time::Duration;

use wireforms_bench::{render_json, render_table, run, BenchOptions};

#[test]
fn every_scenario_runs_and_renders() {
    let options = BenchOptions {
        quick: true,
        measure: Some(Duration::from_millis(40)),
        only: None,
    };
    let mut steps = Vec::new();
    let results = run(&options, &mut |p| steps.push((p.step, p.steps)));
    // 9 loopback scenarios, 22 codec rows (4 binary formats x 2 sizes,
    // request lines x 3, each decode and encode), 4 batch rows.
    assert_eq!(results.len(), 9 + 22 + 4);
    // raw TCP once, 8 loopback pairs, one step per in-memory row, raw again.
    assert_eq!(steps.len(), 1 + 16 + 26 + 1);
    assert!(steps.iter().all(|&(_, total)| total == steps.len()));
    for r in &results {
        assert!(r.ours > 0.0, "{}: {r:?}", r.id);
        assert!(r.baseline.is_none_or(|b| b > 0.0), "{}: {r:?}", r.id);
    }
    let ids: Vec<&str> = results.iter().map(|r| r.id.as_str()).collect();
    for id in [
        "frame-64-batch",
        "codec/typed/decode/16",
        "codec/mux/encode/4096",
        "codec/request/encode/65000",
        "batch/magic/decode/16",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    assert!(results
        .iter()
        .filter(|r| r.id.starts_with("codec/") || r.id.starts_with("batch/"))
        .all(|r| r.target.is_some() || r.id.starts_with("codec/request/decode/")));
    let table = render_table(&results);
    assert_eq!(table.lines().count(), 2 + results.len());
    assert!(table.contains("yamux"));
    let json: serde_json::Value = serde_json::from_str(&render_json(&results)).unwrap();
    assert_eq!(json.as_array().map(Vec::len), Some(results.len()));
    assert_eq!(json[0]["id"], "raw-tcp");
    for key in ["id", "ours", "baseline", "ratio", "target", "met"] {
        assert!(json[0].get(key).is_some(), "{key}");
    }
}
