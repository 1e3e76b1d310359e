//! The usual mistakes behind a signature, named so that whoever set the
//! webhook up can act on them: the right MAC written in the wrong encoding,
//! a body re-serialized before it was signed or verified, whitespace in a
//! secret, another channel's secret, a stamped scheme's URL or timestamp. One finder
//! serves the debugger page, the record of refused webhooks and the CLI's
//! `verify`.
//!
//! It works by trying: each likely variant of the request is signed with
//! each secret and compared with what was received. That costs a hash of
//! the body per variant and secret, so the bytes hashed for variants are
//! bounded by a budget the caller gives.

mod variants;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::signature::{self, Encoding, Scheme, Signed, Verified, VerifyError, Window, MAC_LEN};

/// A signature as it was checked: the scheme, the secrets configured, what
/// was signed, the header received and the clock.
#[derive(Clone, Copy, Debug)]
pub struct Checked<'a> {
    pub scheme: &'static Scheme,
    pub secrets: &'a [Vec<u8>],
    pub signed: Signed<'a>,
    pub received: Option<&'a str>,
    pub window: Window,
}

/// One likely cause: a short title and what to do about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Cause {
    pub title: String,
    pub detail: String,
}

/// The verification, and the causes that explain it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnosis {
    pub verified: Result<Verified, VerifyError>,
    pub causes: Vec<Cause>,
}

/// The bytes the finder hashes at most for one signature when the caller
/// has no tighter bound: a few hundred milliseconds in wasm.
pub const DEFAULT_BUDGET: usize = 64 << 20;

/// Verifies, then names the likely causes of the outcome, hashing at most
/// `budget` bytes while trying variants.
pub fn diagnose(checked: &Checked, budget: usize) -> Diagnosis {
    let verified =
        signature::verify(checked.scheme, checked.secrets, &checked.signed, checked.received, checked.window);
    let mut finder = Finder { checked, causes: Vec::new(), budget, untried: false };
    match &verified {
        Ok(verified) => finder.accepted(*verified),
        Err(error) => finder.refused(error),
    }
    Diagnosis { verified, causes: finder.causes }
}

/// A received header read in whatever form it came.
struct Received {
    mac: [u8; MAC_LEN],
    hex: bool,
    prefixed: bool,
    uppercase: bool,
}

impl Received {
    /// The 32 MAC bytes in hex or base64, with or without `sha256=`.
    /// (Decoded as the schemes that take each encoding decode it.)
    fn read(value: &str) -> Option<Received> {
        let value = value.trim();
        let prefixed = value.get(..PREFIX.len()).is_some_and(|head| head.eq_ignore_ascii_case(PREFIX));
        let text = if prefixed { &value[PREFIX.len()..] } else { value };
        if let Ok(mac) = signature::parse_header(&BARE_HEX, Some(text)) {
            let uppercase =
                text.bytes().any(|b| b.is_ascii_uppercase()) && !text.bytes().any(|b| b.is_ascii_lowercase());
            return Some(Received { mac, hex: true, prefixed, uppercase });
        }
        let mac = signature::parse_header(&BARE_BASE64, Some(text)).ok()?;
        Some(Received { mac, hex: false, prefixed, uppercase: false })
    }
}

/// The two ways a MAC is written, bare, to read a header whatever its scheme.
const BARE_HEX: Scheme =
    Scheme { name: "hex", title: "hex", header: "", encoding: Encoding::Hex, prefix: None, stamp: None };
const BARE_BASE64: Scheme =
    Scheme { name: "base64", title: "base64", header: "", encoding: Encoding::Base64, prefix: None, stamp: None };

/// The prefix every scheme that writes one writes (`sha256=`): a header
/// carrying it where the scheme has none is told apart.
const PREFIX: &str = "sha256=";

struct Finder<'a> {
    checked: &'a Checked<'a>,
    causes: Vec<Cause>,
    /// Bytes that may still be hashed.
    budget: usize,
    /// Some variant was not tried for want of budget.
    untried: bool,
}

