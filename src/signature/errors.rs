//! Why a signature is refused, with a stable code for answers, the CLI and
//! JS, and a headline for a verdict: each said once, here.

use std::fmt;

use super::MAC_LEN;

/// Why a header could not even be compared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Malformed {
    /// The value must start with the scheme's prefix.
    MissingPrefix { expected: &'static str },
    /// Not valid in the scheme's encoding.
    Encoding { expected: &'static str },
    /// Decodes, but not to a 32-byte HMAC-SHA256.
    Length { bytes: usize },
    /// The timestamp is not whole Unix seconds.
    Timestamp,
    /// Several values (the header was sent more than once): no scheme's
    /// value holds a comma, so which one was meant cannot be told.
    Repeated,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifyError {
    /// No secret is configured for this scheme: nothing can be verified.
    NoSecrets,
    /// The scheme signs the URL, and none was given.
    MissingUrl,
    MissingHeader {
        header: &'static str,
    },
    Malformed {
        header: &'static str,
        problem: Malformed,
    },
    /// Well-formed, but made with none of the configured secrets.
    Mismatch {
        header: &'static str,
        secrets_tried: usize,
    },
    /// Authentic, but older than the window allows.
    TimestampTooOld {
        age: u64,
        max_age: u64,
    },
    /// Authentic, but from too far in the future.
    TimestampInFuture {
        ahead: u64,
        max_future: u64,
    },
}

impl VerifyError {
    /// A stable machine-readable code for JSON bodies, the CLI and JS errors.
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::NoSecrets => "no_secrets_configured",
            VerifyError::MissingUrl => "missing_url",
            VerifyError::MissingHeader { .. } => "missing_signature",
            VerifyError::Malformed { problem: Malformed::Timestamp, .. } => "malformed_timestamp",
            VerifyError::Malformed { problem: Malformed::Repeated, .. } => "repeated_header",
            VerifyError::Malformed { .. } => "malformed_signature",
            VerifyError::Mismatch { .. } => "signature_mismatch",
            VerifyError::TimestampTooOld { .. } => "timestamp_too_old",
            VerifyError::TimestampInFuture { .. } => "timestamp_in_future",
        }
    }

    /// What went wrong, in a few words, for a verdict (the debugger's).
    pub fn headline(&self) -> &'static str {
        match self {
            VerifyError::NoSecrets => "No secret is set for this route.",
            VerifyError::MissingUrl => "The request URL is needed: this scheme signs it.",
            VerifyError::MissingHeader { .. } => "A header is missing or empty.",
            VerifyError::Malformed { problem: Malformed::Timestamp, .. } => "The timestamp is malformed.",
            VerifyError::Malformed { problem: Malformed::Repeated, .. } => {
                "The header holds several values: it was sent more than once."
            }
            VerifyError::Malformed { .. } => "The signature header is malformed.",
            VerifyError::Mismatch { .. } => "Signature does not match.",
            VerifyError::TimestampTooOld { .. } => "The signature is right, but the timestamp is too old.",
            VerifyError::TimestampInFuture { .. } => "The signature is right, but the timestamp is in the future.",
        }
    }

    /// Whether the request as sent is refused (rather than the bridge's
    /// setup): a refusal whose likely causes are worth looking for.
    pub fn refuses_request(&self) -> bool {
        !matches!(self, VerifyError::NoSecrets | VerifyError::MissingUrl)
    }

    /// One error of each code, to answer questions about codes. (A new
    /// kind of error goes here too.)
    fn every() -> [VerifyError; 9] {
        let header = "";
        [
            VerifyError::NoSecrets,
            VerifyError::MissingUrl,
            VerifyError::MissingHeader { header },
            VerifyError::Malformed { header, problem: Malformed::Timestamp },
            VerifyError::Malformed { header, problem: Malformed::Repeated },
            VerifyError::Malformed { header, problem: Malformed::Length { bytes: 0 } },
            VerifyError::Mismatch { header, secrets_tried: 0 },
            VerifyError::TimestampTooOld { age: 0, max_age: 0 },
            VerifyError::TimestampInFuture { ahead: 0, max_future: 0 },
        ]
    }

    /// Whether `code` is one of a request refused for its signature
    /// (`refuses_request`), as a record of a refusal keeps it.
    pub fn is_request_refusal(code: &str) -> bool {
        Self::every().iter().any(|e| e.refuses_request() && e.code() == code)
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyError::NoSecrets => f.write_str("no signing secret is configured for this scheme"),
            VerifyError::MissingUrl => f.write_str("the scheme signs the request URL, and no URL was given"),
            VerifyError::MissingHeader { header } => write!(f, "header {header} is missing or empty"),
            VerifyError::Malformed { header, problem } => {
                write!(f, "header {header} is malformed: ")?;
                match problem {
                    Malformed::MissingPrefix { expected } => write!(f, "it must start with {expected:?}"),
                    Malformed::Encoding { expected } => write!(f, "it is not valid {expected}"),
                    Malformed::Length { bytes } => {
                        write!(f, "it decodes to {bytes} bytes, an HMAC-SHA256 has {MAC_LEN}")
                    }
                    Malformed::Timestamp => f.write_str("it is not a whole number of Unix seconds"),
                    Malformed::Repeated => f.write_str("it holds several values; send it once"),
                }
            }
            VerifyError::Mismatch { header, secrets_tried: 1 } => {
                write!(f, "header {header} does not match the configured secret")
            }
            VerifyError::Mismatch { header, secrets_tried } => {
                write!(f, "header {header} matches none of the {secrets_tried} configured secrets")
            }
            VerifyError::TimestampTooOld { age, max_age } => {
                write!(f, "timestamp is {age} s old, more than the {max_age} s allowed")
            }
            VerifyError::TimestampInFuture { ahead, max_future } => {
                write!(f, "timestamp is {ahead} s in the future, more than the {max_future} s allowed")
            }
        }
    }
}

impl std::error::Error for VerifyError {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each code once among those `every` lists, and the request refusals
    /// the seven a sender can cause.
    #[test]
    fn every_code_is_known_once() {
        let codes: Vec<&str> = VerifyError::every().iter().map(VerifyError::code).collect();
        let unique: std::collections::BTreeSet<&&str> = codes.iter().collect();
        assert_eq!(unique.len(), codes.len(), "{codes:?}");
        let refusals = codes.iter().filter(|c| VerifyError::is_request_refusal(c)).count();
        assert_eq!(refusals, 7, "{codes:?}");
        assert!(
            !VerifyError::is_request_refusal("no_secrets_configured")
                && !VerifyError::is_request_refusal("missing_url")
        );
        assert!(VerifyError::is_request_refusal("timestamp_in_future"));
    }
}
