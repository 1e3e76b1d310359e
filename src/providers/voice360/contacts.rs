//! Voice360's contact book, remembered by phone number (CONTACT_CREATED,
//! CONTACT_UPDATED; CONTACT_DELETED forgets), so calls and SMS from or to a
//! contact carry their name where the event itself names nobody.

use super::{Event, Kind, PROVIDER};
use crate::identity::Who;
use crate::providers::{Lookup, Outcome, TranslateError, Translation};
use crate::reamaze::{Direction, Message};
use crate::store::{keys, ttl, Entry};

impl Event {
    /// The contact key of every customer number this event names.
    pub(super) fn contact_keys(&self) -> Vec<String> {
        let meta = self.meta();
        let fields: &[&str] = match self.kind {
            Kind::ContactCreated | Kind::ContactUpdated | Kind::ContactDeleted => &["phone"],
            Kind::SmsSent => &["to_number"],
            Kind::SmsReceived => &["from_number"],
            Kind::UserDial | Kind::UserHangup => &["dialed_number"],
            Kind::CallEnded => &["caller_id_number", "dnis"],
            Kind::TranscriptionFinished => &[],
            _ => &["caller_id_number", "callerid_number"],
        };
        // Only numbers have contacts: a withheld party or a sender name
        // is never looked up.
        let phones = fields.iter().flat_map(|field| meta.texts(field));
        let numbers = phones.filter(|phone| crate::identity::class(phone) == Ok(crate::identity::Class::Number));
        numbers.map(|phone| keys::contact(PROVIDER, &phone)).collect()
    }

    /// CONTACT_CREATED and CONTACT_UPDATED remember the contact's name for
    /// its number (an update without names renews what is remembered);
    /// CONTACT_DELETED forgets it. Nothing is posted.
    pub(super) fn contact(&self, lookup: Lookup) -> Result<Translation, TranslateError> {
        let meta = self.meta();
        let Who::Number(phone) = meta.who("phone")? else {
            return Ok(Translation::ignored(format!("{}: the contact has no phone number to know it by", self.name)));
        };
        let key = keys::contact(PROVIDER, &phone);
        if self.kind == Kind::ContactDeleted {
            let forget = Entry { key, value: String::new(), ttl_seconds: ttl::CONTACT };
            let reason = format!("CONTACT_DELETED: the contact of {phone} is forgotten");
            return Ok(Translation::ignored(reason).remembering(Some(forget)));
        }
        let named = [meta.text("first_name"), meta.text("last_name")].into_iter().flatten().collect::<Vec<_>>();
        let name = Some(named.join(" ")).filter(|n| !n.is_empty()).or_else(|| known(lookup, &key));
        Ok(match name {
            Some(name) => {
                let reason = format!("{}: {phone} is {name}, remembered to name them in calls and SMS", self.name);
                Translation::ignored(reason).remembering(Some(Entry { key, value: name, ttl_seconds: ttl::CONTACT }))
            }
            None => Translation::ignored(format!("{}: the contact of {phone} has no name to remember", self.name)),
        })
    }

    /// Names the customer of each message who has a number and no name, by
    /// the contact book: SMS and queue misses, whose messages are built
    /// without a call. (A call's memory is named where its parties are read,
    /// `parties` and `caller`, so its later events keep the name.)
    pub(super) fn name_customers(&self, translation: &mut Translation, lookup: Lookup) {
        let Outcome::Messages(messages) = &mut translation.outcome else { return };
        for outgoing in messages.iter_mut() {
            let customer = customer_of(&mut outgoing.message);
            if customer.name.is_none() {
                customer.name = customer.phone.as_deref().and_then(|phone| contact_name(lookup, phone));
            }
        }
    }
}

fn customer_of(message: &mut Message) -> &mut crate::reamaze::Party {
    match message.direction {
        Direction::Inbound => &mut message.from,
        Direction::Outbound => &mut message.to,
    }
}

/// The name remembered under `key`; a forgotten contact has none.
fn known(lookup: Lookup, key: &str) -> Option<String> {
    lookup(key).filter(|name| !name.is_empty())
}

/// The contact book's name for `phone`, if it has one (only a number has).
pub(super) fn contact_name(contacts: Lookup, phone: &str) -> Option<String> {
    match crate::identity::class(phone) {
        Ok(crate::identity::Class::Number) => known(contacts, &keys::contact(PROVIDER, phone)),
        _ => None,
    }
}
