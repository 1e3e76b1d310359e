//! HMAC-SHA256 signature schemes, each a [`Scheme`] value held by its
//! sender's module: sign, parse the received header, verify against any of
//! several secrets in constant time. A scheme signs the body, or a stamp
//! (`timestamp \n URL \n SHA-256(body)`); it writes the MAC as hex or
//! base64, after an optional prefix. The table of today's schemes is in
//! docs/architecture.md.
//!
//! Every secret is used as its UTF-8 bytes. The expected and received MACs
//! are compared with `subtle`'s constant-time equality.

use std::borrow::Cow;
use std::fmt;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

mod errors;
pub use errors::{Malformed, VerifyError};

type HmacSha256 = Hmac<Sha256>;

/// Length of an HMAC-SHA256 tag in bytes.
pub const MAC_LEN: usize = 32;

/// Accepts base64 with or without its `=` padding: some senders strip it, and
/// the decoded length is checked anyway.
const BASE64_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A signature scheme, as data: what a sender's header holds, and over
/// which bytes. Each provider's module holds its own (`SCHEME`), Re:amaze's
/// is in `reamaze`: nothing here names one, so a scheme of the same family
/// (HMAC-SHA256, hex or base64, over the body or over a stamp) is a new
/// value, not a new branch.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Scheme {
    /// The name used on the command line, in test vectors and in JS.
    pub name: &'static str,
    /// The sender as people write it, for explanations.
    pub title: &'static str,
    /// The header that carries the signature.
    pub header: &'static str,
    /// How the header writes the 32 MAC bytes.
    pub encoding: Encoding,
    /// Text written before the encoded MAC (`sha256=`), if any; read
    /// without regard to case.
    pub prefix: Option<&'static str>,
    /// What is signed besides the body, if anything.
    pub stamp: Option<Stamp>,
}

/// How a scheme writes its MAC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// Standard base64, read with or without its `=` padding.
    Base64,
    /// Lowercase hex, read in either case.
    Hex,
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Base64 => "base64",
            Encoding::Hex => "hex",
        }
    }
}

/// A scheme that signs `timestamp \n URL \n SHA-256(body)` (the raw
/// digest) instead of the body, and refuses a timestamp outside its window.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Stamp {
    /// The header holding the timestamp, in whole Unix seconds.
    pub header: &'static str,
    /// The setting that holds the public URL the sender signs, where the
    /// request's own URL is not it (behind a proxy or a tunnel).
    pub url_setting: &'static str,
    /// The settings that bound the timestamp's age and how far ahead of
    /// the clock it may be (a whole number of seconds each).
    pub max_age_setting: &'static str,
    pub max_future_setting: &'static str,
}

impl Scheme {
    pub fn name(&self) -> &'static str {
        self.name
    }

    pub const fn header(&self) -> &'static str {
        self.header
    }

    /// The timestamp header, for a scheme that signs one.
    pub fn timestamp_header(&self) -> Option<&'static str> {
        self.stamp.as_ref().map(|stamp| stamp.header)
    }

    /// The headers a request signed this way carries: the signature's,
    /// and the timestamp's where there is one.
    pub fn headers(&self) -> impl Iterator<Item = &'static str> {
        std::iter::once(self.header).chain(self.timestamp_header())
    }

    /// The header value that carries `mac`.
    pub fn write(&self, mac: &[u8; MAC_LEN]) -> String {
        let encoded = match self.encoding {
            Encoding::Base64 => STANDARD.encode(mac),
            Encoding::Hex => hex::encode(mac),
        };
        match self.prefix {
            Some(prefix) => format!("{prefix}{encoded}"),
            None => encoded,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// What a signature covers besides the body: a stamped scheme also signs
/// a timestamp and the request URL.
#[derive(Clone, Copy, Debug, Default)]
pub struct Signed<'a> {
    pub body: &'a [u8],
    /// A stamped scheme's timestamp header, exactly as sent.
    pub timestamp: Option<&'a str>,
    /// A stamped scheme's signed URL: the full public URL the webhook was sent to.
    pub url: Option<&'a str>,
}

impl<'a> Signed<'a> {
    pub fn body(body: &'a [u8]) -> Self {
        Signed { body, timestamp: None, url: None }
    }

    pub fn stamped(body: &'a [u8], timestamp: &'a str, url: &'a str) -> Self {
        Signed { body, timestamp: Some(timestamp), url: Some(url) }
    }
}

/// A stamped scheme's freshness window, in seconds around `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub now: i64,
    /// Older than this is stale. Senders retry for hours with the original
    /// timestamp, so this must be hours, not minutes.
    pub max_age: u64,
    /// Further ahead than this is refused (clock skew allowance).
    pub max_future: u64,
}

