//! The password verifier the checker stores for the roles it makes.
//!
//! PostgreSQL 15 hashes a plain `PASSWORD '…'` with 4096 rounds of
//! PBKDF2-HMAC-SHA-256, and every sign-in repeats those rounds in the
//! client: in a check binary built without optimisation, about a tenth of
//! a second per connection, enough to make a pool miss an acquire timeout
//! of that size while grading. The server accepts a verifier computed
//! elsewhere (`SCRAM-SHA-256$<rounds>:<salt>$<StoredKey>:<ServerKey>`,
//! RFC 5803) and then asks clients for that many rounds. The roles are
//! made per run with a random 24-character password and live on a local
//! server, so few rounds lose nothing: nobody can guess the password, and
//! only a superuser can read the verifier.

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// Rounds of the verifier: enough to be SCRAM, few enough to be free.
pub const ROUNDS: u32 = 16;

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// PBKDF2-HMAC-SHA-256 with one block of output (RFC 5802's `Hi`).
fn salted_password(password: &[u8], salt: &[u8], rounds: u32) -> [u8; 32] {
    let mut first = salt.to_vec();
    first.extend_from_slice(&1u32.to_be_bytes());
    let mut u = hmac(password, &first);
    let mut out = u;
    for _ in 1..rounds {
        u = hmac(password, &u);
        for (o, b) in out.iter_mut().zip(u) {
            *o ^= b;
        }
    }
    out
}

/// The verifier for `password` with `salt`, as `CREATE ROLE … PASSWORD`
/// takes it.
pub fn verifier_with(password: &str, salt: &[u8], rounds: u32) -> String {
    let salted = salted_password(password.as_bytes(), salt, rounds);
    let client_key = hmac(&salted, b"Client Key");
    let stored_key = Sha256::digest(client_key);
    let server_key = hmac(&salted, b"Server Key");
    let b64 = base64::engine::general_purpose::STANDARD;
    format!("SCRAM-SHA-256${rounds}:{}${}:{}", b64.encode(salt), b64.encode(stored_key), b64.encode(server_key))
}

/// The verifier for `password`, with a fresh random salt.
pub fn verifier(password: &str) -> String {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).expect("the system's random source works");
    verifier_with(password, &salt, ROUNDS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The RFC 7677 example: user "user", password "pencil", salt
    /// W22ZaJ0SNY7soEsUEjb6gQ==, 4096 rounds. Its proof gives ClientKey,
    /// hence StoredKey; ServerKey checks against the server signature.
    #[test]
    fn the_verifier_matches_the_rfc_example() {
        let b64 = base64::engine::general_purpose::STANDARD;
        let salt = b64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let v = verifier_with("pencil", &salt, 4096);
        let salted = salted_password(b"pencil", &salt, 4096);
        let client_key = hmac(&salted, b"Client Key");
        let auth = "n=user,r=rOprNGfwEbeRWgbNEkqO,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        let signature = hmac(&Sha256::digest(client_key), auth.as_bytes());
        let proof: Vec<u8> = client_key.iter().zip(signature).map(|(a, b)| a ^ b).collect();
        assert_eq!(b64.encode(proof), "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
        let server_sig = hmac(&hmac(&salted, b"Server Key"), auth.as_bytes());
        assert_eq!(b64.encode(server_sig), "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
        assert!(v.starts_with("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$"), "{v}");
    }
}
