//! The queue consumer: `DELIVERIES` messages are delivered to Re:amaze;
//! `DEAD_LETTERS` messages are kept in KV for operators. One message at a
//! time, in order, so a call's events keep their order. Each message is an
//! exchange of the core (`Bridge::consume`), run by the same loop as a
//! request; the core says what becomes of the message and writes its log
//! line.

use std::cell::OnceCell;

use serde_json::Value;
use worker::{
    console_log, event, js_sys, Context, Date, Env, MessageBatch, MessageExt, QueueRetryOptionsBuilder, Result,
};

use super::{settings_of, Io, DELIVERY_QUEUE_BINDING};
use crate::bridge::{consumption_failed, Bridge, Disposition};

#[event(queue)]
pub async fn consume(batch: MessageBatch<Value>, env: Env, ctx: Context) -> Result<()> {
    let settings = settings_of(&env);
    let timeout_ms = settings.upstream_timeout_ms;
    let bridge = Bridge::new(settings).queued(true);
    let stores = OnceCell::new();
    let deliveries = env.queue(DELIVERY_QUEUE_BINDING).ok();
    let queue_name = batch.queue();
    // Raw: each body written out by the runtime's JSON.stringify, which the
    // core reads. The worker crate's typed messages would go through
    // serde_wasm_bindgen's reader, whose error texts alone weigh more than
    // this whole consumer.
    for message in batch.raw_iter() {
        let now = (Date::now().as_millis() / 1000) as i64;
        let body = js_sys::JSON::stringify(&message.body()).map(String::from).unwrap_or_default().into_bytes();
        let (step, after) = bridge.consume(&queue_name, &body, now, js_sys::Math::random());
        let io = Io { env: &env, stores: &stores, queue: deliveries.as_ref(), timeout_ms, now };
        let finished = io.run(step, &mut 0).await.unwrap_or_else(|error| consumption_failed(&queue_name, &error));
        console_log!("{}", String::from_utf8_lossy(&finished.response.body));
        if let Some(after) = after {
            ctx.wait_until(super::afterwards(env.clone(), after, timeout_ms));
        }
        match Disposition::of(&finished) {
            Disposition::Acknowledge => message.ack(),
            Disposition::Redeliver { delay_seconds: Some(delay) } => {
                message.retry_with_options(&QueueRetryOptionsBuilder::new().with_delay_seconds(delay).build())
            }
            Disposition::Redeliver { delay_seconds: None } => message.retry(),
        }
    }
    Ok(())
}
