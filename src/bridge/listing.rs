//! What the admin routes share: a listing of the keys under a prefix,
//! then a read of what they hold, then an answer made of what was kept.

use crate::http::Response;

use super::step::{self, AwaitsList, AwaitsRead, Finished, Step};

/// What to make of the values of the keys listed.
pub(super) trait FromKept: std::fmt::Debug + 'static {
    fn answer(self, kept: Vec<(String, String)>, more: bool) -> Step;
}

/// Listed, waiting to read every key listed.
#[derive(Debug)]
pub(super) struct Reading<T>(pub(super) T);

impl<T: FromKept> AwaitsList for Reading<T> {
    fn listed(self: Box<Self>, keys: Vec<String>, more: bool) -> Step {
        step::read(keys.clone(), Read { keys, more, then: self.0 })
    }
}

/// Waiting for the values of the keys listed.
#[derive(Debug)]
struct Read<T> {
    keys: Vec<String>,
    more: bool,
    then: T,
}

impl<T: FromKept> AwaitsRead for Read<T> {
    /// A key gone since it was listed (expired, or deleted by another
    /// request) is left out.
    fn read(self: Box<Self>, values: Vec<Option<String>>) -> Step {
        let kept = self.keys.into_iter().zip(values).filter_map(|(key, value)| Some((key, value?))).collect();
        self.then.answer(kept, self.more)
    }
}

/// A listing's answer.
pub(super) fn listed(response: Response) -> Step {
    Step::Respond(Finished::ok("listed", response))
}
