//! Check databases in memory, on the embedded server.
//!
//! A check database lives for a second, and creating one writes some 300
//! files (a copy of `template1`) that its drop deletes again. On ext4,
//! creating files where many were deleted in the last minute gets slower
//! with every round: measured here, back-to-back creates went from 35 ms to
//! about 190 ms, most of it in the kernel's inode allocator. In a tmpfs
//! directory they take 17 ms and drops 4 ms, however many came before.
//!
//! So the embedded server, and grading's throwaway cluster, get a
//! tablespace in `/dev/shm`, and the checks create their databases there
//! (`workbook::report::var::TABLESPACE`). Only check databases go there: they are
//! dropped when the run ends, so losing the directory at a reboot loses
//! nothing, and the next start puts it back.
//! Sandboxes and the cluster itself stay on disk. Without a suitable tmpfs
//! (none, or under 1 GiB free, as in a container's default 64 MiB
//! `/dev/shm`), or with `WORKBOOK_FAST_TABLESPACE=off`, checks use the
//! default tablespace as before.

use std::path::{Path, PathBuf};

use sqlx::{Connection, Executor, PgConnection};

use super::admin::CHECK_PREFIX;

/// The tablespace's name on the embedded server.
pub const NAME: &str = "workbook_fast";

/// Free space a tmpfs needs before check databases are put on it.
const MIN_FREE: u64 = 1 << 30;

/// Makes sure the embedded server at `url` has the in-memory tablespace,
/// returning its name; `None` when there is no suitable tmpfs or anything
/// goes wrong (checks then use the default tablespace).
pub async fn ensure(url: &str) -> Option<String> {
    ensure_under(url, Path::new("/dev/shm")).await
}

/// Whether check databases can go in memory on this machine: `/dev/shm`
/// is a tmpfs with room, and `WORKBOOK_FAST_TABLESPACE` does not say off.
pub fn available() -> bool {
    !switched_off() && is_roomy_tmpfs(Path::new("/dev/shm"))
}

fn switched_off() -> bool {
    std::env::var("WORKBOOK_FAST_TABLESPACE").is_ok_and(|v| v == "off" || v == "0")
}

/// [`ensure`] with the tmpfs to use.
async fn ensure_under(url: &str, shm: &Path) -> Option<String> {
    if switched_off() {
        return None;
    }
    let mut conn = PgConnection::connect(url).await.ok()?;
    // Where the server keeps its data: the tablespace directory is named
    // after it, and must belong to the account that owns it.
    let data_dir: Option<String> =
        sqlx::query_scalar("SELECT current_setting('data_directory')").fetch_one(&mut conn).await.ok();
    let result = match data_dir.map(PathBuf::from).and_then(|d| location(shm, &d).map(|l| (l, d))) {
        Some((dir, data_dir)) => prepare(&mut conn, &dir, &data_dir).await,
        None => false,
    };
    let _ = conn.close().await;
    result.then(|| NAME.to_owned())
}

/// Deletes the tablespace directory of the cluster with data in
/// `data_dir` (the cluster is being deleted).
pub fn forget(data_dir: &Path) {
    let _ = std::fs::remove_dir_all(dir_for(Path::new("/dev/shm"), data_dir));
}

/// The tablespace's directory for the server at `url`, when it has one.
pub async fn directory(url: &str) -> Option<PathBuf> {
    let mut conn = PgConnection::connect(url).await.ok()?;
    let at = catalog_location(&mut conn).await;
    let _ = conn.close().await;
    at.map(PathBuf::from)
}

/// Where the server's catalog says the tablespace is, when it has one.
async fn catalog_location(conn: &mut PgConnection) -> Option<String> {
    sqlx::query_scalar("SELECT pg_tablespace_location(oid) FROM pg_tablespace WHERE spcname = $1")
        .bind(NAME)
        .fetch_optional(conn)
        .await
        .ok()
        .flatten()
}

/// The environment entry that makes check processes create their
/// databases in `tablespace`.
pub fn check_env(tablespace: Option<&str>) -> Option<(String, String)> {
    tablespace.map(|t| (workbook::report::var::TABLESPACE.to_owned(), t.to_owned()))
}

/// The directory for this cluster's tablespace under `shm`, if `shm` is a
/// tmpfs with room.
fn location(shm: &Path, data_dir: &Path) -> Option<PathBuf> {
    is_roomy_tmpfs(shm).then(|| dir_for(shm, data_dir))
}

/// The name of the tablespace directory under `shm` for the cluster with
/// data in `data_dir`: one per cluster, so two course clones each have
/// their own.
fn dir_for(shm: &Path, data_dir: &Path) -> PathBuf {
    let h = crate::hash::fnv1a(data_dir.to_string_lossy().bytes());
    shm.join(format!("workbook-{h:016x}"))
}

