//! The embedded PostgreSQL cluster, driven through the library API. Every
//! test runs its own cluster in a temporary directory (never the
//! workspace's), and a guard stops and deletes it even when an assertion
//! fails.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use checker::db::embedded::{Cluster, EmbeddedError, PgBinaries, Search, Status};

/// A cluster in a scratch directory, destroyed on drop.
struct Scratch {
    cluster: Cluster,
    dir: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(e) = self.cluster.destroy() {
            eprintln!("could not clean up the cluster in {}: {e}", self.dir.display());
        }
    }
}

/// A private scratch directory (mode 700), like a checkout under /root:
/// when the tests run as root, the server's account cannot enter it, so
/// the data goes under /var/tmp.
fn scratch() -> Scratch {
    scratch_with_mode(0o700)
}

/// A scratch directory anyone may pass through, like most checkouts.
fn open_scratch() -> Scratch {
    scratch_with_mode(0o755)
}

fn scratch_with_mode(mode: u32) -> Scratch {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().expect("a temporary directory");
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(mode)).expect("chmod");
    let dir = tmp.path().join("target/workbook/pg");
    Scratch { cluster: Cluster::new(&dir), dir, _tmp: tmp }
}

fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output().expect("id -u");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// Runs one statement with the psql that goes with the server programs.
fn psql(url: &str, sql: &str) -> String {
    let bins = PgBinaries::find().expect("the server programs");
    let psql = bins.psql().expect("psql is installed alongside the server programs");
    let out = Command::new(&psql).args([url, "-X", "-A", "-t", "-c", sql]).output().expect("running psql");
    assert!(out.status.success(), "psql -c {sql:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn accepts(port: u16) -> bool {
    TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok()
}

#[test]
fn first_start_creates_a_private_server_that_answers_queries() {
    let s = open_scratch();
    assert!(matches!(s.cluster.status().unwrap(), Status::NotCreated));

    let started = Instant::now();
    let running = s.cluster.ensure_running().unwrap();
    eprintln!("first start (initdb + start): {:?}", started.elapsed());

    assert!(running.started_now);
    assert_ne!(running.port, 5432, "must never take the machine's own server's port");
    assert_eq!(running.url, format!("postgres://workbook@127.0.0.1:{}/postgres", running.port));
    assert!(running.version.starts_with(|c: char| c.is_ascii_digit()), "version {:?}", running.version);
    let dir = std::fs::canonicalize(&s.dir).unwrap();
    assert_eq!(running.data_dir, dir.join("data"), "a reachable dir holds the data itself");
    assert_eq!(std::fs::read_to_string(dir.join("url")).unwrap(), running.url);
    assert_eq!(std::fs::read_to_string(dir.join("port")).unwrap(), running.port.to_string());
    assert!(s.cluster.log_file().is_file(), "the server logs to {}", s.cluster.log_file().display());

    assert!(accepts(running.port));
    assert_eq!(psql(&running.url, "select 1"), "1");
    assert_eq!(psql(&running.url, "select current_user"), "workbook");
    assert_eq!(psql(&running.url, "show fsync"), "off");
    assert_eq!(psql(&running.url, "show max_connections"), "200");
    assert_eq!(psql(&running.url, "show listen_addresses"), "127.0.0.1");
    assert_eq!(psql(&running.url, "show unix_socket_directories"), "");

    match s.cluster.status().unwrap() {
        Status::Running(r) => {
            assert_eq!(r.pid, running.pid);
            assert_eq!(r.port, running.port);
            assert!(!r.started_now);
        }
        other => panic!("expected Running, got {other:?}"),
    }
}

#[test]
fn ensure_running_again_reuses_the_same_server() {
    let s = scratch();
    let first = s.cluster.ensure_running().unwrap();

    let started = Instant::now();
    let again = Cluster::new(&s.dir).ensure_running().unwrap();
    eprintln!("reused ensure_running: {:?}", started.elapsed());

    assert!(!again.started_now);
    assert_eq!(again.pid, first.pid);
    assert_eq!(again.port, first.port);
    assert_eq!(again.url, first.url);
}

#[test]
fn parallel_callers_end_up_with_one_server() {
    let s = scratch();
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4).map(|_| scope.spawn(|| Cluster::new(&s.dir).ensure_running())).collect();
        handles.into_iter().map(|h| h.join().expect("no panic")).collect()
    });
    let runs: Vec<_> = results.into_iter().map(|r| r.expect("every caller gets the server")).collect();
    assert!(runs.iter().all(|r| r.pid == runs[0].pid && r.port == runs[0].port), "{runs:?}");
    assert_eq!(runs.iter().filter(|r| r.started_now).count(), 1, "exactly one caller starts it: {runs:?}");
}

