//! The queue consumer: `DELIVERIES` messages are delivered to Re:amaze;
//! `DEAD_LETTERS` messages are kept in KV for operators. One message at a
//! time, in order, so a call's events keep their order. What each message
//! is, and what becomes of it, is the core's (`queue`).

use serde_json::{json, Value};
use worker::{
    console_log, event, js_sys, Context, Date, Env, MessageBatch, MessageBuilder, MessageExt, QueueRetryOptionsBuilder,
    Result,
};

use super::store::{Once, Stores};
use super::{io, settings_of, DEAD_LETTER_QUEUE_BINDING, DELIVERY_QUEUE_BINDING};
use crate::bridge::Bridge;
use crate::queue::{Arrival, DeadLetter, Found, Queued, Settled};
use crate::settings::Settings;
use crate::store::ttl;

#[event(queue)]
pub async fn consume(batch: MessageBatch<Value>, env: Env, ctx: Context) -> Result<()> {
    let settings = settings_of(&env);
    let stores = Stores::of(&env);
    // Raw: each body written out by the runtime's JSON.stringify, which the
    // core reads. The worker crate's typed messages would go through
    // serde_wasm_bindgen's reader, whose error texts alone weigh more than
    // this whole consumer.
    for message in batch.raw_iter() {
        let now = (Date::now().as_millis() / 1000) as i64;
        let body = js_sys::JSON::stringify(&message.body()).map(String::from).unwrap_or_default().into_bytes();
        let handled = match Arrival::of(&batch.queue(), &body, now) {
            Ok(Arrival::DeadLetter(dead)) => {
                let kept = keep(&stores, &dead, now).await.map(|()| Handled::Done);
                if let Some(alert) = Bridge::new(settings.clone()).dead_letter_aftermath(&dead, now) {
                    ctx.wait_until(super::afterwards(env.clone(), alert, settings.upstream_timeout_ms));
                }
                kept
            }
            Ok(Arrival::Delivery(queued)) => deliver(&settings, &env, &stores, &queued, now).await,
            Err(why) => Err(why),
        };
        match handled {
            Ok(Handled::Done) => message.ack(),
            // Another consumer holds the claim: back once it has lapsed, in
            // case that consumer died before settling.
            Ok(Handled::Later) => message
                .retry_with_options(&QueueRetryOptionsBuilder::new().with_delay_seconds(ttl::CLAIM as u32).build()),
            // Not acknowledged (a dead letter that could not be kept
            // included): the queue brings it back.
            Err(e) => {
                let reason = crate::http::plain(&e);
                console_log!("{}", json!({ "queue": batch.queue(), "outcome": "error", "reason": reason }));
                message.retry();
            }
        }
    }
    Ok(())
}

/// What became of a queued message.
enum Handled {
    /// Settled: acknowledge it.
    Done,
    /// Another consumer is delivering it: let the queue bring it back.
    Later,
}

async fn deliver(
    settings: &Settings,
    env: &Env,
    stores: &Stores,
    queued: &Queued,
    now: i64,
) -> std::result::Result<Handled, String> {
    let mut line = json!({ "queue": "deliveries", "id": queued.message.id, "attempt": queued.attempt });
    let jitter = js_sys::Math::random();
    let settled = match queued.delivery(settings) {
        // The claim, the post and the claim's settling, in one request to
        // the claims object where it is bound.
        Ok(delivery) => {
            let (claim, mark) = (queued.claim(), queued.mark());
            match stores.deliver_once(&claim, &mark, &delivery, settings.upstream_timeout_ms, now).await? {
                Once::Held(held) => return Ok(found_elsewhere(queued.found(Some(&held)), &mut line)),
                Once::Sent(result) => {
                    line["upstream_status"] = json!(result.status);
                    queued.settle(&result, settings, now, jitter)
                }
            }
        }
        // Nothing is claimed: the message comes back once the setting is
        // mended, and its claim then finds it if it was delivered before.
        Err(why) => queued.unsendable(why, settings, now, jitter),
    };
    settle(env, settled, &mut line).await?;
    console_log!("{line}");
    Ok(Handled::Done)
}

/// A message whose claim another consumer holds, or that was delivered.
fn found_elsewhere(found: Found, line: &mut Value) -> Handled {
    let (outcome, handled) =
        if found == Found::Delivered { ("duplicate", Handled::Done) } else { ("under_way", Handled::Later) };
    line["outcome"] = json!(outcome);
    console_log!("{line}");
    handled
}

/// Does what the core settled on (the claim is settled already), and says
/// so in the log line.
async fn settle(env: &Env, settled: Settled, line: &mut Value) -> std::result::Result<(), String> {
    let queue = |binding: &str| env.queue(binding).map_err(|e| format!("{binding} is not bound: {e}"));
    match settled {
        Settled::Delivered(_) => line["outcome"] = json!("delivered"),
        Settled::Retry { next, delay_seconds } => {
            line["outcome"] = json!("retry");
            line["delay_seconds"] = json!(delay_seconds);
            let later = MessageBuilder::new(next).delay_seconds(delay_seconds).build();
            queue(DELIVERY_QUEUE_BINDING)?.send(later).await.map_err(io::plain_error)?;
        }
        Settled::DeadLetter(dead) => {
            line["outcome"] = json!("dead_letter");
            line["error"] = json!(dead.last_error);
            queue(DEAD_LETTER_QUEUE_BINDING)?.send(dead).await.map_err(io::plain_error)?;
        }
    }
    Ok(())
}

async fn keep(stores: &Stores, dead: &DeadLetter, now: i64) -> std::result::Result<(), String> {
    stores.put(&dead.entry(), now).await?;
    let line =
        json!({ "queue": "dead_letters", "id": dead.queued.message.id, "outcome": "kept", "attempts": dead.attempts });
    console_log!("{line}");
    Ok(())
}