impl Window {
    pub const DEFAULT_MAX_AGE: u64 = 86_400;
    pub const DEFAULT_MAX_FUTURE: u64 = 300;

    pub fn at(now: i64) -> Self {
        Window { now, max_age: Self::DEFAULT_MAX_AGE, max_future: Self::DEFAULT_MAX_FUTURE }
    }
}

/// Which configured secret matched, by position, so a deployment can tell
/// which of several webhooks (or a rotation's old and new key) was used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verified {
    pub secret_index: usize,
}

/// Signs `signed` with `secret`, giving the header value the scheme sends.
///
/// ```
/// use reamaze_bridge::signature::{sign, Signed};
/// // Re:amaze's documented check value.
/// let header = sign(&reamaze_bridge::reamaze::SCHEME, b"your_shared_secret", &Signed::body(br#"{"id":"1","body":"hello"}"#));
/// assert_eq!(header.unwrap(), "FgdUISIrhWKi9IhRN80V37obl/NYrpXeaZvV95dmgeU=");
/// ```
pub fn sign(scheme: &Scheme, secret: &[u8], signed: &Signed) -> Result<String, VerifyError> {
    Ok(scheme.write(&mac(scheme, secret, signed)?))
}

/// Re:amaze's `X-Reamaze-Hmac-SHA256` over an outgoing body.
pub fn sign_reamaze(secret: &[u8], body: &[u8]) -> String {
    STANDARD.encode(hmac_sha256(secret, body))
}

/// Base64 (padded or not) as the schemes read it.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    BASE64_LENIENT.decode(text).ok()
}

/// Padded base64, as the schemes write it.
pub fn encode_base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Checks `header` (the received signature header, if any) against each of
/// `secrets` in turn. For a stamped scheme, `signed.timestamp` must be the timestamp
/// header and `window` bounds its age; other schemes ignore both.
///
/// ```
/// use reamaze_bridge::signature::{sign, verify, Signed, VerifyError, Window};
/// let scheme = &reamaze_bridge::reamaze::SCHEME;
/// let signed = Signed::body(b"{}");
/// let header = sign(scheme, b"new-secret", &signed).unwrap();
/// let ok = verify(scheme, &["old-secret", "new-secret"], &signed, Some(&header), Window::at(0));
/// assert_eq!(ok.unwrap().secret_index, 1);
/// let forged = verify(scheme, &["old-secret"], &signed, Some(&header), Window::at(0));
/// assert!(matches!(forged, Err(VerifyError::Mismatch { .. })));
/// ```
pub fn verify<S: AsRef<[u8]>>(
    scheme: &Scheme,
    secrets: &[S],
    signed: &Signed,
    header: Option<&str>,
    window: Window,
) -> Result<Verified, VerifyError> {
    if secrets.is_empty() {
        return Err(VerifyError::NoSecrets);
    }
    let received = parse_header(scheme, header)?;
    let timestamp = match &scheme.stamp {
        Some(stamp) => Some(parse_timestamp(stamp, signed.timestamp)?),
        None => None,
    };
    let data = signed_bytes(scheme, signed)?;
    let index = secrets
        .iter()
        .position(|secret| same_mac(&hmac_sha256(secret.as_ref(), &data), &received))
        .ok_or(VerifyError::Mismatch { header: scheme.header(), secrets_tried: secrets.len() })?;
    if let Some(timestamp) = timestamp {
        check_window(timestamp, window)?;
    }
    Ok(Verified { secret_index: index })
}

