//! The messages the bridge posts to a Re:amaze channel, signed with the
//! channel's secret. Built at the moment they are sent, so a rotated secret
//! applies at once. (An SMS part goes through the SMS provider's own API:
//! `providers::SmsApi`.)

use crate::error::Error;
use crate::http::{Delivery, Target};
use crate::reamaze::{self, Channel, Outgoing};
use crate::settings::{names, Secret, Settings};
use crate::signature;

/// The signed request that posts `outgoing` to its Re:amaze channel.
pub fn reamaze_post(settings: &Settings, outgoing: &Outgoing) -> Result<Delivery, Error> {
    let secret = channel_secret(settings, outgoing.channel)?;
    let body = outgoing.message.to_json();
    Ok(Delivery {
        target: Target::Reamaze { channel: outgoing.channel.name(), message_id: outgoing.message.id.clone() },
        method: "POST",
        url: outgoing.channel.endpoint(&settings.reamaze_base_url),
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            (reamaze::SCHEME.header.into(), signature::sign_reamaze(secret.as_ref(), &body)),
        ],
        body,
    })
}

/// The channel's shared secret; an error when it is not set, or when the
/// Re:amaze URL cannot be used.
pub fn channel_secret(settings: &Settings, channel: Channel) -> Result<&Secret, Error> {
    if let Some(invalid) = settings.blocking(&[names::REAMAZE_BASE_URL]) {
        return Err(Error::InvalidSetting { error: invalid.clone(), feature: "posting to Re:amaze".into() });
    }
    let (secret, setting) = match channel {
        Channel::Voice => (&settings.reamaze_voice_secret, names::REAMAZE_VOICE_SECRET),
        Channel::Sms => (&settings.reamaze_sms_secret, names::REAMAZE_SMS_SECRET),
    };
    secret.as_ref().ok_or(Error::NotConfigured { setting })
}