impl Finder<'_> {
    fn cause(&mut self, title: impl Into<String>, detail: impl Into<String>) {
        self.causes.push(Cause { title: title.into(), detail: detail.into() });
    }

    /// What is worth knowing about a signature the bridge accepts.
    fn accepted(&mut self, verified: Verified) {
        if verified.secret_index > 0 {
            self.cause(
                "Made with another secret than this route's",
                format!(
                    "It matches secret #{}, not the first one: the sender uses another channel's or another webhook's \
                     secret. Re:amaze's Voice and SMS channels each have their own secret; each {} webhook may have \
                     its own.",
                    verified.secret_index + 1,
                    self.checked.scheme.title
                ),
            );
        }
        if self.checked.received.and_then(Received::read).is_some_and(|received| received.uppercase) {
            self.cause(
                "Uppercase hex",
                format!(
                    "The hex is in uppercase. The bridge accepts it, but {} sends lowercase, and string-comparing \
                     verifiers (like a provider's sample code) reject uppercase.",
                    self.checked.scheme.title
                ),
            );
        }
    }

    fn refused(&mut self, error: &VerifyError) {
        self.timestamp(error);
        if let Some(received) = self.checked.received.and_then(Received::read) {
            if self.encoding(&received) {
                return;
            }
            self.altered_inputs(&received);
        }
        if !self.causes.is_empty() {
            return;
        }
        match error {
            VerifyError::Mismatch { .. } if self.untried => self.cause(
                "Not every usual mistake was tried",
                "The body and the secrets are too large to try every variant here; open the request in the \
                 signature debugger, or compare the secret in the provider's settings with the bridge's.",
            ),
            VerifyError::Mismatch { .. } => self.cause(
                "No usual mistake explains it",
                "Most likely the secret differs: compare the secret in the provider's settings with the bridge's, or \
                 add the other secrets you have (one per line) to find which one signed it.",
            ),
            VerifyError::Malformed { header, .. } if error.code() == "malformed_signature" => self.cause(
                "The header is not a signature of this scheme",
                format!(
                    "{header} holds no 32-byte MAC in any encoding: check that the sender puts its signature in this \
                     header, whole."
                ),
            ),
            _ => {}
        }
    }

    /// A stamped scheme's timestamp in milliseconds, or outside the window.
    fn timestamp(&mut self, error: &VerifyError) {
        let Checked { scheme, signed, window, .. } = *self.checked;
        let title = scheme.title;
        let timestamp = signed.timestamp.unwrap_or_default().trim();
        if scheme.stamp.is_some() && timestamp.len() == 13 && timestamp.bytes().all(|b| b.is_ascii_digit()) {
            let detail =
                format!("{timestamp} has 13 digits: {title}'s timestamp is Unix seconds ({}).", &timestamp[..10]);
            return self.cause("Timestamp in milliseconds", detail);
        }
        let detail = match error {
            VerifyError::TimestampTooOld { age, max_age } => format!(
                "It is {age} s old; the bridge accepts up to {max_age} s ({}). Check the sender's \
                 clock, or whether this is an old replay.",
                scheme.stamp.as_ref().map_or("", |stamp| stamp.max_age_setting)
            ),
            VerifyError::TimestampInFuture { ahead, .. } => format!(
                "It is {ahead} s in the future; the bridge accepts up to {} s ahead. Check the sender's clock.",
                window.max_future
            ),
            _ => return,
        };
        self.cause("Timestamp outside the window", detail);
    }

    /// The right MAC written the wrong way; true when that explains it.
    fn encoding(&mut self, received: &Received) -> bool {
        let Checked { scheme, secrets, signed, .. } = *self.checked;
        // The request as it came costs what verifying it cost, already
        // bounded by MAX_SECRETS; the budget is for the variants.
        let right_mac = |secret: &Vec<u8>| signature::mac(scheme, secret, &signed).is_ok_and(|mac| mac == received.mac);
        if !secrets.iter().any(right_mac) {
            return false;
        }
        let header = scheme.header();
        let encoding = scheme.encoding.name();
        let expects_hex = scheme.encoding == Encoding::Hex;
        if expects_hex && !received.hex {
            self.cause(
                "Base64 where hex was expected",
                format!("The MAC is right but written in base64; {header} takes hex."),
            );
        }
        if !expects_hex && received.hex {
            self.cause(
                "Hex where base64 was expected",
                format!("The MAC is right but written in hex; {header} takes base64."),
            );
        }
        if let (Some(prefix), false) = (scheme.prefix, received.prefixed) {
            let detail = format!("{} writes {prefix}<{encoding}>; the prefix is missing.", scheme.title);
            self.cause(format!("Missing {prefix} prefix"), detail);
        }
        if scheme.prefix.is_none() && received.prefixed {
            self.cause(
                format!("Extra {PREFIX} prefix"),
                format!("{header} is the bare {encoding}, without a {PREFIX} prefix."),
            );
        }
        true
    }

    /// A MAC over other inputs: a re-serialized body, a secret with
    /// whitespace, a stamped scheme's hex digest or another URL.
    fn altered_inputs(&mut self, received: &Received) {
        let Checked { signed, .. } = *self.checked;
        for variant in variants::bodies(signed.body) {
            if self.signed_by_any(received, Signed { body: &variant.bytes, ..signed }) {
                self.body_cause(&variant);
                // Each variant's bytes differ: no other one can match.
                break;
            }
        }
        self.secret_whitespace(received);
        self.stamp_inputs(received);
    }

    /// The body the sender signed instead, named as the mistake that most
    /// likely made it.
    fn body_cause(&mut self, variant: &variants::Variant) {
        if variant.parsed_here {
            let written = variant.written;
            return self.cause(
                "The body was parsed and written again before it was verified",
                format!(
                    "The sender signed its JSON written {written}; the body checked here is that JSON written compactly, as \
                     JSON.stringify writes it after a parser such as Express's express.json() has read the request. \
                     Verify the raw bytes: in Express, read this route's body with \
                     express.raw({{ type: 'application/json' }})."
                ),
            );
        }
        self.cause(
            format!("The body was signed with {}", variant.what),
            "The sender signed other bytes than the ones here. Verify the raw body exactly as received, before any \
             parsing or re-serialization.",
        );
    }

    fn secret_whitespace(&mut self, received: &Received) {
        let Checked { scheme, secrets, signed, .. } = *self.checked;
        for (i, secret) in secrets.iter().enumerate() {
            let with_newline = [secret.as_slice(), b"\n"].concat();
            let variants: [(&[u8], &str); 2] = [
                (secret.trim_ascii(), "has whitespace or a newline around it here, and not at the sender"),
                (&with_newline, "ends with a newline at the sender (a secret read from a file?)"),
            ];
            for (variant, what) in variants {
                if variant != secret.as_slice() && self.signed_with(received, scheme, variant, signed) {
                    self.cause("Whitespace or a newline in the secret", format!("Secret #{} {what}.", i + 1));
                }
            }
        }
    }

    /// A stamped scheme's body digest written as hex, or another URL signed.
    fn stamp_inputs(&mut self, received: &Received) {
        let Checked { scheme, secrets, signed, .. } = *self.checked;
        let (Some(stamp), Some(timestamp), Some(url)) = (&scheme.stamp, signed.timestamp, signed.url) else { return };
        let title = scheme.title;
        let hex_digest = format!("{timestamp}\n{url}\n{}", hex::encode(Sha256::digest(signed.body)));
        let by_hex_digest = secrets.iter().any(|secret| {
            self.hashed(hex_digest.len()) && signature::hmac(secret, hex_digest.as_bytes()) == received.mac
        });
        if by_hex_digest {
            self.cause(
                format!("{title}'s body hash taken as hex"),
                format!(
                    "The signature was made over the SHA-256 of the body written as 64 hex characters. {title} signs \
                     its 32 raw bytes."
                ),
            );
        }
        for (what, other) in variants::urls(url) {
            if self.signed_by_any(received, Signed { url: Some(&other), ..signed }) {
                let setting = stamp.url_setting;
                self.cause(
                    format!("{title} signed another URL: {what}"),
                    format!(
                        "{title} signed {other}. Set {setting} to the public URL {title} calls, or fix the \
                         subscription's URL."
                    ),
                );
            }
        }
    }

    fn signed_by_any(&mut self, received: &Received, signed: Signed) -> bool {
        let Checked { scheme, secrets, .. } = *self.checked;
        secrets.iter().any(|secret| self.signed_with(received, scheme, secret, signed))
    }

    /// Whether `secret` signs `signed` into the MAC received, within the
    /// budget.
    fn signed_with(&mut self, received: &Received, scheme: &Scheme, secret: &[u8], signed: Signed) -> bool {
        self.hashed(signed.body.len()) && signature::mac(scheme, secret, &signed).is_ok_and(|mac| mac == received.mac)
    }

    /// Spends `bytes` of the budget; false, and noted, when it is spent.
    fn hashed(&mut self, bytes: usize) -> bool {
        if bytes > self.budget {
            self.untried = true;
            return false;
        }
        self.budget -= bytes;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An hour-long call's transcript (about 1.4 MB) against twenty secrets
    /// (one per event type): every variant would hash hundreds of megabytes, so the budget
    /// stops them and the cause says so; the default budget still finds the
    /// commonest mistake, tried first, in the same body.
    #[test]
    fn a_large_body_and_many_secrets_stay_within_the_budget() {
        let body = format!("{{\"transcript\":\"{}\"}}", "Zoë 🙂 says hello. ".repeat(65_000));
        let secrets: Vec<Vec<u8>> = (0..20).map(|i| format!("whsec-{i}").into_bytes()).collect();
        let with_newline = [body.as_bytes(), b"\n"].concat();
        const PREFIXED_HEX: Scheme = Scheme { prefix: Some(PREFIX), header: "x-signature", ..BARE_HEX };
        let mac = signature::mac(&PREFIXED_HEX, &secrets[19], &Signed::body(&with_newline)).unwrap();
        let received = format!("sha256={}", hex::encode(mac));
        let checked = Checked {
            scheme: &PREFIXED_HEX,
            secrets: &secrets,
            signed: Signed::body(body.as_bytes()),
            received: Some(&received),
            window: Window::at(0),
        };
        let bounded = diagnose(&checked, 4 << 20);
        assert_eq!(bounded.causes[0].title, "Not every usual mistake was tried");
        let found = diagnose(&checked, DEFAULT_BUDGET);
        assert_eq!(found.causes[0].title, "The body was signed with a trailing newline added");
    }
}
