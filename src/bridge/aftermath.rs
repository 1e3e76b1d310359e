//! What follows a request once it is answered: the record of a refused
//! webhook, the count of a route's refusals, and the alerts they raise. The
//! shell runs it after the answer has gone (the Worker: `waitUntil`), so it
//! never delays or fails the webhook path; a step of it that fails ends it,
//! and the answer stands.
//!
//! Its steps are the exchange's: writes, reads, claims (an alert goes out
//! once) and deliveries (an alert is tried `ALERT_ATTEMPTS` times).

use std::sync::Arc;

use crate::admin::alerts::{self, Alert, ALERT_ATTEMPTS, SPIKE_WINDOW_SECONDS};
use crate::admin::rejected::{Answer, Rejected};
use crate::http::{DeliveryResult, Request, Response, Verdict};
use crate::settings::Settings;
use crate::store::{keys, Entry};

use super::route::Route;
use super::step::{self, AwaitsClaim, AwaitsDelivery, AwaitsRead, Finished, Step, Summary};
use super::Bridge;

/// One thing to do after the answer.
#[derive(Debug)]
enum Task {
    /// Keep the record of a refused webhook.
    Record(Entry),
    /// Count a refusal on a route, and alert past the threshold.
    Count { route: String, code: String },
    /// Claim that the alert goes out, then send it.
    Alert(Alert),
}

/// The tasks still to do, in order, and what has come of them.
#[derive(Debug)]
pub(super) struct Aftermath {
    settings: Arc<Settings>,
    tasks: Vec<Task>,
    now: i64,
    summary: Summary,
}

impl Bridge {
    /// What follows `request`, answered as `finished`: the shell runs it
    /// once the answer is sent. `None` when nothing follows.
    pub fn aftermath(&self, request: &Request, finished: &Finished, now: i64) -> Option<Step> {
        let route = Route::of(request.method, request.path).ok()?;
        let scheme = match route {
            Route::Webhook(provider) => provider.auth(&self.settings).0,
            Route::StaffReply => &crate::reamaze::SCHEME,
            _ => return self.settings_alert(now),
        };
        let status = finished.response.status;
        if !(400..500).contains(&status) {
            return self.settings_alert(now);
        }
        let mut tasks = Vec::new();
        if self.keeps_records && self.settings.admin_token.is_some() && self.settings.rejected_keep > 0 {
            let answer = Answer { status, code: finished.summary.result, body: &finished.response.body };
            let url = super::route::signed_url(&self.settings, scheme, request);
            let signed_by: Vec<&str> = scheme.headers().collect();
            tasks.push(Task::Record(Rejected::of(request, &signed_by, url, Some(scheme), answer, now).entry()));
        }
        if alerts::enabled(&self.settings) {
            let code = finished.summary.result.to_string();
            tasks.push(Task::Count { route: request.path.to_string(), code });
        }
        tasks.extend(alerts::settings_invalid(&self.settings, now).map(Task::Alert));
        let summary = Summary { provider: finished.summary.provider, result: "done", ..Summary::default() };
        self.after(tasks, summary, now)
    }

    /// Whether anything may follow an answer (refused webhooks kept,
    /// alerts): a shell whose call to `aftermath` costs (a body copied
    /// again) makes it only then.
    pub fn follows_up(&self) -> bool {
        let keeps = self.keeps_records && self.settings.admin_token.is_some() && self.settings.rejected_keep > 0;
        keeps || alerts::enabled(&self.settings)
    }

    /// For a shell's queue consumer: what follows a new dead letter.
    pub fn dead_letter_aftermath(&self, dead: &crate::queue::DeadLetter, now: i64) -> Option<Step> {
        let alert = alerts::dead_letter_created(&self.settings, dead, now)?;
        self.after(vec![Task::Alert(alert)], Summary { result: "done", ..Summary::default() }, now)
    }

    /// A setting that cannot be used is alerted (once a day), whatever the
    /// request.
    fn settings_alert(&self, now: i64) -> Option<Step> {
        let alert = alerts::settings_invalid(&self.settings, now)?;
        self.after(vec![Task::Alert(alert)], Summary { result: "done", ..Summary::default() }, now)
    }