/// Whether two MACs are equal, in the same time wherever they differ
/// (`subtle`), compared a word at a time: byte by byte, the comparison
/// cost more than a short body's hash.
fn same_mac(ours: &[u8; MAC_LEN], received: &[u8; MAC_LEN]) -> bool {
    let words = |mac: &[u8; MAC_LEN]| -> [u64; MAC_LEN / 8] {
        std::array::from_fn(|i| u64::from_le_bytes(mac[8 * i..8 * i + 8].try_into().expect("8 bytes")))
    };
    words(ours)[..].ct_eq(&words(received)[..]).into()
}

/// Decodes a received signature header to the 32 MAC bytes it claims.
pub fn parse_header(scheme: &Scheme, header: Option<&str>) -> Result<[u8; MAC_LEN], VerifyError> {
    let name = scheme.header();
    // Empty counts as absent: Fetch runtimes cannot always tell them apart,
    // and every shell must answer the same.
    let value = header.map(str::trim).filter(|v| !v.is_empty()).ok_or(VerifyError::MissingHeader { header: name })?;
    let malformed = |problem| VerifyError::Malformed { header: name, problem };
    if value.contains(',') {
        return Err(malformed(Malformed::Repeated));
    }
    let value = match scheme.prefix {
        Some(prefix) => {
            strip_prefix_ignore_case(value, prefix).ok_or(malformed(Malformed::MissingPrefix { expected: prefix }))?
        }
        None => value,
    };
    let expected = scheme.encoding.name();
    let decoded = match scheme.encoding {
        Encoding::Base64 => BASE64_LENIENT.decode(value).map_err(|_| malformed(Malformed::Encoding { expected }))?,
        Encoding::Hex => {
            let hex_part = value;
            // The usual case straight into the MAC, without the `Vec` that
            // `hex::decode` collects; anything else through it, so the error
            // says what is wrong.
            let mut mac = [0u8; MAC_LEN];
            if hex_part.len() == 2 * MAC_LEN && hex::decode_to_slice(hex_part, &mut mac).is_ok() {
                return Ok(mac);
            }
            hex::decode(hex_part).map_err(|_| malformed(Malformed::Encoding { expected }))?
        }
    };
    decoded.as_slice().try_into().map_err(|_| malformed(Malformed::Length { bytes: decoded.len() }))
}

fn strip_prefix_ignore_case<'a>(value: &'a str, prefix: &str) -> Option<&'a str> {
    let head = value.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &value[prefix.len()..])
}

fn parse_timestamp(stamp: &Stamp, timestamp: Option<&str>) -> Result<i64, VerifyError> {
    let header = stamp.header;
    let value = timestamp.map(str::trim).filter(|v| !v.is_empty());
    let value = value.ok_or(VerifyError::MissingHeader { header })?;
    let malformed = |problem| VerifyError::Malformed { header, problem };
    if value.contains(',') {
        return Err(malformed(Malformed::Repeated));
    }
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed(Malformed::Timestamp));
    }
    value.parse().map_err(|_| malformed(Malformed::Timestamp))
}

fn check_window(timestamp: i64, window: Window) -> Result<(), VerifyError> {
    let delta = i128::from(window.now) - i128::from(timestamp);
    let clamp = |d: i128| u64::try_from(d).unwrap_or(u64::MAX);
    if delta > i128::from(window.max_age) {
        Err(VerifyError::TimestampTooOld { age: clamp(delta), max_age: window.max_age })
    } else if -delta > i128::from(window.max_future) {
        Err(VerifyError::TimestampInFuture { ahead: clamp(-delta), max_future: window.max_future })
    } else {
        Ok(())
    }
}

