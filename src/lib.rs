//! reamaze-bridge's core: verifies provider webhooks, turns their events into
//! Re:amaze custom-channel messages, signs them, and relays agents' SMS
//! replies. Sans-IO: bytes, headers, settings and a clock in; decisions out.
//! The shells (CLI, Worker, npm package) do the IO.

pub mod bridge;
pub mod format;
pub mod providers;
pub mod reamaze;
pub mod settings;
pub mod signature;
pub mod store;

pub use bridge::{drive, Bridge, Delivery, DeliveryResult, Exchange, Request, Response, Route, Step, Target};
pub use providers::{Event, Outcome, Provider, TranslateError, Translation};
pub use reamaze::{Channel, Direction, Message, Outgoing, Party, SmsPart, StaffReply};
pub use settings::{Secret, Settings, SettingsError};
pub use signature::{Scheme, Signed, VerifyError, Window};
pub use store::{Entry, MemoryStore, Store};
