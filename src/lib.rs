//! reamaze-bridge's core: verifies provider webhooks, turns their events into
//! Re:amaze custom-channel messages, signs them, and relays agents' SMS
//! replies. Sans-IO: bytes, headers, settings and a clock in; decisions out.
//! The shells (CLI, Worker, npm package) do the IO.
//!
//! A Voice360 webhook through the whole bridge, with the in-memory store and
//! a stand-in for Re:amaze:
//!
//! ```
//! use reamaze_bridge::bridge::{drive, Bridge};
//! use reamaze_bridge::http::{DeliveryResult, Headers, Request};
//! use reamaze_bridge::providers::voice360;
//! use reamaze_bridge::signature::{sign, Signed};
//! use reamaze_bridge::{MemoryStore, Settings};
//!
//! let settings = Settings::from_lookup(|name| match name {
//!     "VOICE360_WEBHOOK_SECRETS" => Some("whsec".into()),
//!     "REAMAZE_VOICE_SECRET" => Some("channel-secret".into()),
//!     _ => None,
//! })
//! .unwrap();
//! let bridge = Bridge::new(settings);
//!
//! let body = br#"{"event_name":"INCOMING_EXTERNAL_CALL","account_id":"1","timestamp":1704067200,
//!   "metadata":{"caller_id_number":"+15551234567","dnis":"+15559876543","uniqueid":"42.1"}}"#;
//! let signature = sign(&voice360::SCHEME, b"whsec", &Signed::body(body)).unwrap();
//! let headers: Headers = [("X-Voice360-Signature", signature)].into_iter().collect();
//! let request = Request {
//!     method: "POST",
//!     path: "/webhooks/voice360",
//!     url: "https://bridge.example.com/webhooks/voice360",
//!     headers: &headers,
//!     body,
//! };
//!
//! let now = 1_704_067_200;
//! let mut posted = Vec::new();
//! let response = drive(bridge.exchange(&request, now), &mut MemoryStore::new(), now, |delivery| {
//!     posted.push(delivery.url.clone());
//!     DeliveryResult::answered(200, "")
//! });
//! assert_eq!(response.status, 200);
//! assert_eq!(posted, ["https://www.reamaze.io/incoming/voice"]);
//! ```

pub mod admin;
pub mod bridge;
pub mod cards;
pub mod error;
pub mod graphemes;
pub mod http;
pub mod identity;
#[cfg(feature = "js")]
pub mod js;
pub mod json;
pub mod mistakes;
pub mod outbound;
pub mod pages;
pub mod providers;
pub mod queue;
pub mod reamaze;
pub mod scan;
pub mod settings;
pub mod signature;
pub mod store;
pub mod time;
#[cfg(feature = "worker")]
pub mod worker;

pub use bridge::{drive, Bridge, Finished, Route, Step, Summary};
pub use error::Error;
pub use http::{Delivery, DeliveryResult, Headers, Request, Response, Target};
pub use providers::{Event, Outcome, Provider, TranslateError, Translation};
pub use reamaze::{Channel, Direction, Message, Outgoing, Party, SmsPart, StaffReply};
pub use settings::{Secret, Settings, SettingsError};
pub use signature::{Scheme, Signed, VerifyError, Window};
pub use store::{Entry, MemoryStore, Store};
