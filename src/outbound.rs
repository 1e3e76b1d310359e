//! The requests the bridge makes: a message posted to a Re:amaze channel,
//! signed with the channel's secret, and an SMS part sent through
//! Voice360's API. Built at the moment they are sent, so a rotated secret
//! applies at once.

use crate::error::Error;
use crate::http::{Delivery, Target, API_KEY_HEADER};
use crate::reamaze::{self, Channel, Outgoing, SmsPart};
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

/// Where and how staff replies are sent: Voice360's send-SMS URL for the
/// account, and its API key.
#[derive(Clone, Debug)]
pub struct SmsApi {
    pub url: String,
    pub api_key: Secret,
}

impl SmsApi {
    /// Whether staff replies can be sent: the API's settings are there,
    /// and usable.
    pub fn ready(settings: &Settings) -> bool {
        settings.voice360_api_key.is_some()
            && settings.voice360_account_id.is_some()
            && settings.blocking(&[names::VOICE360_API_BASE]).is_none()
    }

    /// From the settings, or the error naming what is missing.
    pub fn of(settings: &Settings) -> Result<SmsApi, Error> {
        let api_key =
            settings.voice360_api_key.clone().ok_or(Error::NotConfigured { setting: names::VOICE360_API_KEY })?;
        let account = settings
            .voice360_account_id
            .as_deref()
            .ok_or(Error::NotConfigured { setting: names::VOICE360_ACCOUNT_ID })?;
        Ok(SmsApi { url: format!("{}/{}/sms/send", settings.voice360_api_base, account), api_key })
    }

    /// The request that sends part `index` of `parts`.
    pub fn send(&self, part: &SmsPart, index: usize, parts: usize) -> Delivery {
        Delivery {
            target: Target::Voice360Sms { part: index, parts },
            method: "POST",
            url: self.url.clone(),
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                (API_KEY_HEADER.into(), self.api_key.expose().to_string()),
            ],
            body: serde_json::to_vec(part).expect("SMS parts serialize"),
        }
    }
}
