//! `checker dev bench`: the figures the course promises, measured (see
//! [`crate::bench`]): database create and drop, the wire relay, then a table with one row
//! per exercise: save to verdict in watch mode, the relink floor, their
//! ratio, and where one save's time goes.

use crate::bench::{self, median, worst};
use crate::exit::Code;
use crate::session::Session;

pub async fn execute(session: &Session, saves: usize, exercises: &[String]) -> anyhow::Result<Code> {
    let chosen = if exercises.is_empty() {
        session.course.exercises.clone()
    } else {
        exercises.iter().map(|e| session.course.find(e).cloned()).collect::<Result<Vec<_>, _>>()?
    };
    let saves = saves.max(1);
    let server = session.server().await?.clone();
    outln!("server: {} ({})", crate::db::redact(&server.url), server.origin);

    match session.fast_tablespace() {
        Some(t) => outln!("check databases: in memory (tablespace {t})"),
        None => outln!("check databases: in the default tablespace"),
    }
    let (create, drop) = bench::database_times(&server.url, session.fast_tablespace(), 20).await?;
    outln!("create database: median {:>4} ms, worst {:>4} ms (20 runs)", median(&create), worst(&create));
    outln!("drop database:   median {:>4} ms, worst {:>4} ms (20 runs)", median(&drop), worst(&drop));

    let relay = bench::relay_times(&server.url, 500).await?;
    outln!(
        "round trip (SELECT 1): direct median {} us, through the wire relay median {} us (500 each)",
        median(&relay.direct),
        median(&relay.relayed)
    );
    outln!(
        "wire relay start and stop: median {} us, worst {} us (20 runs)",
        median(&relay.start_stop),
        worst(&relay.start_stop)
    );
    outln!();
    outln!("Per exercise, medians of {saves} saves, in ms. verdict: watch mode, save to verdict. floor:");
    outln!("`cargo test --no-run -p EX` after the same edit. Then one save taken apart (`checker run`'s");
    outln!("steps, timed): build = cargo + compile + link; checks = start + create + migrate + body + drop");
    outln!("+ end, the checks' threads sharing each instant between the phases they are in.");
    outln!();
    outln!(
        "{:<18} {:>7} {:>6} {:>6} | {:>5} {:>7} {:>5} | {:>5} {:>6} {:>7} {:>5} {:>5} {:>5} | {:>6}",
        "exercise",
        "verdict",
        "floor",
        "ratio",
        "cargo",
        "compile",
        "link",
        "start",
        "create",
        "migrate",
        "body",
        "drop",
        "end",
        "checks"
    );
    let mut worst_ratio: f64 = 0.0;
    for ex in &chosen {
        let b = match bench::exercise(session, ex, &server.url, saves).await {
            Ok(b) => b,
            Err(e) => {
                outln!("{:<18} could not be measured: {e}", ex.slug);
                continue;
            }
        };
        let m = |f: &dyn Fn(usize) -> u64| -> u64 {
            let v: Vec<u128> = (0..b.builds.len()).map(|i| u128::from(f(i))).collect();
            median(&v) as u64
        };
        let verdict = median(&b.verdict.iter().map(|&v| u128::from(v)).collect::<Vec<_>>()) as u64;
        let floor = median(&b.floor.iter().map(|&v| u128::from(v)).collect::<Vec<_>>()) as u64;
        let ratio = verdict as f64 / floor.max(1) as f64;
        worst_ratio = worst_ratio.max(ratio);
        outln!(
            "{:<18} {:>7} {:>6} {:>5.2}x | {:>5} {:>7} {:>5} | {:>5} {:>6} {:>7} {:>5} {:>5} {:>5} | {:>6}",
            ex.slug,
            verdict,
            floor,
            ratio,
            m(&|i| b.builds[i].cargo),
            m(&|i| b.builds[i].compile),
            m(&|i| b.builds[i].link),
            m(&|i| b.runs[i].start),
            m(&|i| b.runs[i].create),
            m(&|i| b.runs[i].migrate),
            m(&|i| b.runs[i].body),
            m(&|i| b.runs[i].drop),
            m(&|i| b.runs[i].end),
            b.runs.first().map_or(0, |r| r.checks),
        );
        for r in &b.rebuilt {
            outln!("  rebuilt after an edit: {r}");
        }
    }
    outln!();
    outln!("worst verdict/floor ratio: {worst_ratio:.2}x");
    Ok(Code::Passed)
}
