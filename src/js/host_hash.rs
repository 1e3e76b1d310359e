//! HMAC-SHA256 with its long hash done by the host's SHA-256 (Node's
//! OpenSSL, which uses the CPU's SHA instructions), installed as the
//! signature module's HMAC backend when the package's Node entry offers
//! one. It exists for speed alone: the figures that justify it, and the
//! thresholds below, are in BENCHMARKS.md ("host hash").

use js_sys::Uint8Array;
use sha2::{Digest, Sha256};
use wasm_bindgen::JsValue;

use crate::signature::{self, KeptByKey, MAC_LEN};

thread_local! {
    /// The host's SHA-256, when it offers one (`setHostSha256`).
    static HOST_SHA256: std::cell::RefCell<Option<js_sys::Function>> = const { std::cell::RefCell::new(None) };
}

/// Below this many bytes the compiled-in HMAC is as fast as a call to the
/// host.
const HOST_HMAC_MIN_BYTES: usize = 256;

/// Up to this many bytes, copying the data behind the key block costs less
/// than a second argument across the boundary; beyond, more.
const HOST_COPY_MAX_BYTES: usize = 64 * 1024;

const BLOCK: usize = 64;

/// Installs `sha256` (or removes it, with `None`): `sha256(data, prefix)`
/// gets a Uint8Array (and, for long data, the Uint8Array that comes before
/// it) and returns the digest as 64 hex digits.
pub fn install(sha256: Option<js_sys::Function>) {
    let installed = sha256.is_some();
    HOST_SHA256.with(|host| *host.borrow_mut() = sha256);
    signature::install_hmac_backend(installed.then_some(hmac_sha256 as signature::HmacBackend));
}

/// HMAC (RFC 2104): H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ data)). The host hashes
/// the inner part, which holds the data; the outer hash stays here, from
/// the key's kept pads (its first block already hashed). One host call,
/// with no object to create, is what makes this faster than the host's own
/// HMAC (`createHmac`). `None` when the data is short or the host's answer
/// is not a digest.
fn hmac_sha256(key: &[u8], data: &[u8]) -> Option<[u8; MAC_LEN]> {
    if data.len() < HOST_HMAC_MIN_BYTES {
        return None;
    }
    let pads = PADS.with(|kept| kept.borrow_mut().get_or_make(key, Pads::of));
    let inner_digest = HOST_SHA256.with(|host| inner_hash(host.borrow().as_ref()?, &pads.inner_key, data))?;
    let mut outer = pads.outer;
    outer.update(inner_digest);
    Some(outer.finalize().into())
}

thread_local! {
    /// Each key's pads, worked out once.
    static PADS: std::cell::RefCell<KeptByKey<Pads>> = const { std::cell::RefCell::new(KeptByKey::new()) };
}

/// What HMAC makes of a key: the inner key block, which the host hashes
/// with the data, and the outer hash with its key block already in.
#[derive(Clone)]
struct Pads {
    inner_key: [u8; BLOCK],
    outer: Sha256,
}

impl Pads {
    fn of(key: &[u8]) -> Pads {
        let block = key_block(key);
        let mut outer = Sha256::new();
        outer.update(block.map(|b| b ^ 0x5c));
        Pads { inner_key: block.map(|b| b ^ 0x36), outer }
    }
}

/// The key as one block: hashed first if longer, zero-padded.
fn key_block(key: &[u8]) -> [u8; BLOCK] {
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..MAC_LEN].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    block
}

thread_local! {
    /// Where the key block and the data are put together for the host: one
    /// buffer kept, not one allocated per MAC.
    static INNER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The host's SHA-256 of `inner_key ‖ data`. The arrays are views into wasm
/// memory, valid while the host runs: it allocates nothing in this
/// module's memory. Usual data is copied behind the key block, for the
/// host's one-call hash; long data is passed as it is, with the key block
/// beside it, rather than copied.
fn inner_hash(sha256: &js_sys::Function, inner_key: &[u8; BLOCK], data: &[u8]) -> Option<[u8; MAC_LEN]> {
    let answer = if data.len() <= HOST_COPY_MAX_BYTES {
        INNER.with(|inner| {
            let mut inner = inner.borrow_mut();
            inner.clear();
            inner.extend_from_slice(inner_key);
            inner.extend_from_slice(data);
            sha256.call1(&JsValue::NULL, unsafe { &Uint8Array::view(&inner) })
        })
    } else {
        sha256.call2(&JsValue::NULL, unsafe { &Uint8Array::view(data) }, unsafe { &Uint8Array::view(inner_key) })
    };
    let mut digest = [0u8; MAC_LEN];
    hex::decode_to_slice(answer.ok()?.as_string()?, &mut digest).ok()?;
    Some(digest)
}