/// The bytes a scheme's MAC covers: the body itself, or for a stamped
/// scheme its timestamp and URL lines followed by the raw SHA-256 digest of
/// the body (not its hex: the usual mistake).
fn signed_bytes<'a>(scheme: &Scheme, signed: &Signed<'a>) -> Result<Cow<'a, [u8]>, VerifyError> {
    let Some(stamp) = &scheme.stamp else { return Ok(Cow::Borrowed(signed.body)) };
    let timestamp = signed.timestamp.ok_or(VerifyError::MissingHeader { header: stamp.header })?;
    let url = signed.url.ok_or(VerifyError::MissingUrl)?;
    let mut bytes = Vec::with_capacity(timestamp.len() + url.len() + 2 + MAC_LEN);
    bytes.extend_from_slice(timestamp.trim().as_bytes());
    bytes.push(b'\n');
    bytes.extend_from_slice(url.as_bytes());
    bytes.push(b'\n');
    bytes.extend_from_slice(&Sha256::digest(signed.body));
    Ok(Cow::Owned(bytes))
}

/// An HMAC-SHA256 computed outside this crate, for data long enough to be
/// worth it: `None` declines, and the compiled-in one is used.
pub type HmacBackend = fn(key: &[u8], data: &[u8]) -> Option<[u8; MAC_LEN]>;

thread_local! {
    static HMAC_BACKEND: std::cell::Cell<Option<HmacBackend>> = const { std::cell::Cell::new(None) };
}

/// Installs (or, with `None`, removes) the HMAC backend. The npm package on
/// Node installs one that hashes with the host's OpenSSL, several times
/// faster than SHA-256 compiled to wasm on long bodies (BENCHMARKS.md).
pub fn install_hmac_backend(backend: Option<HmacBackend>) {
    HMAC_BACKEND.with(|installed| installed.set(backend));
}

/// HMAC-SHA256 of `data` under `key`: by the installed backend if it
/// takes it, else by the `hmac` crate, from the key's kept state.
fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; MAC_LEN] {
    if let Some(tag) = HMAC_BACKEND.with(|installed| installed.get()).and_then(|backend| backend(key, data)) {
        return tag;
    }
    let mut mac = keyed(key);
    mac.update(data);
    mac.finalize().into_bytes().into()
}

thread_local! {
    /// The HMAC state of each key used lately, its key block already
    /// hashed: a MAC under a kept key costs two SHA-256 blocks fewer, half
    /// the work for a short body, and a webhook is checked against each
    /// secret in turn.
    static KEYED: std::cell::RefCell<KeptByKey<HmacSha256>> = const { std::cell::RefCell::new(KeptByKey::new()) };
}

/// A fresh HMAC under `key`, from the kept state when there is one.
fn keyed(key: &[u8]) -> HmacSha256 {
    KEYED.with(|kept| {
        kept.borrow_mut().get_or_make(key, |key| HmacSha256::new_from_slice(key).expect("HMAC takes any key"))
    })
}

/// What is worked out from a key once and used for every MAC under it,
/// for the last [`KeptByKey::KEPT`] keys. The keys are the settings'
/// secrets, which this process holds anyway; nothing here is written out.
#[derive(Default)]
pub struct KeptByKey<T> {
    kept: Vec<(Vec<u8>, T)>,
}

impl<T: Clone> KeptByKey<T> {
    /// More than a deployment's secrets: a provider may have one per event
    /// type (MAX_SECRETS allows 40), plus the Re:amaze channels'.
    pub const KEPT: usize = 64;

    pub const fn new() -> Self {
        KeptByKey { kept: Vec::new() }
    }

    /// What was kept for `key`, else `make(key)`, kept in place of the
    /// oldest when full.
    pub fn get_or_make(&mut self, key: &[u8], make: impl FnOnce(&[u8]) -> T) -> T {
        if let Some((_, value)) = self.kept.iter().find(|(k, _)| k.as_slice() == key) {
            return value.clone();
        }
        let value = make(key);
        if self.kept.len() == Self::KEPT {
            self.kept.remove(0);
        }
        self.kept.push((key.to_vec(), value.clone()));
        value
    }
}