#[test]
fn stop_then_start_keeps_the_data() {
    let s = scratch();
    let first = s.cluster.ensure_running().unwrap();
    psql(&first.url, "create database kept_across_restarts");

    assert!(s.cluster.stop().unwrap(), "stop reports that it stopped a server");
    assert!(!accepts(first.port), "nothing listens after stop");
    assert!(!s.dir.join("url").exists(), "the url is withdrawn while stopped");
    match s.cluster.status().unwrap() {
        Status::Stopped { data_dir } => assert_eq!(data_dir, first.data_dir),
        other => panic!("expected Stopped, got {other:?}"),
    }
    assert!(!s.cluster.stop().unwrap(), "stopping a stopped server is not an error");

    let second = s.cluster.ensure_running().unwrap();
    assert!(second.started_now);
    assert_ne!(second.pid, first.pid);
    assert_eq!(second.port, first.port, "the remembered port is reused while free");
    assert_eq!(psql(&second.url, "select count(*) from pg_database where datname = 'kept_across_restarts'"), "1");
}

#[test]
fn a_killed_server_is_restarted_despite_its_leftover_pid_file() {
    let s = scratch();
    let first = s.cluster.ensure_running().unwrap();
    let killed = Command::new("kill").args(["-9", &first.pid.to_string()]).status().unwrap();
    assert!(killed.success());
    // kill returns before the kernel has torn the process down; until then
    // it still owns its listening socket and looks alive.
    wait_until_dead(first.pid);
    assert!(first.data_dir.join("postmaster.pid").exists(), "a crash leaves the pid file behind");

    let second = s.cluster.ensure_running().unwrap();
    assert!(second.started_now);
    assert_ne!(second.pid, first.pid);
    assert_eq!(psql(&second.url, "select 1"), "1");
}

