//! Every loopback scenario runs end to end (very briefly: the figures of a
//! debug build mean nothing) and renders.

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
    assert_eq!(results.len(), 8);
    assert_eq!(steps.len(), 16);
    assert!(steps.iter().all(|&(_, total)| total == 16));
    for r in &results {
        assert!(r.ours > 0.0, "{}: {r:?}", r.id);
        assert!(r.baseline.is_none_or(|b| b > 0.0), "{}: {r:?}", r.id);
    }
    let table = render_table(&results);
    assert_eq!(table.lines().count(), 2 + results.len());
    assert!(table.contains("yamux"));
    let json: serde_json::Value = serde_json::from_str(&render_json(&results)).unwrap();
    assert_eq!(json.as_array().map(Vec::len), Some(results.len()));
    assert_eq!(json[0]["id"], "raw-tcp");
}
