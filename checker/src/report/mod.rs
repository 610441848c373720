//! Turning runs into what people read: the terminal report for students
//! and JSON for scripts. Writers are generic over `Write` so tests capture
//! them; colour is decided once, in [`color`].

pub mod color;
pub mod terminal;
