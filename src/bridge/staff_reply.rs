//! A Re:amaze staff reply, sent on as SMS through the SMS provider: verified and
//! split into parts before any IO, then each part claimed, so overlapping
//! copies of one reply (Re:amaze retries a reply whose answer is slow) send
//! it once, then sent in order.

use std::sync::Arc;

use serde::Serialize;

use crate::error::{Context, Error, Upstream};
use crate::http::{DeliveryResult, Request, Response, Verdict};
use crate::providers::{SmsApi, SmsSetup};
use crate::reamaze::{self, SmsPart, StaffReply};
use crate::settings::{names, Settings};
use crate::signature::{self, Signed, Window};
use crate::store::{self, keys, ttl, Entry};

use super::route::header;
use super::step::{self, AwaitsClaim, AwaitsDelivery, Step};

/// Verifies the reply and splits it into parts, then claims them.
pub(super) fn start(settings: &Arc<Settings>, request: &Request) -> Result<Step, Error> {
    let s = settings;
    // An unusable API setting stops replies before anything else is read.
    if let Some(invalid) = SmsApi::blocked(s) {
        return Err(Error::InvalidSetting { error: invalid.clone(), feature: "staff SMS replies".into() });
    }
    let secret = s.reamaze_sms_secret.as_ref().ok_or(Error::NotConfigured { setting: names::REAMAZE_SMS_SECRET })?;
    let received = header(s, request, reamaze::SCHEME.header)?;
    // Re:amaze's scheme has no timestamp, so the window is never consulted.
    let no_window = Window::at(0);
    let secrets = std::slice::from_ref(secret);
    signature::verify(&reamaze::SCHEME, secrets, &Signed::body(request.body), received.as_deref(), no_window)
        .map_err(Error::Signature)?;
    let reply: StaffReply = StaffReply::parse(request.body, s.max_json_depth).map_err(Error::ReplyBody)?;
    let channel_number =
        s.sms_channel_number.as_deref().ok_or(Error::NotConfigured { setting: names::SMS_CHANNEL_NUMBER })?;
    let api = SmsApi::of(s).map_err(|setup| match setup {
        SmsSetup::Missing(setting) => Error::NotConfigured { setting },
        SmsSetup::Invalid(error) => Error::InvalidSetting { error, feature: "staff SMS replies".into() },
    })?;
    let parts = reamaze::reply_to_sms(&reply, channel_number).map_err(Error::Reply)?;
    // Keyed by the exact reply, so Re:amaze's retry of it skips the parts
    // already sent, while a new reply with the same text is sent.
    let part_keys: Vec<String> = (0..parts.len()).map(|i| keys::reply_part(request.body, i)).collect();
    let claims: Vec<Entry> = (part_keys.iter().enumerate())
        .map(|(i, key)| Entry::claim(key.clone(), part_lease(s.upstream_timeout_ms, i)))
        .collect();
    let context = Context { provider: Some("reamaze"), event: Some("staff_reply".into()), ..Context::default() };
    let sending = Sending {
        api,
        timeout_ms: s.upstream_timeout_ms,
        context,
        parts,
        part_keys,
        sent: Vec::new(),
        unsettled: Vec::new(),
        next: 0,
    };
    Ok(step::claim(claims, ReplyClaimed { sending }))
}

/// The lease of part `index`'s claim. The parts are claimed together,
/// before the first is sent, so each claim lasts a claim's lease
/// (`ttl::claim_lease`) and the time the parts before it may take.
fn part_lease(upstream_timeout_ms: u64, index: usize) -> u64 {
    ttl::claim_lease(upstream_timeout_ms) + index as u64 * upstream_timeout_ms.div_ceil(1000)
}

/// Waiting for the claims on the reply's parts.
#[derive(Debug)]
struct ReplyClaimed {
    sending: Sending,
}

impl AwaitsClaim for ReplyClaimed {
    fn claimed(self: Box<Self>, held: Vec<Option<String>>) -> Step {
        let mut sending = self.sending;
        sending.unsettled =
            sending.part_keys.iter().zip(&held).filter(|(_, h)| h.is_none()).map(|(k, _)| k.clone()).collect();
        let last_pending = held.iter().rposition(|h| h.as_deref() == Some(store::PENDING));
        if let Some(part) = last_pending {
            // That copy's claims have all lapsed by then, if it died.
            let retry_after = part_lease(sending.timeout_ms, part);
            let busy = step::fail(&sending.context, Error::InProgress { retry_after });
            return step::release(sending.unsettled, busy);
        }
        // The echo markers go first: the provider's webhook for a part sent
        // may arrive before its send call returns.
        let echoes = (sending.parts.iter().zip(&held))
            .filter(|(_, sent)| sent.is_none())
            .map(|(p, _)| Entry {
                key: keys::echo(&p.from, &p.to, &p.message),
                value: "1".into(),
                ttl_seconds: ttl::ECHO,
            })
            .collect();
        sending.sent = held.iter().map(Option::is_some).collect();
        step::write(echoes, sending.next())
    }
}

/// Sending the parts, in order.
#[derive(Debug)]
struct Sending {
    api: SmsApi,
    /// `UPSTREAM_TIMEOUT_MS`: how long one part's send may take.
    timeout_ms: u64,
    context: Context,
    parts: Vec<SmsPart>,
    part_keys: Vec<String>,
    /// Per part, whether it was sent before (by an earlier copy).
    sent: Vec<bool>,
    /// Claims held and not settled: released if a part fails.
    unsettled: Vec<String>,
    next: usize,
}

impl Sending {
    fn next(mut self) -> Step {
        while self.sent.get(self.next) == Some(&true) {
            self.next += 1;
        }
        let total = self.parts.len();
        match self.parts.get(self.next) {
            Some(part) => {
                let delivery = self.api.send(part, self.next, total);
                step::deliver(delivery, self)
            }
            None => step::respond(&self.context, "sent", Response::json(200, &Sent { status: "sent", parts: total })),
        }
    }
}

impl AwaitsDelivery for Sending {
    fn delivered(mut self: Box<Self>, result: DeliveryResult) -> Step {
        let index = self.next;
        let parts = self.parts.len();
        self.context.upstream_status = result.status;
        let target = crate::http::Target::Sms { sender: SmsApi::TITLE, part: index, parts };
        let temporary = match result.verdict(&target) {
            Verdict::Accepted => {
                let key = self.part_keys[index].clone();
                self.unsettled.retain(|k| *k != key);
                self.next += 1;
                return step::write(vec![Entry::done(key)], self.next());
            }
            Verdict::Temporary => true,
            Verdict::Permanent => false,
        };
        let upstream = Upstream::new(SmsApi::TITLE, &result, temporary);
        let failed = step::fail(&self.context, Error::SmsNotSent { part: index, parts, upstream });
        step::release(self.unsettled, failed)
    }
}

/// A staff reply's answer: every part sent.
#[derive(Serialize)]
struct Sent {
    status: &'static str,
    parts: usize,
}
