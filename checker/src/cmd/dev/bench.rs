//! `checker dev bench`: the figures the course promises, measured (see
//! [`crate::bench`]), printed one per line.

use crate::bench::{self, median, worst};
use crate::exit::Code;
use crate::session::Session;

pub async fn execute(session: &Session, saves: usize, exercise: &str) -> anyhow::Result<Code> {
    let slug = session.course.find(exercise)?.slug.clone();
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

    let scratch = bench::scratch_course(session, &slug)?;
    let rebuilt = bench::rebuilt_dependencies(session, &scratch, &slug)?;
    outln!("dependencies rebuilt by a check after an edit: {}", rebuilt.len());
    for r in &rebuilt {
        outln!("  rebuilt: {r}");
    }

    let times = bench::watch_times(session, &scratch, &server.url, saves, &slug)?;
    outln!(
        "watch mode, save to verdict on {slug} (warm): median {} ms, worst {} ms ({} saves)",
        median(&times),
        worst(&times),
        times.len()
    );
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(Code::Passed)
}