/// The MAC bytes `scheme` makes of `signed` with `secret` (what its header
/// value encodes).
pub fn mac(scheme: &Scheme, secret: &[u8], signed: &Signed) -> Result<[u8; MAC_LEN], VerifyError> {
    Ok(hmac_sha256(secret, &signed_bytes(scheme, signed)?))
}

/// HMAC-SHA256 of any bytes (the installed backend's, if any).
pub fn hmac(key: &[u8], data: &[u8]) -> [u8; MAC_LEN] {
    hmac_sha256(key, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The check vector printed in Re:amaze's own documentation.
    #[test]
    fn reamaze_reference_vector() {
        let sig = sign_reamaze(b"your_shared_secret", br#"{"id":"1","body":"hello"}"#);
        assert_eq!(sig, "FgdUISIrhWKi9IhRN80V37obl/NYrpXeaZvV95dmgeU=");
    }

    const HEX: Scheme = Scheme {
        name: "hex",
        title: "A hex sender",
        header: "x-hex-signature",
        encoding: Encoding::Hex,
        prefix: None,
        stamp: None,
    };
    const STAMPED: Scheme = Scheme {
        name: "stamped",
        title: "A stamped sender",
        header: "x-stamped-signature",
        encoding: Encoding::Base64,
        prefix: None,
        stamp: Some(Stamp {
            header: "x-stamped-timestamp",
            url_setting: "STAMPED_URL",
            max_age_setting: "STAMPED_MAX_AGE_SECONDS",
            max_future_setting: "STAMPED_MAX_FUTURE_SECONDS",
        }),
    };

    #[test]
    fn reports_which_secret_matched() {
        let body = b"{}";
        let header = sign(&HEX, b"new", &Signed::body(body)).unwrap();
        let got = verify(&HEX, &["old", "new"], &Signed::body(body), Some(&header), Window::at(0));
        assert_eq!(got, Ok(Verified { secret_index: 1 }));
    }

    #[test]
    fn stale_is_only_reported_for_authentic_requests() {
        let signed = Signed::stamped(b"{}", "1000", "https://x.test/webhooks/stamped");
        let good = sign(&STAMPED, b"k", &signed).unwrap();
        let window = Window { now: 1000 + 90_000, max_age: 86_400, max_future: 300 };
        assert_eq!(
            verify(&STAMPED, &["k"], &signed, Some(&good), window),
            Err(VerifyError::TimestampTooOld { age: 90_000, max_age: 86_400 })
        );
        let forged = sign(&STAMPED, b"other", &signed).unwrap();
        assert!(matches!(verify(&STAMPED, &["k"], &signed, Some(&forged), window), Err(VerifyError::Mismatch { .. })));
    }

    // Kept states must never stand in for another key's: more keys than are
    // kept, each used again after others pushed it out, and keys that are
    // prefixes of one another, checked against a MAC keyed afresh.
    #[test]
    fn kept_key_states_give_each_key_its_own_mac() {
        const KEPT: usize = KeptByKey::<HmacSha256>::KEPT;
        // "secret-1" is a prefix of "secret-10"; the same lengths hold other keys.
        let keys: Vec<String> = (0..3 * KEPT).map(|i| format!("secret-{}", i % (2 * KEPT))).collect();
        for (round, key) in keys.iter().enumerate() {
            let data = format!("body {round}");
            let mut fresh = HmacSha256::new_from_slice(key.as_bytes()).unwrap();
            fresh.update(data.as_bytes());
            let expected: [u8; MAC_LEN] = fresh.finalize().into_bytes().into();
            assert_eq!(hmac(key.as_bytes(), data.as_bytes()), expected, "{key}");
        }
    }
}
