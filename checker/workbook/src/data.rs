//! Data that differs on every run, so no answer can be hard-coded.
//!
//! Set `WORKBOOK_SEED` to replay a run: failures print the seed they used.

use std::sync::OnceLock;

/// The seed of this run, printed by failing checks.
pub fn seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| crate::report::seed().unwrap_or_else(|| fastrand::u64(..)))
}

thread_local! {
    static RNG: std::cell::RefCell<fastrand::Rng> = std::cell::RefCell::new(fastrand::Rng::with_seed(seed()));
}

/// A number in `range`.
pub fn int(range: std::ops::Range<i64>) -> i64 {
    RNG.with(|r| r.borrow_mut().i64(range))
}

/// A lowercase word of `len` letters.
pub fn word(len: usize) -> String {
    RNG.with(|r| {
        let mut r = r.borrow_mut();
        (0..len).map(|_| r.lowercase()).collect()
    })
}

const FIRST: &[&str] = &[
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "Ken",
    "Margaret",
    "Niklaus",
    "Radia",
    "Tony",
    "Katherine",
    "Dennis",
    "Sophie",
    "Linus",
    "Hedy",
    "John",
    "Shafi",
    "Leslie",
];
const LAST: &[&str] = &[
    "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton", "Wirth", "Perlman",
    "Hoare", "Johnson", "Ritchie", "Wilson", "Torvalds", "Lamarr", "Backus",
];

/// A person's full name; two calls rarely agree.
pub fn name() -> String {
    RNG.with(|r| {
        let mut r = r.borrow_mut();
        format!("{} {}", FIRST[r.usize(..FIRST.len())], LAST[r.usize(..LAST.len())])
    })
}

/// An email address unique within the run.
pub fn email() -> String {
    format!("{}.{}@{}.example", word(6), int(1000..99_999), word(5))
}
