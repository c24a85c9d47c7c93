//! `wireforms-bench [--quick] [--json] [--only ID]`: the loopback scenarios of
//! [`wireforms_bench::run`], printed as a table (or JSON). Progress goes to
//! standard error when it is a terminal.
//!
//! Run it in release mode: `cargo run --release -p wireforms-bench -- --quick`.

use std::io::IsTerminal;
use std::process::ExitCode;

use wireforms_bench::{render_json, render_table, run, BenchOptions};

fn main() -> ExitCode {
    let mut options = BenchOptions::default();
    let mut json = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--only" => options.only = args.next(),
            "--quick" => options.quick = true,
            "--json" => json = true,
            "-h" | "--help" => {
                println!("usage: wireforms-bench [--quick] [--json] [--only SCENARIO-ID-PART]");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("wireforms-bench: unknown argument {other:?}");
                return ExitCode::from(2);
            }
        }
    }
    if cfg!(debug_assertions) {
        eprintln!("wireforms-bench: a debug build; run with --release for real figures");
    }
    let terminal = std::io::stderr().is_terminal();
    let results = run(&options, &mut |p| {
        if terminal {
            eprint!(
                "\r\x1b[K[{}/{}] {} ({})",
                p.step, p.steps, p.scenario, p.side
            );
        }
    });
    if terminal {
        eprint!("\r\x1b[K");
    }
    if json {
        println!("{}", render_json(&results));
    } else {
        print!("{}", render_table(&results));
    }
    ExitCode::SUCCESS
}