/// Waits until `pid` has exited (gone, or a zombie nobody reaped yet).
fn wait_until_dead(pid: u32) {
    let deadline = Instant::now() + std::time::Duration::from_secs(10);
    while Instant::now() < deadline {
        let dead = if Path::new("/proc/self").exists() {
            // A zombie has an empty command line.
            std::fs::read(format!("/proc/{pid}/cmdline")).map_or(true, |c| c.is_empty())
        } else {
            let out = Command::new("ps").args(["-o", "stat=", "-p", &pid.to_string()]).output().unwrap();
            !out.status.success() || String::from_utf8_lossy(&out.stdout).trim().starts_with('Z')
        };
        if dead {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("process {pid} survived kill -9 for 10 s");
}

/// Regression guard: after a reboot, the pid in a leftover postmaster.pid
/// may belong to some unrelated live process, and PostgreSQL then refuses
/// to start ("lock file already exists").
#[test]
fn a_pid_file_naming_a_live_stranger_does_not_block_start() {
    let s = scratch();
    let first = s.cluster.ensure_running().unwrap();
    let pid_file = first.data_dir.join("postmaster.pid");
    let real = std::fs::read_to_string(&pid_file).unwrap();
    assert!(s.cluster.stop().unwrap());

    let mut stranger = stranger_as_server_account();
    let forged: Vec<String> = real
        .lines()
        .enumerate()
        .map(|(i, line)| if i == 0 { stranger.id().to_string() } else { line.to_owned() })
        .collect();
    std::fs::write(&pid_file, forged.join("\n") + "\n").unwrap();

    let status = s.cluster.status();
    let second = s.cluster.ensure_running();
    _ = stranger.kill();
    _ = stranger.wait();
    assert!(matches!(status.unwrap(), Status::Stopped { .. }), "a stranger's pid is not a running server");
    let second = second.unwrap();
    assert!(second.started_now);
    assert_eq!(psql(&second.url, "select 1"), "1");
}

/// Regression guard: PostgreSQL refuses to start over an empty
/// postmaster.pid ("lock file is empty"), which a crash while starting
/// can leave behind.
#[test]
fn an_empty_pid_file_left_by_a_crash_does_not_block_start() {
    let s = scratch();
    let first = s.cluster.ensure_running().unwrap();
    assert!(s.cluster.stop().unwrap());
    std::fs::write(first.data_dir.join("postmaster.pid"), "").unwrap();

    assert!(matches!(s.cluster.status().unwrap(), Status::Stopped { .. }));
    let second = s.cluster.ensure_running().unwrap();
    assert!(second.started_now);
    assert_eq!(psql(&second.url, "select 1"), "1");
}

/// A process the server's account could signal, so pg_ctl and the server
/// both take it for a live postmaster: as root, `sleep` under the account
/// the cluster runs as (setpriv execs in place, keeping the pid).
fn stranger_as_server_account() -> std::process::Child {
    if is_root() {
        let account = ["postgres", "nobody"]
            .into_iter()
            .find(|a| Command::new("id").arg(a).output().is_ok_and(|o| o.status.success()))
            .expect("the account the cluster runs as");
        let group = format!(
            "--regid={}",
            String::from_utf8(Command::new("id").args(["-g", account]).output().unwrap().stdout).unwrap().trim()
        );
        return Command::new("setpriv")
            .args([&format!("--reuid={account}"), &group, "--clear-groups", "--", "sleep", "60"])
            .spawn()
            .expect("setpriv (util-linux)");
    }
    Command::new("sleep").arg("60").spawn().unwrap()
}

#[test]
fn a_remembered_port_taken_by_someone_else_is_replaced() {
    let s = scratch();
    let first = s.cluster.ensure_running().unwrap();
    assert!(s.cluster.stop().unwrap());
    let squatter = TcpListener::bind((Ipv4Addr::LOCALHOST, first.port)).expect("the port is free after stop");

    let second = s.cluster.ensure_running().unwrap();
    drop(squatter);
    assert_ne!(second.port, first.port);
    assert_eq!(std::fs::read_to_string(s.dir.join("port")).unwrap(), second.port.to_string());
    assert_eq!(psql(&second.url, "select 1"), "1");
}

#[test]
fn data_goes_where_the_server_account_can_reach_it() {
    let s = scratch();
    let running = s.cluster.ensure_running().unwrap();
    let dir = std::fs::canonicalize(&s.dir).unwrap();
    if is_root() {
        // The scratch dir has mode 700 and the server runs as another account.
        let home = running.data_dir.parent().unwrap();
        assert!(home.starts_with("/var/tmp"), "data in {}", running.data_dir.display());
        assert!(home.file_name().unwrap().to_string_lossy().starts_with("workbook-pg-"));
        assert_eq!(
            std::fs::read_to_string(dir.join("datadir")).unwrap(),
            running.data_dir.to_string_lossy(),
            "the location is recorded for later calls"
        );
        assert_eq!(s.cluster.log_file(), home.join("server.log"));
        assert!(s.cluster.log_file().is_file());
        // A fresh Cluster value (a later checker run) finds the same server.
        assert_eq!(Cluster::new(&s.dir).ensure_running().unwrap().pid, running.pid);
    } else {
        assert_eq!(running.data_dir, dir.join("data"));
    }
    drop(s);
    assert!(!running.data_dir.exists(), "destroy removes the data, wherever it is");
}

#[test]
fn with_no_server_programs_the_error_names_the_three_ways_out() {
    let search = Search { pg_bin: None, path: Vec::new(), install_dirs: false };
    let err = search.find().unwrap_err();
    assert!(matches!(err, EmbeddedError::NoBinaries { .. }), "{err:?}");
    let message = err.to_string();
    for needle in [
        "find PostgreSQL's server programs",
        "WORKBOOK_PG_BIN (not set)",
        "apt-get install postgresql",
        "brew install postgresql@16",
        "docker compose up -d",
        "compose.yml",
        "DATABASE_URL",
        "--database-url",
    ] {
        assert!(message.contains(needle), "{needle:?} missing from:\n{message}");
    }

    let tmp = tempfile::tempdir().unwrap();
    let cluster = Cluster::with_search(tmp.path().join("pg"), search);
    assert!(matches!(cluster.ensure_running(), Err(EmbeddedError::NoBinaries { .. })));
    assert!(!tmp.path().join("pg/data").exists());
}

#[test]
fn the_searched_places_are_listed() {
    let empty = tempfile::tempdir().unwrap();
    let search = Search { pg_bin: None, path: vec![empty.path().to_path_buf()], install_dirs: true };
    let listed = match search.find() {
        // This machine has PostgreSQL in a usual place; the list is still
        // what the error would show.
        Ok(_) => return,
        Err(e) => e.to_string(),
    };
    assert!(listed.contains(&empty.path().display().to_string()), "{listed}");
    assert!(listed.contains("/usr/lib/postgresql/<version>/bin"), "{listed}");
    assert!(listed.contains("/opt/homebrew/opt/postgresql@<version>/bin"), "{listed}");
}

#[test]
fn workbook_pg_search_none_leaves_only_workbook_pg_bin() {
    let search = Search::from_vars(|name| match name {
        "WORKBOOK_PG_SEARCH" => Some("none".into()),
        "PATH" => Some("/usr/local/bin:/usr/bin".into()),
        _ => None,
    });
    assert!(search.path.is_empty());
    assert!(!search.install_dirs);
    assert!(matches!(search.find(), Err(EmbeddedError::NoBinaries { .. })));

    let search = Search::from_vars(|name| (name == "PATH").then(|| "/a:/b".into()));
    assert_eq!(search.path, [Path::new("/a"), Path::new("/b")]);
    assert!(search.install_dirs);
}

#[test]
fn a_workbook_pg_bin_without_the_programs_is_reported_not_skipped() {
    let empty = tempfile::tempdir().unwrap();
    let search = Search::from_vars(|name| (name == "WORKBOOK_PG_BIN").then(|| empty.path().into()));
    let err = search.find().unwrap_err();
    assert!(matches!(err, EmbeddedError::PgBinUnusable { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(&empty.path().display().to_string()), "{message}");
    assert!(message.contains("pg_ctl, initdb, postgres"), "{message}");
}

#[test]
fn a_pg_ctl_symlinked_into_path_leads_to_the_real_bin_directory() {
    let real = PgBinaries::find().expect("this machine has the server programs");
    let linked = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(real.tool("pg_ctl"), linked.path().join("pg_ctl")).unwrap();

    let found = Search { pg_bin: None, path: vec![linked.path().to_path_buf()], install_dirs: false }.find().unwrap();
    assert_eq!(found.dir, std::fs::canonicalize(&real.dir).unwrap());
    assert_eq!(found.version, real.version);
    assert!(found.tool("initdb").is_file());
}

#[test]
fn a_failed_start_shows_the_log_tail_and_the_next_step() {
    let s = scratch();
    let first = s.cluster.ensure_running().unwrap();
    assert!(s.cluster.stop().unwrap());
    let conf = first.data_dir.join("postgresql.conf");
    let mut text = std::fs::read_to_string(&conf).unwrap();
    text.push_str("\nthis line is not a setting\n");
    std::fs::write(&conf, text).unwrap();

    let err = s.cluster.ensure_running().unwrap_err();
    assert!(matches!(err, EmbeddedError::Start { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("syntax error"), "the server's complaint is shown:\n{message}");
    assert!(message.contains(&s.cluster.log_file().display().to_string()), "{message}");
    assert!(message.contains("Next:"), "{message}");
    assert!(message.contains("DATABASE_URL"), "{message}");
    assert!(!s.dir.join("url").exists(), "no url is published for a server that is not running");
}

#[test]
fn a_failed_initdb_shows_its_output_and_leaves_no_half_made_cluster() {
    use std::os::unix::fs::PermissionsExt;
    let fake = tempfile::tempdir().unwrap();
    std::fs::set_permissions(fake.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let script = |name: &str, body: &str| {
        let path = fake.path().join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    script("pg_ctl", "echo 'pg_ctl (PostgreSQL) 15.4'");
    script("postgres", "exit 1");
    script("initdb", "echo 'initdb: error: could not write: No space left on device' >&2; exit 1");

    let s = scratch();
    let cluster = Cluster::with_search(
        &s.dir,
        Search { pg_bin: Some(fake.path().to_path_buf()), path: Vec::new(), install_dirs: false },
    );
    let err = cluster.ensure_running().unwrap_err();
    assert!(matches!(err, EmbeddedError::Initdb { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("No space left on device"), "{message}");
    assert!(message.contains(&cluster.log_file().display().to_string()), "{message}");
    assert!(std::fs::read_to_string(cluster.log_file()).unwrap().contains("No space left on device"));
    assert!(matches!(cluster.status().unwrap(), Status::NotCreated), "a failed init creates nothing");
}

#[test]
fn a_cluster_from_another_major_version_is_explained() {
    let s = scratch();
    let first = s.cluster.ensure_running().unwrap();
    assert!(s.cluster.stop().unwrap());
    std::fs::write(first.data_dir.join("PG_VERSION"), "9.6\n").unwrap();

    let err = s.cluster.ensure_running().unwrap_err();
    assert!(matches!(err, EmbeddedError::VersionMismatch { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("PostgreSQL 9.6 created it"), "{message}");
    assert!(message.contains(&first.version), "{message}");
}

#[test]
fn check_databases_get_an_in_memory_tablespace_that_survives_a_reboot() {
    use checker::db::fast;
    let s = open_scratch();
    let url = s.cluster.ensure_running().unwrap().url;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let made = rt.block_on(fast::ensure(&url));
    assert_eq!(made.is_some(), fast::available(), "a tablespace exactly when /dev/shm can hold one");
    let Some(name) = made else { return };
    let dir = rt.block_on(fast::directory(&url)).expect("the tablespace has a directory");
    assert!(dir.starts_with("/dev/shm") && dir.is_dir(), "{}", dir.display());
    let place = |db: &str| {
        psql(
            &url,
            &format!(
                "SELECT t.spcname FROM pg_database d JOIN pg_tablespace t ON d.dattablespace = t.oid WHERE d.datname = '{db}'"
            ),
        )
    };
    psql(&url, &format!("CREATE DATABASE wbchk_1_fast TABLESPACE {name}"));
    assert_eq!(place("wbchk_1_fast"), name);
    assert_eq!(rt.block_on(fast::ensure(&url)).as_deref(), Some(name.as_str()), "a second start reuses it");

    // A reboot empties /dev/shm, and a crashed run's database with it.
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(rt.block_on(fast::ensure(&url)).as_deref(), Some(name.as_str()), "the next start makes it again");
    assert!(dir.is_dir());
    assert_eq!(place("wbchk_1_fast"), "", "the lost database is dropped from the catalog");
    psql(&url, &format!("CREATE DATABASE wbchk_2_fast TABLESPACE {name}"));
    assert_eq!(place("wbchk_2_fast"), name);
    psql(&url, "DROP DATABASE wbchk_2_fast");

    // A cluster made again at the same path (`target/` deleted) finds the
    // old one's directory, contents and all, and takes it over.
    psql(&url, &format!("DROP TABLESPACE {name}"));
    std::fs::create_dir_all(dir.join("PG_15_left_behind/12345")).unwrap();
    assert_eq!(rt.block_on(fast::ensure(&url)).as_deref(), Some(name.as_str()), "a leftover directory is replaced");
    assert!(!dir.join("PG_15_left_behind").exists());

    // Deleting the cluster deletes its tablespace directory too.
    drop(s);
    assert!(!dir.exists(), "{} is left behind", dir.display());
}

/// The check's wire relay on a cluster with password authentication, as
/// grading runs: the handshake passes through untouched, so the right
/// password gets in (and is recorded), a wrong one is refused as the
/// server itself would refuse it.
#[test]
fn the_wire_relay_passes_password_authentication_through() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let password = "relay-secret-7";
    let cluster = Cluster::with_password(tmp.path().join("pg"), password);
    let running = cluster.ensure_running().expect("a password cluster starts");
    let guard = Scratch { cluster, dir: running.data_dir.clone(), _tmp: tmp };
    let url = running.url.clone();
    assert!(url.contains(password), "the superuser URL carries the password: {url}");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        use sqlx::Connection;
        let relay = workbook::wire::Relay::start(workbook::wire::Upstream::of_url(&url).unwrap()).unwrap();
        let through = relay.url_for(&url);
        let mut conn =
            sqlx::PgConnection::connect(&through).await.expect("the right password gets in through the relay");
        let one: i32 = sqlx::query_scalar("SELECT $1::int").bind(1).fetch_one(&mut conn).await.unwrap();
        assert_eq!(one, 1);
        conn.close().await.unwrap();
        assert!(relay.everything().await.bound(1));
        let wrong = through.replace(password, "not-the-password");
        let refused = sqlx::PgConnection::connect(&wrong).await.expect_err("a wrong password is refused");
        let code = refused.as_database_error().and_then(|e| e.code().map(|c| c.into_owned()));
        assert_eq!(code.as_deref(), Some("28P01"), "{refused}");
    });
    drop(guard);
}