    fn after(&self, mut tasks: Vec<Task>, summary: Summary, now: i64) -> Option<Step> {
        if tasks.is_empty() {
            return None;
        }
        tasks.reverse();
        Some(Aftermath { settings: self.settings.clone(), tasks, now, summary }.next())
    }
}

impl Aftermath {
    /// The next task's first step, or the end.
    fn next(mut self) -> Step {
        match self.tasks.pop() {
            None => Step::Respond(Finished {
                response: Response { status: 204, headers: Vec::new(), body: Vec::new() },
                summary: self.summary,
            }),
            Some(Task::Record(entry)) => step::write(vec![entry], self.next()),
            Some(Task::Count { route, code }) => {
                let window = self.now.div_euclid(SPIKE_WINDOW_SECONDS);
                let keys = vec![keys::refusals(&route, window), keys::refusals(&route, window - 1)];
                let counting = Counting { route, code, key: keys[0].clone(), rest: self };
                step::read(keys, counting)
            }
            Some(Task::Alert(alert)) => {
                let claim = vec![alert.claim.clone()];
                step::claim(claim, Claiming { alert, attempt: 1, rest: self })
            }
        }
    }
}

/// Waiting for the route's refusal counts: this window's and the last.
#[derive(Debug)]
struct Counting {
    route: String,
    code: String,
    key: String,
    rest: Aftermath,
}

impl AwaitsRead for Counting {
    /// The refusals in the last ten minutes, estimated as rate limiters do:
    /// this window's, and the last window's weighted by how much of it is
    /// still within ten minutes. Counted by a read and a write, not
    /// atomically: copies at once may count one refusal as none.
    fn read(mut self: Box<Self>, values: Vec<Option<String>>) -> Step {
        let count = |value: &Option<String>| value.as_deref().and_then(|v| v.parse::<u32>().ok()).unwrap_or(0);
        let (current, previous) = (count(&values[0]) + 1, count(&values[1]));
        let elapsed = self.rest.now.rem_euclid(SPIKE_WINDOW_SECONDS) as u64;
        let window = SPIKE_WINDOW_SECONDS as u64;
        let estimate = u64::from(current) + u64::from(previous) * (window - elapsed) / window;
        let settings = &self.rest.settings;
        if estimate >= u64::from(settings.alert_rejected_threshold) {
            let count = u32::try_from(estimate).unwrap_or(u32::MAX);
            let spike = alerts::rejected_spike(settings, &self.route, count, &self.code, self.rest.now);
            self.rest.tasks.extend(spike.map(Task::Alert));
        }
        // Kept until the next window has used it.
        let Counting { key, rest, .. } = *self;
        let entry = Entry { key, value: current.to_string(), ttl_seconds: 2 * window };
        step::write(vec![entry], rest.next())
    }
}

/// Waiting for the claim that the alert goes out, then for each attempt.
#[derive(Debug)]
struct Claiming {
    alert: Alert,
    attempt: u32,
    rest: Aftermath,
}

impl AwaitsClaim for Claiming {
    /// Sent once: only by the copy that claimed it.
    fn claimed(self: Box<Self>, held: Vec<Option<String>>) -> Step {
        if held.first().is_some_and(Option::is_some) {
            return self.rest.next();
        }
        let delivery = self.alert.delivery.clone();
        step::deliver(delivery, *self)
    }
}

impl AwaitsDelivery for Claiming {
    /// Tried again at once, up to `ALERT_ATTEMPTS`; given up, the claim is
    /// let go, so the next occasion alerts.
    fn delivered(mut self: Box<Self>, result: DeliveryResult) -> Step {
        if result.verdict(&self.alert.delivery.target) == Verdict::Accepted {
            self.rest.summary.result = "alerted";
            return self.rest.next();
        }
        if self.attempt < ALERT_ATTEMPTS {
            self.attempt += 1;
            let delivery = self.alert.delivery.clone();
            return step::deliver(delivery, *self);
        }
        self.rest.summary.result = "alert_failed";
        self.rest.summary.upstream_status = result.status;
        step::release(vec![self.alert.claim.key], self.rest.next())
    }
}
