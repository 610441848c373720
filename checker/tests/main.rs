//! The checker's integration tests: one test binary with a module per
//! feature (as cargo's and mdBook's own suites are), so a change to the
//! checker links one binary, not eleven. Each module runs the real
//! `checker` binary, or the library, on fixtures and scratch copies.
//!
//! `autotests = false` in checker/Cargo.toml: a new file under `tests/`
//! is compiled only once it is declared here, and
//! `every_test_file_is_part_of_the_suite` fails until it is.

mod book;
mod checkdbs;
mod cli;
mod common;
mod course;
mod embedded;
mod grade;
mod hostile;
mod migrate;
mod mistakes;
mod sandbox;
mod servers;
mod student_loop;
mod templates;

#[test]
fn every_test_file_is_part_of_the_suite() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let main = std::fs::read_to_string(dir.join("main.rs")).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(module) = name.strip_suffix(".rs").filter(|m| *m != "main") {
            assert!(main.contains(&format!("\nmod {module};\n")), "tests/{name} is not declared in tests/main.rs");
        }
    }
}