#[cfg(target_os = "linux")]
fn is_roomy_tmpfs(dir: &Path) -> bool {
    const TMPFS_MAGIC: i64 = 0x0102_1994;
    let Ok(st) = rustix::fs::statfs(dir) else { return false };
    #[allow(clippy::unnecessary_cast, reason = "field types differ between architectures")]
    let (kind, free) = (st.f_type as i64, (st.f_bavail as u64).saturating_mul(st.f_bsize as u64));
    kind == TMPFS_MAGIC && free >= MIN_FREE
}

#[cfg(not(target_os = "linux"))]
fn is_roomy_tmpfs(_dir: &Path) -> bool {
    false
}

/// Creates the tablespace, or recreates it when its directory is gone (a
/// reboot). True when it is ready.
async fn prepare(conn: &mut PgConnection, dir: &Path, data_dir: &Path) -> bool {
    // One checker process at a time does this (tests start several at once).
    if sqlx::query("SELECT pg_advisory_lock($1)").bind(LOCK_KEY).execute(&mut *conn).await.is_err() {
        return false;
    }
    let ready = prepare_locked(conn, dir, data_dir).await;
    let _ = sqlx::query("SELECT pg_advisory_unlock($1)").bind(LOCK_KEY).execute(&mut *conn).await;
    ready
}

/// The advisory lock that serialises [`prepare`] ("wbfast" in ASCII).
const LOCK_KEY: i64 = 0x7762_6661_7374;

async fn prepare_locked(conn: &mut PgConnection, dir: &Path, data_dir: &Path) -> bool {
    let want = dir.to_string_lossy().into_owned();
    if let Some(at) = catalog_location(conn).await {
        if at == want && has_contents(dir) {
            return true;
        }
        // Its directory went away (or moved): whatever check databases it
        // held are gone with it. Drop them, then the tablespace.
        let stale: Vec<(String,)> = sqlx::query_as(
            "SELECT datname::text FROM pg_database d JOIN pg_tablespace t ON d.dattablespace = t.oid WHERE t.spcname = $1",
        )
        .bind(NAME)
        .fetch_all(&mut *conn)
        .await
        .unwrap_or_default();
        for (name,) in stale {
            if !name.starts_with(CHECK_PREFIX) {
                return false; // not ours to drop: leave the tablespace alone
            }
            let sql = format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#);
            if conn.execute(sqlx::AssertSqlSafe(sql)).await.is_err() {
                return false;
            }
        }
        if conn.execute(sqlx::AssertSqlSafe(format!(r#"DROP TABLESPACE IF EXISTS "{NAME}""#))).await.is_err() {
            return false;
        }
    }
    if !make_dir_for_server(dir, data_dir) {
        return false;
    }
    let sql = format!(r#"CREATE TABLESPACE "{NAME}" LOCATION '{}'"#, want.replace('\'', "''"));
    conn.execute(sqlx::AssertSqlSafe(sql)).await.is_ok()
}

fn has_contents(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some())
}

/// An empty directory owned by the server's account (the owner of its data
/// directory), as CREATE TABLESPACE requires.
///
/// Called only when this cluster has no such tablespace, under the lock.
/// The directory is named after this cluster's data directory, so anything
/// already there was left by an earlier cluster at the same path (the
/// course's `target/` deleted and the server made again): it is replaced.
fn make_dir_for_server(dir: &Path, data_dir: &Path) -> bool {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let Ok(owner) = std::fs::metadata(data_dir) else { return false };
    let _ = std::fs::remove_dir_all(dir);
    if std::fs::create_dir(dir).is_err() {
        return false;
    }
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    std::os::unix::fs::chown(dir, Some(owner.uid()), Some(owner.gid())).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cluster_gets_its_own_directory() {
        let shm = Path::new("/dev/shm");
        let a = dir_for(shm, Path::new("/course/a/target/workbook/pg/data"));
        let b = dir_for(shm, Path::new("/course/b/target/workbook/pg/data"));
        assert_ne!(a, b);
        assert!(a.starts_with(shm) && a.file_name().unwrap().to_string_lossy().starts_with("workbook-"));
        assert_eq!(a, dir_for(shm, Path::new("/course/a/target/workbook/pg/data")), "stable");
    }

    #[test]
    fn only_a_tmpfs_with_room_holds_the_tablespace() {
        let disk = Path::new(env!("CARGO_MANIFEST_DIR"));
        assert_eq!(location(disk, Path::new("/x")), None, "the source tree is not on a tmpfs");
        let shm = Path::new("/dev/shm");
        if is_roomy_tmpfs(shm) {
            assert!(location(shm, Path::new("/x")).is_some());
        } else {
            // Not a failure: this machine has no tmpfs with 1 GiB free, so
            // the in-memory half of the rule cannot be seen here.
            eprintln!("SKIPPED: /dev/shm is not a tmpfs with 1 GiB free; the positive case was not checked");
        }
    }
}
