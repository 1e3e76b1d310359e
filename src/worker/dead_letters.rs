//! The admin routes' IO over what is kept in KV for operators: dead
//! letters, transcriptions held until their call is known, and refused
//! webhooks. What is
//! asked, and what is answered, is the core's (`Bridge::admin`, `admin`).

use worker::wasm_bindgen::JsValue;
use worker::{KvStore, Queue};

use super::io;
use crate::admin::{self, rejected, Held, Selection, DEAD_LETTER_PAGE};
use crate::bridge::Finished;
use crate::error::Error;
use crate::queue::DeadLetter;
use crate::settings::Settings;
use crate::store::keys;

/// `GET /admin/dead-letters`.
pub async fn list(kv: &KvStore, binding: &JsValue) -> Finished {
    match kept(kv, binding).await {
        Ok((letters, more)) => Finished::ok("listed", admin::listing(&letters, more)),
        Err(why) => Finished::from(Error::StoreUnavailable(why)),
    }
}

/// `POST /admin/dead-letters/replay`: enqueues the letters selected again,
/// as fresh first attempts, and deletes them.
pub async fn replay(
    kv: &KvStore,
    binding: &JsValue,
    queue: Option<&Queue>,
    selection: &Selection,
    now: i64,
) -> Finished {
    let Some(queue) = queue else { return Finished::from(Error::QueueModeOff) };
    let (letters, more) = match kept(kv, binding).await {
        Ok(kept) => kept,
        Err(why) => return Finished::from(Error::StoreUnavailable(why)),
    };
    let mut replayed = Vec::new();
    for dead in letters.iter().filter(|dead| selection.includes(dead)) {
        let done = async {
            queue.send(dead.replay(now)).await.map_err(io::plain_error)?;
            kv.delete(&dead.key()).await.map_err(io::plain_error)
        };
        if let Err(why) = done.await {
            return Finished::from(Error::StoreUnavailable(why));
        }
        replayed.push(dead.queued.message.id.clone());
    }
    Finished::ok("replayed", admin::replayed(&replayed, more))
}

/// `GET /admin/rejected`: the newest records, with their likely causes; the
/// older ones beyond `REJECTED_KEEP` are deleted.
pub async fn rejected(kv: &KvStore, binding: &JsValue, settings: &Settings) -> Finished {
    let listed = async {
        // Beyond those kept, a margin: the older records are found and deleted.
        let limit = u64::from(settings.rejected_keep) + 100;
        let (names, _) = io::kv_keys(binding, keys::REJECTED_PREFIX, limit.min(1000)).await?;
        let mut kept = Vec::with_capacity(names.len());
        for (i, name) in names.into_iter().enumerate() {
            let value = match i < settings.rejected_keep as usize {
                true => kv.get(&name).text().await.map_err(io::plain_error)?,
                false => None,
            };
            kept.push((name, value));
        }
        let (answer, older) = rejected::listing(settings, &kept);
        for key in older {
            kv.delete(&key).await.map_err(io::plain_error)?;
        }
        Ok::<_, String>(answer)
    };
    match listed.await {
        Ok(answer) => Finished::ok("listed", answer),
        Err(why) => Finished::from(Error::StoreUnavailable(why)),
    }
}

/// `GET /admin/held`.
pub async fn held(kv: &KvStore, binding: &JsValue) -> Finished {
    let listed = async {
        let (names, more) = io::kv_keys(binding, keys::HELD_PREFIX, DEAD_LETTER_PAGE).await?;
        let mut held = Vec::with_capacity(names.len());
        for name in &names {
            if let Some(value) = kv.get(name).text().await.map_err(io::plain_error)? {
                held.extend(Held::of(name, &value));
            }
        }
        Ok::<_, String>((held, more))
    };
    match listed.await {
        Ok((held, more)) => Finished::ok("listed", admin::held(&held, more)),
        Err(why) => Finished::from(Error::StoreUnavailable(why)),
    }
}

/// The dead letters kept, a page of them, and whether there are more.
async fn kept(kv: &KvStore, binding: &JsValue) -> Result<(Vec<DeadLetter>, bool), String> {
    let (names, more) = io::kv_keys(binding, keys::DEAD_LETTER_PREFIX, DEAD_LETTER_PAGE).await?;
    let mut letters = Vec::with_capacity(names.len());
    for name in &names {
        if let Some(text) = kv.get(name).text().await.map_err(io::plain_error)? {
            letters.extend(DeadLetter::parse(text.as_bytes()).ok());
        }
    }
    Ok((letters, more))
}
